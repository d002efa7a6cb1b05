// The top of a run's page: name, status, experiment, times, user, source, the run id (copyable),
// the parent run, and the tabs.
import type { Experiment, Run } from "../api/types";
import { formatDuration, formatTime } from "../components/format";
import { href, type RunTab } from "../routing/route";
import { CopyButton } from "./CopyButton";
import { PARENT, tagMap } from "./tags";

function Source({ tags }: { tags: Map<string, string> }) {
  const name = tags.get("mlflow.source.name");
  const type = tags.get("mlflow.source.type");
  const commit = tags.get("mlflow.source.git.commit");
  const branch = tags.get("mlflow.source.git.branch");
  if (!name && !commit) return <span className="muted">–</span>;
  return (
    <span className="mono" title={[name, type, commit].filter(Boolean).join(" · ")}>
      {name}
      {type ? <span className="muted"> ({type.toLowerCase()})</span> : null}
      {commit ? (
        <span className="muted">
          {" "}
          @ {commit.slice(0, 8)}
          {branch ? ` ${branch}` : ""}
        </span>
      ) : null}
    </span>
  );
}

export function RunHeader({ run, experiment, tab }: { run: Run; experiment: Experiment | undefined; tab: RunTab }) {
  const info = run.info;
  const tags = tagMap(run);
  const runId = info.run_id || info.run_uuid || "";
  const name = info.run_name || tags.get("mlflow.runName") || runId;
  const parent = tags.get(PARENT);
  const status = info.status ?? "";
  const tabs: { id: RunTab; label: string }[] = [
    { id: "overview", label: "Overview" },
    { id: "charts", label: "Charts" },
    { id: "artifacts", label: "Artifacts" },
  ];
  return (
    <header className="run-header">
      <div className="breadcrumbs">
        <a href={href.experiments()}>Experiments</a> ›{" "}
        <a href={href.experiment(info.experiment_id)}>{experiment?.name ?? `Experiment ${info.experiment_id}`}</a>
        {parent ? (
          <>
            {" "}
            › <a href={href.run(info.experiment_id, parent)}>parent run</a>
          </>
        ) : null}
      </div>
      <div className="run-title">
        <h1>{name}</h1>
        <span className={`status-badge status-${status}`}>{status.toLowerCase() || "unknown"}</span>
        {info.lifecycle_stage === "deleted" && <span className="status-badge deleted">deleted</span>}
      </div>
      <dl className="run-facts">
        <div>
          <dt>Run ID</dt>
          <dd>
            <code className="run-id">{runId}</code> <CopyButton value={runId} />
          </dd>
        </div>
        <div>
          <dt>Experiment</dt>
          <dd>
            <a href={href.experiment(info.experiment_id)}>{experiment?.name ?? info.experiment_id}</a>
          </dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{formatTime(info.start_time) || "–"}</dd>
        </div>
        <div>
          <dt>Ended</dt>
          <dd>{formatTime(info.end_time) || (status === "RUNNING" ? "running" : "–")}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{formatDuration(info.start_time, info.end_time) || "–"}</dd>
        </div>
        <div>
          <dt>User</dt>
          <dd>{info.user_id || tags.get("mlflow.user") || "–"}</dd>
        </div>
        <div>
          <dt>Source</dt>
          <dd>
            <Source tags={tags} />
          </dd>
        </div>
        {parent && (
          <div>
            <dt>Parent run</dt>
            <dd>
              <a href={href.run(info.experiment_id, parent)} className="mono">
                {parent}
              </a>
            </dd>
          </div>
        )}
      </dl>
      <nav className="tabs" aria-label="Run views">
        {tabs.map((t) => (
          <a
            key={t.id}
            href={href.run(info.experiment_id, runId, t.id)}
            className={t.id === tab ? "tab active" : "tab"}
            aria-current={t.id === tab ? "page" : undefined}
          >
            {t.label}
          </a>
        ))}
      </nav>
    </header>
  );
}
