// The model registry, read-only for now (MLflow clients print these links; editing comes later):
// registered models (`#/models`), one model with its versions (`#/models/<name>`), and one
// version (`#/models/<name>/versions/<v>`) with its source run, logged model and MLmodel card.
import { useMemo, useState } from "react";
import { modelVersionArtifacts } from "../api/artifacts";
import { getLoggedModel, getModelVersion, getRegisteredModel, getRun, searchModelVersions, searchRegisteredModels } from "../api/mlflow";
import type { KeyValue, ModelVersion } from "../api/types";
import { ModelCard } from "../artifacts/ModelCard";
import { formatTime } from "../components/format";
import { ErrorBanner, Loading } from "../components/status";
import { href } from "../routing/route";
import { useAsync } from "../run/useAsync";
import "../run/run.css";
import "../artifacts/artifacts.css";

function quoted(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

function stage(v: ModelVersion): string {
  return v.current_stage && v.current_stage !== "None" ? v.current_stage : "";
}

function Aliases({ aliases }: { aliases: string[] }) {
  return (
    <>
      {aliases.map((a) => (
        <span key={a} className="chip">
          @{a}
        </span>
      ))}
    </>
  );
}

function TagsTable({ tags }: { tags: KeyValue[] }) {
  if (tags.length === 0) return <p className="muted">No tags.</p>;
  const sorted = [...tags].sort((a, b) => a.key.localeCompare(b.key));
  return (
    <table className="kv-table">
      <tbody>
        {sorted.map((t) => (
          <tr key={t.key} className={/^(mlflow|runyard)\./.test(t.key) ? "muted" : undefined}>
            <th className="mono">{t.key}</th>
            <td className="mono value-cell">{t.value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function DescriptionPanel({ text }: { text: string | undefined }) {
  return (
    <section className="panel">
      <h2>Description</h2>
      {text ? <div className="description-text">{text}</div> : <p className="muted">No description.</p>}
    </section>
  );
}

export function ModelsPage() {
  const models = useAsync((signal) => searchRegisteredModels(signal), []);
  const [filter, setFilter] = useState("");
  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase();
    return (models.data ?? []).filter((m) => !f || m.name.toLowerCase().includes(f));
  }, [models.data, filter]);
  return (
    <div className="models-page">
      <div className="panel-head">
        <h1>Registered models</h1>
        <input
          type="search"
          placeholder="Filter by name"
          aria-label="Filter models"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
      </div>
      {models.error ? <ErrorBanner error={models.error} /> : null}
      {!models.data && !models.error && <Loading what="models" />}
      {models.data && models.data.length === 0 && <div className="empty">No registered models yet.</div>}
      {shown.length > 0 && (
        <table className="kv-table panel-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Latest version</th>
              <th>Aliases</th>
              <th>Last modified</th>
              <th>Description</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((m) => {
              const latest = [...(m.latest_versions ?? [])].sort((a, b) => Number(b.version) - Number(a.version))[0];
              return (
                <tr key={m.name}>
                  <td>
                    <a href={href.model(m.name)}>{m.name}</a>
                  </td>
                  <td>{latest ? <a href={href.modelVersion(m.name, latest.version)}>Version {latest.version}</a> : ""}</td>
                  <td>
                    <Aliases aliases={(m.aliases ?? []).map((a) => `${a.alias} → v${a.version}`)} />
                  </td>
                  <td className="muted">{formatTime(m.last_updated_timestamp)}</td>
                  <td className="value-cell">{m.description ?? ""}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function ModelPage({ name }: { name: string }) {
  const model = useAsync((signal) => getRegisteredModel(name, signal), [name]);
  const versions = useAsync((signal) => searchModelVersions(`name=${quoted(name)}`, signal), [name]);
  if (model.error) return <ErrorBanner error={model.error} />;
  if (!model.data) return <Loading what="model" />;
  const m = model.data;
  const aliasesOf = new Map<string, string[]>();
  for (const a of m.aliases ?? []) aliasesOf.set(a.version, [...(aliasesOf.get(a.version) ?? []), a.alias]);
  const list = [...(versions.data ?? [])].sort((a, b) => Number(b.version) - Number(a.version));
  return (
    <div className="model-page">
      <div className="breadcrumbs">
        <a href={href.models()}>Registered models</a> ›
      </div>
      <h1>{m.name}</h1>
      <dl className="run-facts">
        <div>
          <dt>Created</dt>
          <dd>{formatTime(m.creation_timestamp) || "–"}</dd>
        </div>
        <div>
          <dt>Last modified</dt>
          <dd>{formatTime(m.last_updated_timestamp) || "–"}</dd>
        </div>
        <div>
          <dt>Aliases</dt>
          <dd>
            {(m.aliases ?? []).length === 0 ? (
              "–"
            ) : (
              <Aliases aliases={(m.aliases ?? []).map((a) => `${a.alias} → v${a.version}`)} />
            )}
          </dd>
        </div>
      </dl>
      <div className="run-overview" style={{ marginTop: 12 }}>
        <div>
          <DescriptionPanel text={m.description} />
          <section className="panel">
            <h2>Versions ({list.length})</h2>
            {versions.error ? <ErrorBanner error={versions.error} /> : null}
            {!versions.data && !versions.error && <Loading what="versions" />}
            {list.length > 0 && (
              <table className="kv-table versions-table">
                <thead>
                  <tr>
                    <th>Version</th>
                    <th>Registered</th>
                    <th>Stage</th>
                    <th>Aliases</th>
                    <th>Status</th>
                    <th>Source run</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((v) => (
                    <tr key={v.version}>
                      <td>
                        <a href={href.modelVersion(v.name, v.version)}>Version {v.version}</a>
                      </td>
                      <td className="muted">{formatTime(v.creation_timestamp)}</td>
                      <td>{stage(v)}</td>
                      <td>
                        <Aliases aliases={v.aliases ?? aliasesOf.get(v.version) ?? []} />
                      </td>
                      <td>{(v.status ?? "").toLowerCase()}</td>
                      <td className="mono">{v.run_id ? <RunLink runId={v.run_id} /> : ""}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </div>
        <section className="panel">
          <h2>Tags</h2>
          <TagsTable tags={m.tags ?? []} />
        </section>
      </div>
    </div>
  );
}

/** A link to a run, once its experiment is known (run pages live below their experiment). */
function RunLink({ runId, label }: { runId: string; label?: string }) {
  const run = useAsync((signal) => getRun(runId, signal), [runId]);
  if (!run.data) return <span className="mono">{label ?? runId}</span>;
  return (
    <a href={href.run(run.data.info.experiment_id, runId)} className="source-run-link">
      {label ?? (run.data.info.run_name || runId)}
    </a>
  );
}

export function ModelVersionPage({ name, version }: { name: string; version: string }) {
  const mv = useAsync((signal) => getModelVersion(name, version, signal), [name, version]);
  const modelId = mv.data?.model_id;
  const logged = useAsync(
    (signal) => (modelId ? getLoggedModel(modelId, signal) : Promise.resolve(null)),
    [modelId],
  );
  const source = useMemo(() => modelVersionArtifacts(name, version), [name, version]);
  if (mv.error) return <ErrorBanner error={mv.error} />;
  if (!mv.data) return <Loading what="model version" />;
  const v = mv.data;
  const loggedInfo = logged.data?.info;
  const linkFor =
    loggedInfo?.experiment_id && modelId
      ? (path: string) => href.loggedModel(loggedInfo.experiment_id as string, modelId, path)
      : undefined;
  return (
    <div className="model-version-page">
      <div className="breadcrumbs">
        <a href={href.models()}>Registered models</a> › <a href={href.model(v.name)}>{v.name}</a> ›
      </div>
      <div className="run-title">
        <h1>
          {v.name} version {v.version}
        </h1>
        {v.status && <span className={`status-badge status-${v.status === "READY" ? "FINISHED" : v.status}`}>{v.status.toLowerCase()}</span>}
        <Aliases aliases={v.aliases ?? []} />
      </div>
      <dl className="run-facts">
        <div>
          <dt>Registered</dt>
          <dd>{formatTime(v.creation_timestamp) || "–"}</dd>
        </div>
        <div>
          <dt>Last modified</dt>
          <dd>{formatTime(v.last_updated_timestamp) || "–"}</dd>
        </div>
        <div>
          <dt>Stage</dt>
          <dd>{stage(v) || "None"}</dd>
        </div>
        <div>
          <dt>Source</dt>
          <dd className="mono">{v.source || "–"}</dd>
        </div>
        {v.run_id && (
          <div>
            <dt>Source run</dt>
            <dd>
              <RunLink runId={v.run_id} />
            </dd>
          </div>
        )}
        {modelId && (
          <div>
            <dt>Logged model</dt>
            <dd>
              {loggedInfo?.experiment_id ? (
                <a href={href.loggedModel(loggedInfo.experiment_id, modelId)} className="mono logged-model-link">
                  {loggedInfo.name ? `${loggedInfo.name} (${modelId})` : modelId}
                </a>
              ) : (
                <span className="mono">{modelId}</span>
              )}
            </dd>
          </div>
        )}
      </dl>
      <div className="run-overview" style={{ marginTop: 12 }}>
        <div>
          <DescriptionPanel text={v.description} />
          <section>
            <h2>Model</h2>
            <ModelCard source={source} dir="" linkFor={linkFor} />
          </section>
        </div>
        <section className="panel">
          <h2>Tags</h2>
          <TagsTable tags={v.tags ?? []} />
        </section>
      </div>
    </div>
  );
}
