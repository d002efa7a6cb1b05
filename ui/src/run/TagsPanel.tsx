// The run's tags, editable: add, change, delete (runs/set-tag, runs/delete-tag). System tags
// (`mlflow.*`) are behind a toggle; the description tag has its own panel.
import { useState } from "react";
import { deleteRunTag, setRunTag } from "../api/mlflow";
import type { KeyValue } from "../api/types";
import { ErrorBanner } from "../components/status";
import { isSystemTag, NOTE } from "./tags";

function TagRow({ tag, runId, onChanged }: { tag: KeyValue; runId: string; onChanged: () => void }) {
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(tag.value);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const act = (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    work().then(
      () => {
        setBusy(false);
        setEditing(false);
        onChanged();
      },
      (e: unknown) => {
        setBusy(false);
        setError(e);
      },
    );
  };
  return (
    <tr data-tag={tag.key}>
      <th className="mono">{tag.key}</th>
      <td className="mono value-cell">
        {editing ? (
          <form
            className="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              act(() => setRunTag(runId, tag.key, value));
            }}
          >
            <input type="text" aria-label={`Value of ${tag.key}`} value={value} autoFocus onChange={(e) => setValue(e.target.value)} />
            <button type="submit" className="primary" disabled={busy}>
              Save
            </button>
            <button
              type="button"
              onClick={() => {
                setEditing(false);
                setValue(tag.value);
              }}
            >
              Cancel
            </button>
          </form>
        ) : (
          tag.value
        )}
        {error ? <ErrorBanner error={error} /> : null}
      </td>
      <td className="row-actions">
        {!editing && (
          <>
            <button type="button" aria-label={`Edit tag ${tag.key}`} onClick={() => setEditing(true)}>
              Edit
            </button>
            <button
              type="button"
              className="danger"
              aria-label={`Delete tag ${tag.key}`}
              disabled={busy}
              onClick={() => {
                if (window.confirm(`Delete the tag "${tag.key}"?`)) act(() => deleteRunTag(runId, tag.key));
              }}
            >
              Delete
            </button>
          </>
        )}
      </td>
    </tr>
  );
}

function AddTag({ runId, existing, onChanged }: { runId: string; existing: Set<string>; onChanged: () => void }) {
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <form
      className="add-tag inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        const k = key.trim();
        if (!k) return;
        setBusy(true);
        setError(null);
        setRunTag(runId, k, value).then(
          () => {
            setBusy(false);
            setKey("");
            setValue("");
            onChanged();
          },
          (err: unknown) => {
            setBusy(false);
            setError(err);
          },
        );
      }}
    >
      <input type="text" placeholder="Key" aria-label="New tag key" value={key} onChange={(e) => setKey(e.target.value)} />
      <input type="text" placeholder="Value" aria-label="New tag value" value={value} onChange={(e) => setValue(e.target.value)} />
      <button type="submit" disabled={busy || !key.trim()}>
        {existing.has(key.trim()) ? "Set tag" : "Add tag"}
      </button>
      {error ? <ErrorBanner error={error} /> : null}
    </form>
  );
}

export function TagsPanel({ tags, runId, onChanged }: { tags: KeyValue[]; runId: string; onChanged: () => void }) {
  const [showSystem, setShowSystem] = useState(false);
  const own = tags.filter((t) => t.key !== NOTE);
  const system = own.filter((t) => isSystemTag(t.key));
  const shown = own
    .filter((t) => showSystem || !isSystemTag(t.key))
    .sort((a, b) => Number(isSystemTag(a.key)) - Number(isSystemTag(b.key)) || a.key.localeCompare(b.key));
  return (
    <section className="panel" aria-labelledby="tags-title">
      <div className="panel-head">
        <h2 id="tags-title">Tags ({own.length - system.length})</h2>
        {system.length > 0 && (
          <label className="toggle">
            <input type="checkbox" checked={showSystem} onChange={(e) => setShowSystem(e.target.checked)} /> Show system
            tags ({system.length})
          </label>
        )}
      </div>
      {shown.length === 0 ? (
        <p className="muted">No tags.</p>
      ) : (
        <table className="kv-table tags-table">
          <tbody>
            {shown.map((t) => (
              <TagRow key={`${t.key}=${t.value}`} tag={t} runId={runId} onChanged={onChanged} />
            ))}
          </tbody>
        </table>
      )}
      <AddTag runId={runId} existing={new Set(tags.map((t) => t.key))} onChanged={onChanged} />
    </section>
  );
}
