// The folder tree of a `path` workspace, pure: experiment names such as `/Shared/team/exp` are
// split at `/` into folders (`Shared`, `Shared/team`) holding experiments; the tree is flattened
// into rows for the list, with collapsed folders hiding what is inside them.
import type { Experiment } from "../api/types";

export interface Folder {
  /** The folder's path without the leading slash (`Shared/team`); "" for the root. */
  path: string;
  name: string;
  folders: Folder[];
  experiments: Experiment[];
  /** Experiments in this folder and below. */
  count: number;
  /** The latest last_update_time in this folder and below. */
  lastUpdate: number;
}

function segmentsOf(name: string): string[] {
  return name.split("/").filter((s) => s.length > 0);
}

/** The tree of `experiments` (kept in the given order within each folder). Sub-folders are
 *  ordered by name, or by their latest update when `byUpdate` (newest first). */
export function buildFolders(experiments: readonly Experiment[], byUpdate = false, descending = false): Folder {
  const root: Folder = { path: "", name: "", folders: [], experiments: [], count: 0, lastUpdate: 0 };
  const index = new Map<string, Folder>([["", root]]);
  for (const e of experiments) {
    const parts = segmentsOf(e.name);
    let folder = root;
    let path = "";
    for (const part of parts.slice(0, -1)) {
      path = path ? `${path}/${part}` : part;
      let next = index.get(path);
      if (!next) {
        next = { path, name: part, folders: [], experiments: [], count: 0, lastUpdate: 0 };
        index.set(path, next);
        folder.folders.push(next);
      }
      folder = next;
    }
    folder.experiments.push(e);
  }
  const finish = (f: Folder): void => {
    for (const sub of f.folders) finish(sub);
    f.count = f.experiments.length + f.folders.reduce((n, s) => n + s.count, 0);
    f.lastUpdate = Math.max(
      0,
      ...f.experiments.map((e) => Number(e.last_update_time ?? 0)),
      ...f.folders.map((s) => s.lastUpdate),
    );
    f.folders.sort((a, b) => {
      const d = byUpdate ? a.lastUpdate - b.lastUpdate : a.name.localeCompare(b.name, undefined, { numeric: true });
      return descending ? -d : d;
    });
  };
  finish(root);
  return root;
}

export type TreeRow =
  | { kind: "folder"; folder: Folder; depth: number; open: boolean }
  | { kind: "experiment"; experiment: Experiment; depth: number; leaf: string };

/** The rows shown: folders first, then the folder's experiments; a collapsed folder's content is
 *  left out. */
export function flattenFolders(root: Folder, collapsed: ReadonlySet<string>): TreeRow[] {
  const out: TreeRow[] = [];
  const visit = (f: Folder, depth: number) => {
    for (const sub of f.folders) {
      const open = !collapsed.has(sub.path);
      out.push({ kind: "folder", folder: sub, depth, open });
      if (open) visit(sub, depth + 1);
    }
    for (const e of f.experiments) {
      const parts = segmentsOf(e.name);
      out.push({ kind: "experiment", experiment: e, depth, leaf: parts[parts.length - 1] ?? e.name });
    }
  };
  visit(root, 0);
  return out;
}

/** The folder path (with slashes, `/Shared/team/`) a new experiment in `folder` starts with. */
export function folderPrefix(folder: Folder | null): string {
  return folder && folder.path ? `/${folder.path}/` : "/";
}

/** Every folder path, for "collapse all". */
export function allFolderPaths(root: Folder): string[] {
  const out: string[] = [];
  const visit = (f: Folder) => {
    for (const sub of f.folders) {
      out.push(sub.path);
      visit(sub);
    }
  };
  visit(root);
  return out;
}
