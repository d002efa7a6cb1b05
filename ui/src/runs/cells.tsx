// How each kind of runs-table cell shows a run: status with an icon and colour, times, the
// duration, the user, the source, dataset chips, the number of logged models, and the latest
// metric values, params and tags. Plain functions of the normalised row (no fetches).
import type { ReactNode } from "react";
import { formatDuration, formatTime, formatValue } from "../components/format";
import type { ColumnSpec } from "./columns";
import { datasetLabel, sourceLabel, type RunRow } from "./runData";

const STATUS_ICON: Record<string, string> = {
  FINISHED: "✓",
  FAILED: "✕",
  KILLED: "■",
  RUNNING: "●",
  SCHEDULED: "◷",
};

export function StatusBadge({ status }: { status: string }) {
  const label = status ? status.charAt(0) + status.slice(1).toLowerCase() : "—";
  return (
    <span className={`run-status status-${status || "UNKNOWN"}`} title={status}>
      <span className="run-status-icon" aria-hidden="true">
        {STATUS_ICON[status] ?? "?"}
      </span>
      {label}
    </span>
  );
}

/** A cell's content and its tooltip. */
export function cellContent(spec: ColumnSpec, row: RunRow): { node: ReactNode; title?: string; numeric?: boolean } {
  switch (spec.kind) {
    case "metric": {
      const v = row.metrics.get(spec.key);
      return v === undefined ? { node: "" } : { node: formatValue(v), title: String(v), numeric: true };
    }
    case "param": {
      const v = row.params.get(spec.key) ?? "";
      return { node: v, title: v };
    }
    case "tag": {
      const v = row.tags.get(spec.key) ?? "";
      return { node: v, title: v };
    }
    case "attribute":
      break;
  }
  switch (spec.key) {
    case "status":
      return { node: <StatusBadge status={row.status} /> };
    case "start_time":
      return { node: formatTime(row.start) };
    case "end_time":
      return { node: formatTime(row.end) };
    case "duration":
      return { node: formatDuration(row.start, row.status === "RUNNING" ? undefined : row.end), numeric: true };
    case "user":
      return { node: row.user, title: row.user };
    case "source": {
      const commit = row.commit ? ` @ ${row.commit.slice(0, 7)}` : "";
      return {
        node: (
          <>
            {sourceLabel(row.source)}
            {commit && <span className="muted">{commit}</span>}
          </>
        ),
        title: `${row.sourceType ? row.sourceType + ": " : ""}${row.source}${row.commit ? `\ncommit ${row.commit}` : ""}`,
      };
    }
    case "datasets": {
      if (row.datasets.length === 0) return { node: "" };
      const shown = row.datasets.slice(0, 2);
      const rest = row.datasets.length - shown.length;
      return {
        node: (
          <>
            {shown.map((d, i) => (
              <span key={i} className="chip dataset-chip">
                {datasetLabel(d)}
              </span>
            ))}
            {rest > 0 && <span className="muted">+{rest}</span>}
          </>
        ),
        title: row.datasets.map((d) => `${d.name}@${d.digest}${d.context ? ` (${d.context})` : ""}`).join("\n"),
      };
    }
    case "models":
      return row.models > 0 ? { node: <span className="chip">{row.models}</span>, title: `${row.models} logged model(s)` } : { node: "" };
    case "run_id":
      return { node: <span className="mono">{row.id}</span>, title: row.id };
    default:
      return { node: "" };
  }
}
