// What a run is connected to: its parent and child runs, its dataset inputs, the logged models it
// produced or used, and the registered model versions made from it.
import { useState } from "react";
import { getLoggedModel, getRun, searchModelVersions, searchRuns } from "../api/mlflow";
import type { DatasetInput, LoggedModel, Run } from "../api/types";
import { formatTime } from "../components/format";
import { ErrorBanner, Loading } from "../components/status";
import { href } from "../routing/route";
import { PARENT, tagMap } from "./tags";
import { useAsync } from "./useAsync";

function quoted(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

export function Lineage({ run }: { run: Run }) {
  const runId = run.info.run_id;
  const experimentId = run.info.experiment_id;
  const parent = tagMap(run).get(PARENT);
  const children = useAsync(
    (signal) =>
      searchRuns({
        experimentIds: [experimentId],
        filter: `tags.${PARENT} = ${quoted(runId)}`,
        orderBy: ["attributes.start_time DESC"],
        maxResults: 200,
        signal,
      }),
    [runId, experimentId],
  );
  const parentRun = useAsync((signal) => (parent ? getRun(parent, signal) : Promise.resolve(null)), [parent]);
  const kids = children.data?.items ?? [];
  if (!parent && children.data && kids.length === 0) return null;
  return (
    <section className="panel" aria-labelledby="lineage-title">
      <h2 id="lineage-title">Parent and child runs</h2>
      {parent && (
        <p>
          Parent:{" "}
          <a href={href.run(experimentId, parent)} className="parent-link">
            {parentRun.data?.info.run_name || parent}
          </a>
        </p>
      )}
      {children.error ? <ErrorBanner error={children.error} /> : null}
      {children.loading && !children.data && <Loading what="child runs" />}
      {kids.length > 0 && (
        <>
          <p className="muted">
            {kids.length}
            {children.data?.nextPageToken ? "+" : ""} child run{kids.length === 1 ? "" : "s"}
          </p>
          <ul className="child-runs">
            {kids.map((c) => (
              <li key={c.info.run_id}>
                <a href={href.run(c.info.experiment_id, c.info.run_id)}>{c.info.run_name || c.info.run_id}</a>{" "}
                <span className={`status-${c.info.status ?? ""} small`}>{(c.info.status ?? "").toLowerCase()}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function prettyJson(text: string | undefined): string | null {
  if (!text) return null;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

interface Column {
  name?: string;
  type?: string;
}

function schemaColumns(schema: string | undefined): Column[] | null {
  if (!schema) return null;
  try {
    const parsed = JSON.parse(schema) as { mlflow_colspec?: Column[]; mlflow_tensorspec?: { features?: string } };
    if (Array.isArray(parsed.mlflow_colspec)) return parsed.mlflow_colspec;
  } catch {
    return null;
  }
  return null;
}

function DatasetRow({ input }: { input: DatasetInput }) {
  const [open, setOpen] = useState(false);
  const d = input.dataset;
  const context = (input.tags ?? []).find((t) => t.key === "mlflow.data.context")?.value;
  const columns = schemaColumns(d.schema);
  return (
    <>
      <tr>
        <td>
          <button type="button" className="caret" aria-expanded={open} aria-label={`Details of ${d.name}`} onClick={() => setOpen(!open)}>
            {open ? "▾" : "▸"}
          </button>{" "}
          <strong>{d.name}</strong>
        </td>
        <td className="mono">{d.digest}</td>
        <td>{d.source_type ?? ""}</td>
        <td>{context ? <span className="chip">{context}</span> : null}</td>
      </tr>
      {open && (
        <tr className="dataset-details">
          <td colSpan={4}>
            {d.source && (
              <div>
                <div className="muted">Source</div>
                <pre>{prettyJson(d.source)}</pre>
              </div>
            )}
            {columns ? (
              <div>
                <div className="muted">Schema ({columns.length} columns)</div>
                <table className="kv-table compact">
                  <tbody>
                    {columns.map((c, i) => (
                      <tr key={i}>
                        <td className="mono">{c.name ?? `#${i}`}</td>
                        <td className="mono">{c.type ?? ""}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : d.schema ? (
              <div>
                <div className="muted">Schema</div>
                <pre>{prettyJson(d.schema)}</pre>
              </div>
            ) : null}
            {d.profile && (
              <div>
                <div className="muted">Profile</div>
                <pre>{prettyJson(d.profile)}</pre>
              </div>
            )}
          </td>
        </tr>
      )}
    </>
  );
}

export function Datasets({ inputs }: { inputs: DatasetInput[] }) {
  if (inputs.length === 0) return null;
  return (
    <section className="panel" aria-labelledby="datasets-title">
      <h2 id="datasets-title">Datasets ({inputs.length})</h2>
      <table className="kv-table datasets-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Digest</th>
            <th>Source type</th>
            <th>Context</th>
          </tr>
        </thead>
        <tbody>
          {inputs.map((i, n) => (
            <DatasetRow key={`${i.dataset.name}:${i.dataset.digest}:${n}`} input={i} />
          ))}
        </tbody>
      </table>
    </section>
  );
}

interface ModelRef {
  modelId: string;
  direction: "output" | "input";
  step?: number;
}

export function LoggedModels({ run }: { run: Run }) {
  const refs: ModelRef[] = [
    ...(run.outputs?.model_outputs ?? []).map((m): ModelRef => ({ modelId: m.model_id, direction: "output", step: m.step })),
    ...(run.inputs?.model_inputs ?? []).map((m): ModelRef => ({ modelId: m.model_id, direction: "input" })),
  ];
  const ids = refs.map((r) => r.modelId).join(",");
  const models = useAsync(
    async (signal) => {
      const found = await Promise.all(
        refs.map((r) => getLoggedModel(r.modelId, signal).then((m): LoggedModel | Error => m, (e: unknown) => (e instanceof Error ? e : new Error(String(e))))),
      );
      return found;
    },
    [ids],
  );
  if (refs.length === 0) return null;
  return (
    <section className="panel" aria-labelledby="models-title">
      <h2 id="models-title">Logged models ({refs.length})</h2>
      {models.loading && !models.data && <Loading what="logged models" />}
      <table className="kv-table models-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Model ID</th>
            <th>Role</th>
            <th>Status</th>
            <th>Files</th>
          </tr>
        </thead>
        <tbody>
          {refs.map((r, i) => {
            const m = models.data?.[i];
            const model = m && !(m instanceof Error) ? m : null;
            const experimentId = model?.info.experiment_id ?? run.info.experiment_id;
            return (
              <tr key={`${r.modelId}:${r.direction}`}>
                <td>{model?.info.name ?? (m instanceof Error ? <span className="muted">{m.message}</span> : "")}</td>
                <td className="mono">{r.modelId}</td>
                <td>
                  {r.direction === "output" ? "logged by this run" : "used by this run"}
                  {r.step ? <span className="muted"> (step {r.step})</span> : null}
                </td>
                <td>{(model?.info.status ?? "").replace(/^LOGGED_MODEL_/, "").toLowerCase()}</td>
                <td>
                  <a href={href.loggedModel(experimentId, r.modelId)}>Artifacts</a>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

export function RegisteredVersions({ runId }: { runId: string }) {
  const versions = useAsync((signal) => searchModelVersions(`run_id=${quoted(runId)}`, signal), [runId]);
  if (versions.error) return null; // a registry the caller may not read: nothing to show
  const list = versions.data ?? [];
  if (list.length === 0) return null;
  return (
    <section className="panel" aria-labelledby="versions-title">
      <h2 id="versions-title">Registered model versions ({list.length})</h2>
      <table className="kv-table">
        <thead>
          <tr>
            <th>Model</th>
            <th>Version</th>
            <th>Stage</th>
            <th>Aliases</th>
            <th>Registered</th>
          </tr>
        </thead>
        <tbody>
          {list.map((v) => (
            <tr key={`${v.name}/${v.version}`}>
              <td>
                <a href={href.model(v.name)}>{v.name}</a>
              </td>
              <td>
                <a href={href.modelVersion(v.name, v.version)}>Version {v.version}</a>
              </td>
              <td>{v.current_stage && v.current_stage !== "None" ? v.current_stage : ""}</td>
              <td>
                {(v.aliases ?? []).map((a) => (
                  <span key={a} className="chip">
                    @{a}
                  </span>
                ))}
              </td>
              <td className="muted">{formatTime(v.creation_timestamp)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
