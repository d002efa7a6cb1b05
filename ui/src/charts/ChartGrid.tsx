// Metric charts for one or many runs (to be completed: uPlot charts fed by the server's
// downsampling endpoint, mounted as they scroll into view).

export interface ChartRun {
  runId: string;
  label: string;
  /** A running run's charts poll for new points. */
  running: boolean;
}

export interface ChartGridProps {
  runs: ChartRun[];
  /** The metric keys to chart, one chart per key. */
  metricKeys: string[];
}

export function ChartGrid({ runs, metricKeys }: ChartGridProps) {
  return (
    <div className="chart-grid">
      {metricKeys.map((key) => (
        <div key={key} className="panel">
          {key} ({runs.length} runs)
        </div>
      ))}
    </div>
  );
}
