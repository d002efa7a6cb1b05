// The tags MLflow reads itself, and helpers over a run's tag list.
import type { KeyValue, Run } from "../api/types";

export const NOTE = "mlflow.note.content";
export const PARENT = "mlflow.parentRunId";

/** System tags: `mlflow.*` (what MLflow's clients and UI set). */
export function isSystemTag(key: string): boolean {
  return key.startsWith("mlflow.");
}

export function tagMap(run: Run): Map<string, string> {
  return new Map((run.data.tags ?? []).map((t: KeyValue) => [t.key, t.value]));
}
