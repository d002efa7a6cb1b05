// An `MLmodel` file as a card: flavors, versions, ids, the signature's inputs / outputs / params
// as tables, and the saved input example (a link and a preview).
import { decodeText, fetchHead, type ArtifactSource } from "../api/artifacts";
import { ErrorBanner, Loading } from "../components/status";
import { formatBytes } from "../components/format";
import { useAsync } from "../run/useAsync";
import { yamlLine, jsonLine } from "./highlight";
import { parseMLmodel, type ModelCard as Card, type SchemaRow } from "./mlmodel";
import { TextViewer } from "./TextViewer";

const CAP = 1 << 20;
const EXAMPLE_CAP = 256 << 10;

function join(dir: string, name: string): string {
  return dir ? `${dir.replace(/\/$/, "")}/${name}` : name;
}

function SchemaTable({ title, rows }: { title: string; rows: SchemaRow[] }) {
  const detail = rows.some((r) => r.detail);
  return (
    <div className="schema">
      <h3>
        {title} ({rows.length})
      </h3>
      <table className="kv-table schema-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Type</th>
            <th>Required</th>
            {detail && <th>Details</th>}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <td className="mono">{r.name}</td>
              <td className="mono">{r.type}</td>
              <td>{r.required === null ? "" : r.required ? "yes" : "no"}</td>
              {detail && <td className="mono">{r.detail}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function InputExample({ source, path, linkFor }: { source: ArtifactSource; path: string; linkFor?: (p: string) => string }) {
  const example = useAsync(
    async (signal) => {
      const head = await fetchHead(source.fileUrl(path), EXAMPLE_CAP, signal);
      const text = decodeText(head);
      try {
        return { text: JSON.stringify(JSON.parse(text), null, 2), json: true, truncated: head.truncated };
      } catch {
        return { text, json: false, truncated: head.truncated };
      }
    },
    [source.id, path],
  );
  return (
    <div className="input-example">
      <h3>
        Input example{" "}
        <a className="small" href={linkFor ? linkFor(path) : source.fileUrl(path)}>
          {path}
        </a>
      </h3>
      {example.error ? <ErrorBanner error={example.error} /> : null}
      {example.data && (
        <details open>
          <summary className="muted">Preview{example.data.truncated ? " (first 256 KiB)" : ""}</summary>
          <TextViewer text={example.data.text} tokenize={example.data.json ? jsonLine : undefined} label="Input example" />
        </details>
      )}
    </div>
  );
}

export function ModelCardView({
  card,
  source,
  dir,
  linkFor,
  yamlText,
}: {
  card: Card;
  source: ArtifactSource;
  dir: string;
  linkFor?: (path: string) => string;
  yamlText?: string;
}) {
  const facts: [string, string | null][] = [
    ["Model ID", card.modelId],
    ["Model UUID", card.modelUuid],
    ["Run ID", card.runId],
    ["MLflow version", card.mlflowVersion],
    ["Python version", card.pythonVersion],
    ...card.frameworkVersions.map(([k, v]): [string, string] => [k.replace(/_/g, " "), v]),
    ["Created (UTC)", card.created],
    ["Size", card.sizeBytes === null ? null : formatBytes(card.sizeBytes)],
    ["Artifact path", card.artifactPath],
  ];
  return (
    <div className="model-card panel" data-testid="model-card">
      <div className="model-card-head">
        <strong>Model</strong>
        {card.flavors.map((f) => (
          <span key={f.name} className="chip">
            {f.name}
          </span>
        ))}
      </div>
      <table className="kv-table facts">
        <tbody>
          {facts
            .filter((f): f is [string, string] => f[1] !== null && f[1] !== "")
            .map(([k, v]) => (
              <tr key={k}>
                <th>{k}</th>
                <td className="mono">{v}</td>
              </tr>
            ))}
        </tbody>
      </table>
      <h3>Flavors</h3>
      <div className="flavors">
        {card.flavors.map((f) => (
          <div key={f.name} className="flavor">
            <div className="mono flavor-name">{f.name}</div>
            {f.fields.map(([k, v]) => (
              <div key={k} className="flavor-field">
                <span className="muted">{k}</span> <span className="mono">{v}</span>
              </div>
            ))}
          </div>
        ))}
      </div>
      {card.inputs || card.outputs || card.params ? (
        <div className="signature">
          <h3>Signature</h3>
          {card.inputs && <SchemaTable title="Inputs" rows={card.inputs} />}
          {card.outputs && <SchemaTable title="Outputs" rows={card.outputs} />}
          {card.params && <SchemaTable title="Params" rows={card.params} />}
        </div>
      ) : (
        <p className="muted">No signature.</p>
      )}
      {card.inputExample && <InputExample source={source} path={join(dir, card.inputExample.path)} linkFor={linkFor} />}
      {yamlText !== undefined && (
        <details className="mlmodel-source">
          <summary className="muted">MLmodel file</summary>
          <TextViewer text={yamlText} tokenize={yamlLine} label="MLmodel" />
        </details>
      )}
    </div>
  );
}

/** Loads `<dir>/MLmodel` from `source` and shows its card (or the text, if it does not parse). */
export function ModelCard({
  source,
  dir,
  linkFor,
}: {
  source: ArtifactSource;
  dir: string;
  linkFor?: (path: string) => string;
}) {
  const file = join(dir, "MLmodel");
  const loaded = useAsync(
    async (signal) => {
      const text = decodeText(await fetchHead(source.fileUrl(file), CAP, signal));
      try {
        return { text, card: parseMLmodel(text), error: null };
      } catch (e) {
        return { text, card: null, error: e };
      }
    },
    [source.id, file],
  );
  if (loaded.error) return <ErrorBanner error={loaded.error} />;
  if (!loaded.data) return <Loading what="MLmodel" />;
  if (!loaded.data.card) {
    return (
      <div>
        <div className="notice">This MLmodel file could not be read as a model card ({String(loaded.data.error)}).</div>
        <TextViewer text={loaded.data.text} tokenize={yamlLine} label="MLmodel" />
      </div>
    );
  }
  return <ModelCardView card={loaded.data.card} source={source} dir={dir} linkFor={linkFor} yamlText={loaded.data.text} />;
}
