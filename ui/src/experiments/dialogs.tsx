// The experiment dialogs: create (in a path workspace, prefilled with the folder it was opened
// from), rename, delete. Each runs its call and stays open with the server's error (a caller
// without permission sees PERMISSION_DENIED) until it succeeds.
import { useState } from "react";
import { createExperiment, deleteExperiment, renameExperiment } from "../api/mlflow";
import type { Experiment } from "../api/types";
import { Modal } from "./Modal";

function useAction<T>(run: () => Promise<T>, done: (value: T) => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = () => {
    setBusy(true);
    setError(null);
    run().then(
      (v) => {
        setBusy(false);
        done(v);
      },
      (e: unknown) => {
        setBusy(false);
        setError(e);
      },
    );
  };
  return { busy, error, submit };
}

export function CreateDialog({
  initial,
  pathNaming,
  onClose,
  onDone,
}: {
  initial: string;
  pathNaming: boolean;
  onClose: () => void;
  onDone: (id: string, name: string) => void;
}) {
  const [name, setName] = useState(initial);
  const action = useAction(
    () => createExperiment(name.trim()),
    (id) => onDone(id, name.trim()),
  );
  return (
    <Modal title="New experiment" submitLabel="Create" onClose={onClose} onSubmit={action.submit} busy={action.busy} error={action.error} disabled={!name.trim()}>
      <label className="field">
        <span>Name</span>
        <input type="text" aria-label="Experiment name" value={name} onChange={(e) => setName(e.target.value)} placeholder={pathNaming ? "/Shared/team/my-experiment" : "my-experiment"} />
      </label>
      {pathNaming && <p className="muted hint">This workspace names experiments by path: folders are separated by “/”.</p>}
    </Modal>
  );
}

export function RenameDialog({ experiment, onClose, onDone }: { experiment: Experiment; onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState(experiment.name);
  const action = useAction(() => renameExperiment(experiment.experiment_id, name.trim()), onDone);
  return (
    <Modal
      title={`Rename “${experiment.name}”`}
      submitLabel="Rename"
      onClose={onClose}
      onSubmit={action.submit}
      busy={action.busy}
      error={action.error}
      disabled={!name.trim() || name.trim() === experiment.name}
    >
      <label className="field">
        <span>New name</span>
        <input type="text" aria-label="New name" value={name} onChange={(e) => setName(e.target.value)} />
      </label>
    </Modal>
  );
}

export function DeleteDialog({ experiment, onClose, onDone }: { experiment: Experiment; onClose: () => void; onDone: () => void }) {
  const action = useAction(() => deleteExperiment(experiment.experiment_id), onDone);
  return (
    <Modal title="Delete experiment?" submitLabel="Delete" danger onClose={onClose} onSubmit={action.submit} busy={action.busy} error={action.error}>
      <p>
        <strong>{experiment.name}</strong> (ID {experiment.experiment_id}) and its runs move to the deleted experiments; “Show deleted” lists
        them for restoring.
      </p>
    </Modal>
  );
}
