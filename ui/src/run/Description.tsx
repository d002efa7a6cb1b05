// The run's description: the `mlflow.note.content` tag (MLflow's UI keeps it there), editable.
import { useState } from "react";
import { setRunTag } from "../api/mlflow";
import { ErrorBanner } from "../components/status";
import { NOTE } from "./tags";

export function Description({ runId, text, onChanged }: { runId: string; text: string; onChanged: () => void }) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(text);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <section className="panel description" aria-labelledby="description-title">
      <div className="panel-head">
        <h2 id="description-title">Description</h2>
        {!editing && (
          <button
            type="button"
            onClick={() => {
              setDraft(text);
              setEditing(true);
            }}
          >
            {text ? "Edit" : "Add description"}
          </button>
        )}
      </div>
      {editing ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setBusy(true);
            setError(null);
            setRunTag(runId, NOTE, draft).then(
              () => {
                setBusy(false);
                setEditing(false);
                onChanged();
              },
              (err: unknown) => {
                setBusy(false);
                setError(err);
              },
            );
          }}
        >
          <textarea aria-label="Description" rows={5} value={draft} onChange={(e) => setDraft(e.target.value)} autoFocus />
          <div className="form-actions">
            <button type="submit" className="primary" disabled={busy}>
              Save
            </button>
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
          {error ? <ErrorBanner error={error} /> : null}
        </form>
      ) : text ? (
        <div className="description-text">{text}</div>
      ) : (
        <p className="muted">No description.</p>
      )}
    </section>
  );
}
