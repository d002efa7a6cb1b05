// Metric charts for one or many runs: one uPlot chart per metric key, the runs overlaid (a stable
// colour each, a legend), fed by the server's downsampling endpoint. A toolbar filters the keys and
// sets the x axis (step / wall time / relative time), smoothing, log scale and the min/max band.
// Only charts on screen are mounted, so an experiment with hundreds of keys opens at once.
import { useMemo, useState } from "react";
import type { XAxis } from "../api/charts";
import { runColors } from "./colors";
import { keyMatches } from "./keys";
import { LazyMount } from "./LazyMount";
import { MetricChart, type ChartSettings } from "./MetricChart";
import "./charts.css";

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
  /** Initial settings (e.g. from the URL); the grid keeps its own state afterwards. */
  initialSettings?: Partial<ChartSettings>;
  /** Called when a setting changes (e.g. to keep it in the URL). */
  onSettingsChange?: (settings: ChartSettings) => void;
  initialFilter?: string;
  onFilterChange?: (filter: string) => void;
  /** Height of each chart's plot in pixels (the placeholder's too). */
  chartHeight?: number;
}

export const DEFAULT_SETTINGS: ChartSettings = { xAxis: "step", smoothing: 0, log: false, band: true };

const X_AXES: { value: XAxis; label: string }[] = [
  { value: "step", label: "Step" },
  { value: "wall", label: "Wall time" },
  { value: "relative", label: "Relative time" },
];

export function ChartGrid({
  runs,
  metricKeys,
  initialSettings,
  onSettingsChange,
  initialFilter = "",
  onFilterChange,
  chartHeight = 220,
}: ChartGridProps) {
  const [settings, setSettings] = useState<ChartSettings>({ ...DEFAULT_SETTINGS, ...initialSettings });
  const [filter, setFilter] = useState(initialFilter);
  const colors = useMemo(() => runColors(runs.map((r) => r.runId)), [runs]);
  const keys = useMemo(
    () => [...new Set(metricKeys)].sort((a, b) => a.localeCompare(b)).filter((k) => keyMatches(k, filter)),
    [metricKeys, filter],
  );
  const update = (patch: Partial<ChartSettings>) => {
    const next = { ...settings, ...patch };
    setSettings(next);
    onSettingsChange?.(next);
  };
  const placeholderHeight = chartHeight + 62;
  return (
    <div className="chart-grid-wrap">
      <div className="chart-toolbar" role="toolbar" aria-label="Chart settings">
        <input
          type="search"
          className="chart-filter"
          placeholder="Filter metrics"
          aria-label="Filter metrics"
          value={filter}
          onChange={(e) => {
            setFilter(e.target.value);
            onFilterChange?.(e.target.value);
          }}
        />
        <label>
          X axis{" "}
          <select aria-label="X axis" value={settings.xAxis} onChange={(e) => update({ xAxis: e.target.value as XAxis })}>
            {X_AXES.map((a) => (
              <option key={a.value} value={a.value}>
                {a.label}
              </option>
            ))}
          </select>
        </label>
        <label className="smoothing">
          Smoothing{" "}
          <input
            type="range"
            aria-label="Smoothing"
            min={0}
            max={0.99}
            step={0.01}
            value={settings.smoothing}
            onChange={(e) => update({ smoothing: Number(e.target.value) })}
          />
          <span className="mono smoothing-value">{settings.smoothing.toFixed(2)}</span>
        </label>
        <label>
          <input type="checkbox" checked={settings.log} onChange={(e) => update({ log: e.target.checked })} /> Log scale
        </label>
        <label>
          <input type="checkbox" checked={settings.band} onChange={(e) => update({ band: e.target.checked })} /> Min/max band
        </label>
        <span className="muted chart-count">
          {keys.length === metricKeys.length ? `${keys.length} charts` : `${keys.length} of ${new Set(metricKeys).size} charts`}
        </span>
      </div>
      {runs.length === 0 ? (
        <div className="empty">No runs to chart.</div>
      ) : keys.length === 0 ? (
        <div className="empty">{metricKeys.length === 0 ? "No metrics logged." : "No metric matches the filter."}</div>
      ) : (
        <div className="chart-grid">
          {keys.map((key) => (
            <LazyMount
              key={key}
              height={placeholderHeight}
              className="chart-cell panel"
              placeholder={<div className="chart-placeholder muted">{key}</div>}
            >
              <MetricChart metricKey={key} runs={runs} colors={colors} settings={settings} height={chartHeight} />
            </LazyMount>
          ))}
        </div>
      )}
    </div>
  );
}
