// The run's params and latest metrics (with a sparkline each), filterable when long.
import { useMemo, useState } from "react";
import type { KeyValue, Metric } from "../api/types";
import { formatTime, formatValue } from "../components/format";
import { Sparkline } from "../charts/Sparkline";
import { href } from "../routing/route";

const FILTER_FROM = 12;

function useFilter<T>(items: T[], text: (item: T) => string) {
  const [filter, setFilter] = useState("");
  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase();
    return f ? items.filter((i) => text(i).toLowerCase().includes(f)) : items;
  }, [items, filter, text]);
  const box =
    items.length >= FILTER_FROM ? (
      <input
        type="search"
        className="table-filter"
        placeholder="Filter"
        aria-label="Filter"
        value={filter}
        onChange={(e) => setFilter(e.target.value)}
      />
    ) : null;
  return { shown, box };
}

const paramText = (p: KeyValue) => `${p.key} ${p.value}`;
const metricText = (m: Metric) => m.key;

export function ParamsTable({ params }: { params: KeyValue[] }) {
  const sorted = useMemo(() => [...params].sort((a, b) => a.key.localeCompare(b.key)), [params]);
  const { shown, box } = useFilter(sorted, paramText);
  return (
    <section className="panel" aria-labelledby="params-title">
      <div className="panel-head">
        <h2 id="params-title">Parameters ({params.length})</h2>
        {box}
      </div>
      {params.length === 0 ? (
        <p className="muted">No parameters.</p>
      ) : (
        <table className="kv-table params-table">
          <tbody>
            {shown.map((p) => (
              <tr key={p.key}>
                <th className="mono">{p.key}</th>
                <td className="mono value-cell">{p.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function MetricsTable({
  metrics,
  runId,
  experimentId,
  refresh,
}: {
  metrics: Metric[];
  runId: string;
  experimentId: string;
  /** Changes when the run was re-read (a running run's sparklines follow). */
  refresh: number;
}) {
  const sorted = useMemo(() => [...metrics].sort((a, b) => a.key.localeCompare(b.key)), [metrics]);
  const { shown, box } = useFilter(sorted, metricText);
  return (
    <section className="panel" aria-labelledby="metrics-title">
      <div className="panel-head">
        <h2 id="metrics-title">Metrics ({metrics.length})</h2>
        {box}
      </div>
      {metrics.length === 0 ? (
        <p className="muted">No metrics.</p>
      ) : (
        <table className="kv-table metrics-table">
          <thead>
            <tr>
              <th>Metric</th>
              <th>Latest</th>
              <th>Step</th>
              <th>History</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((m) => (
              <tr key={m.key}>
                <th className="mono">
                  <a href={href.run(experimentId, runId, "charts", { filter: m.key })} title="Open the chart">
                    {m.key}
                  </a>
                </th>
                <td className="mono" title={m.timestamp ? formatTime(m.timestamp) : undefined}>
                  {formatValue(m.value)}
                </td>
                <td className="muted">{m.step ?? 0}</td>
                <td>
                  <Sparkline runId={runId} metricKey={m.key} refresh={refresh} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
