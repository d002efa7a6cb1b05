// Runs as the table reads them, pure: each page of `runs/search` is normalised once (maps of the
// latest metric values, params and tags per run, the parent from `mlflow.parentRunId`), the keys
// seen so far are collected for the column picker, nested runs are grouped under their parents
// (a child loaded before its parent shows at the top level until the parent arrives), and the
// tree is flattened into the rows the virtualised table shows.
import type { Run } from "../api/types";

export interface DatasetChip {
  name: string;
  digest: string;
  context: string;
}

export interface RunRow {
  id: string;
  name: string;
  experimentId: string;
  status: string;
  start: number | undefined;
  end: number | undefined;
  user: string;
  /** `mlflow.source.name` (a script path, a notebook, a git URL). */
  source: string;
  sourceType: string;
  commit: string;
  datasets: DatasetChip[];
  models: number;
  metrics: ReadonlyMap<string, number>;
  params: ReadonlyMap<string, string>;
  tags: ReadonlyMap<string, string>;
  parentId: string | null;
}

export const PARENT_TAG = "mlflow.parentRunId";

function num(v: number | string | undefined): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function metricValue(v: number | string): number {
  if (typeof v === "number") return v;
  // The server writes non-finite values as strings ("NaN", "Infinity", "-Infinity").
  return Number(v);
}

export function normaliseRun(run: Run): RunRow {
  const metrics = new Map<string, number>();
  for (const m of run.data.metrics ?? []) metrics.set(m.key, metricValue(m.value));
  const params = new Map<string, string>();
  for (const p of run.data.params ?? []) params.set(p.key, p.value);
  const tags = new Map<string, string>();
  for (const t of run.data.tags ?? []) tags.set(t.key, t.value);
  const info = run.info;
  const id = info.run_id || info.run_uuid || "";
  return {
    id,
    name: info.run_name || tags.get("mlflow.runName") || "",
    experimentId: info.experiment_id,
    status: info.status ?? "",
    start: num(info.start_time),
    end: num(info.end_time),
    user: tags.get("mlflow.user") || info.user_id || "",
    source: tags.get("mlflow.source.name") ?? "",
    sourceType: tags.get("mlflow.source.type") ?? "",
    commit: tags.get("mlflow.source.git.commit") ?? "",
    datasets: (run.inputs?.dataset_inputs ?? []).map((d) => ({
      name: d.dataset.name,
      digest: d.dataset.digest,
      context: d.tags?.find((t) => t.key === "mlflow.data.context")?.value ?? "",
    })),
    models: run.outputs?.model_outputs?.length ?? 0,
    metrics,
    params,
    tags,
    parentId: tags.get(PARENT_TAG) || null,
  };
}

export interface KeySets {
  metrics: Set<string>;
  params: Set<string>;
  tags: Set<string>;
}

export function emptyKeys(): KeySets {
  return { metrics: new Set(), params: new Set(), tags: new Set() };
}

/** Adds the keys of `rows` to `keys` (in place); true when any was new. */
export function collectKeys(keys: KeySets, rows: readonly RunRow[]): boolean {
  const before = keys.metrics.size + keys.params.size + keys.tags.size;
  for (const r of rows) {
    for (const k of r.metrics.keys()) keys.metrics.add(k);
    for (const k of r.params.keys()) keys.params.add(k);
    for (const k of r.tags.keys()) keys.tags.add(k);
  }
  return keys.metrics.size + keys.params.size + keys.tags.size !== before;
}

const byName = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });

/** Sorted key lists; MLflow's own `mlflow.*` tags after the user's. */
export function keyLists(keys: KeySets): { metrics: string[]; params: string[]; tags: string[] } {
  const tags = [...keys.tags].sort((a, b) => {
    const sa = a.startsWith("mlflow.");
    const sb = b.startsWith("mlflow.");
    return sa === sb ? byName(a, b) : sa ? 1 : -1;
  });
  return { metrics: [...keys.metrics].sort(byName), params: [...keys.params].sort(byName), tags };
}

// ------------------------------------------------------------------------------------ nesting

export interface RunTree {
  /** Top-level rows in the server's order: runs without a parent, and children whose parent is
   *  not loaded (yet). */
  roots: RunRow[];
  /** Loaded children of each loaded parent, in the server's order. */
  children: Map<string, RunRow[]>;
}

export function buildTree(rows: readonly RunRow[]): RunTree {
  const parentOf = new Map<string, string | null>();
  for (const r of rows) parentOf.set(r.id, r.parentId);
  const roots: RunRow[] = [];
  const children = new Map<string, RunRow[]>();
  for (const r of rows) {
    // A run naming itself, or a cycle of parents, stays at the top level.
    if (r.parentId && parentOf.has(r.parentId) && !inCycle(r.id, parentOf)) {
      const list = children.get(r.parentId);
      if (list) list.push(r);
      else children.set(r.parentId, [r]);
    } else {
      roots.push(r);
    }
  }
  return { roots, children };
}

function inCycle(id: string, parentOf: ReadonlyMap<string, string | null>): boolean {
  const seen = new Set<string>([id]);
  let cur = parentOf.get(id) ?? null;
  while (cur !== null && parentOf.has(cur)) {
    if (seen.has(cur)) return cur === id;
    seen.add(cur);
    cur = parentOf.get(cur) ?? null;
  }
  return false;
}

export interface FlatRow {
  row: RunRow;
  depth: number;
  /** How many loaded children the run has (0: none). */
  childCount: number;
  expanded: boolean;
  /** The parent is named by the tag but not loaded. */
  orphan: boolean;
}

/** The rows shown, in order: each root, then (if expanded) its children, depth-first. */
export function flatten(tree: RunTree, expanded: ReadonlySet<string>): FlatRow[] {
  const out: FlatRow[] = [];
  const visit = (row: RunRow, depth: number) => {
    const kids = tree.children.get(row.id);
    const open = kids !== undefined && expanded.has(row.id);
    out.push({
      row,
      depth,
      childCount: kids?.length ?? 0,
      expanded: open,
      orphan: depth === 0 && row.parentId !== null && row.parentId !== row.id,
    });
    if (open && kids && depth < 50) for (const k of kids) visit(k, depth + 1);
  };
  for (const r of tree.roots) visit(r, 0);
  return out;
}

// ---------------------------------------------------------------------------------- selection

/** The selection after clicking row `index`'s checkbox: a plain click toggles the row; a
 *  shift-click sets the range from the anchor (the last plainly clicked row) to `index` to the
 *  anchor's state. */
export function clickSelect(
  selected: ReadonlySet<string>,
  ids: readonly string[],
  index: number,
  anchor: number | null,
  shift: boolean,
): Set<string> {
  const next = new Set(selected);
  const id = ids[index];
  if (id === undefined) return next;
  if (shift && anchor !== null && ids[anchor] !== undefined) {
    const on = selected.has(ids[anchor] ?? "");
    const [a, b] = anchor < index ? [anchor, index] : [index, anchor];
    for (let i = a; i <= b; i += 1) {
      const each = ids[i];
      if (each === undefined) continue;
      if (on) next.add(each);
      else next.delete(each);
    }
    return next;
  }
  if (next.has(id)) next.delete(id);
  else next.add(id);
  return next;
}

/** The union of the metric keys of some runs, sorted. */
export function metricKeysOf(rows: Iterable<RunRow>): string[] {
  const keys = new Set<string>();
  for (const r of rows) for (const k of r.metrics.keys()) keys.add(k);
  return [...keys].sort(byName);
}

/** `name@digest` with the digest cut to 8 characters. */
export function datasetLabel(d: DatasetChip): string {
  return d.digest ? `${d.name}@${d.digest.slice(0, 8)}` : d.name;
}

/** The last part of a source path (`/home/me/train.py` -> `train.py`). */
export function sourceLabel(source: string): string {
  const trimmed = source.replace(/[/\\]+$/, "");
  const i = Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\"));
  return i >= 0 ? trimmed.slice(i + 1) : trimmed;
}
