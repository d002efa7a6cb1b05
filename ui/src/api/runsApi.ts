// Run calls the runs table makes beyond api/mlflow.ts: deleting and restoring runs.
import { request } from "./client";

const M = "ajax-api/2.0/mlflow";

export async function deleteRun(runId: string): Promise<void> {
  await request(`${M}/runs/delete`, { method: "POST", body: { run_id: runId } });
}

export async function restoreRun(runId: string): Promise<void> {
  await request(`${M}/runs/restore`, { method: "POST", body: { run_id: runId } });
}

/** Runs `task` over `items`, at most `limit` at a time; the errors by item (empty: all done). */
export async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<Map<T, unknown>> {
  const errors = new Map<T, unknown>();
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      try {
        await task(item);
      } catch (e) {
        errors.set(item, e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return errors;
}
