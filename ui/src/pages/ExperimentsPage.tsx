// The experiments list: search in MLflow's filter language (the server's error inline under the
// box), sorting by name or last update, create / rename / delete and restore in dialogs. In a
// `path` workspace (names like `/Shared/team/exp`) the list is a tree of collapsible folders.
// Filter, order and "show deleted" live in the URL's hash query.
import { useCallback, useEffect, useMemo, useState } from "react";
import { ApiError } from "../api/client";
import { restoreExperiment, searchExperiments, type ViewType } from "../api/mlflow";
import type { Experiment } from "../api/types";
import { formatTime } from "../components/format";
import { ErrorBanner, Loading } from "../components/status";
import { CreateDialog, DeleteDialog, RenameDialog } from "../experiments/dialogs";
import { allFolderPaths, buildFolders, flattenFolders, folderPrefix, type Folder, type TreeRow } from "../experiments/folderTree";
import { href, replaceQuery } from "../routing/route";
import { withParam } from "../runs/columns";
import { FilterBox } from "../runs/FilterBox";
import { locateError } from "../runs/filterSyntax";
import { useSession } from "../shell/session";
import "../experiments/experiments.css";

const DEFAULT_ORDER = "last_update_time DESC";
const PAGE = 1000;

type SortField = "name" | "last_update_time" | "creation_time";

function parseSort(order: string): { field: SortField; ascending: boolean } {
  const m = /^(name|last_update_time|creation_time)\s*(ASC|DESC)?$/i.exec(order.trim());
  if (!m) return { field: "last_update_time", ascending: false };
  return { field: (m[1] ?? "name").toLowerCase() as SortField, ascending: (m[2] ?? "ASC").toUpperCase() === "ASC" };
}

type Dialog =
  | { kind: "create"; initial: string }
  | { kind: "rename"; experiment: Experiment }
  | { kind: "delete"; experiment: Experiment }
  | null;

export function ExperimentsPage({ query }: { query: URLSearchParams }) {
  const session = useSession();
  const pathNaming = session.current?.naming === "path";
  const filter = query.get("filter") ?? "";
  const order = query.get("order") ?? DEFAULT_ORDER;
  const deleted = query.get("deleted") === "1";
  const viewType: ViewType = deleted ? "DELETED_ONLY" : "ACTIVE_ONLY";
  const sort = parseSort(order);

  const [items, setItems] = useState<Experiment[] | null>(null);
  const [token, setToken] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [reload, setReload] = useState(0);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [fresh, setFresh] = useState<string | null>(null);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());

  useEffect(() => {
    const abort = new AbortController();
    setError(null);
    searchExperiments({ filter, orderBy: [order], viewType, maxResults: PAGE, signal: abort.signal }).then(
      (p) => {
        setItems(p.items);
        setToken(p.nextPageToken || null);
      },
      (e: unknown) => {
        if (abort.signal.aborted) return;
        setError(e);
        setItems([]);
        setToken(null);
      },
    );
    return () => abort.abort();
  }, [filter, order, viewType, reload]);

  const loadMore = () => {
    if (!token) return;
    searchExperiments({ filter, orderBy: [order], viewType, maxResults: PAGE, pageToken: token }).then(
      (p) => {
        setItems((prev) => [...(prev ?? []), ...p.items]);
        setToken(p.nextPageToken || null);
      },
      setError,
    );
  };

  const setQuery = (next: URLSearchParams) => replaceQuery(next);
  const onSort = (field: SortField) => {
    const ascending = sort.field === field ? !sort.ascending : field === "name";
    setQuery(withParam(query, "order", `${field} ${ascending ? "ASC" : "DESC"}`, DEFAULT_ORDER));
  };
  const done = useCallback(() => {
    setDialog(null);
    setReload((n) => n + 1);
  }, []);
  const restore = (e: Experiment) => {
    setActionError(null);
    restoreExperiment(e.experiment_id).then(done, setActionError);
  };

  const filterError = error instanceof ApiError && error.errorCode === "INVALID_PARAMETER_VALUE" && filter !== "" ? error : null;
  const problem = filterError ? locateError(filter, filterError.message) : null;

  const tree = useMemo(
    () => (pathNaming && items ? buildFolders(items, sort.field !== "name", !sort.ascending) : null),
    [pathNaming, items, sort.field, sort.ascending],
  );
  // While searching, every folder is open (the matches are what the user looks for).
  const rows: TreeRow[] | null = useMemo(() => {
    if (!items) return null;
    if (tree) return flattenFolders(tree, filter ? new Set() : collapsed);
    return items.map((experiment) => ({ kind: "experiment", experiment, depth: 0, leaf: experiment.name }));
  }, [items, tree, collapsed, filter]);

  const toggleFolder = (path: string) =>
    setCollapsed((prev) => {
      const next = new Set(prev);
      if (next.has(path)) next.delete(path);
      else next.add(path);
      return next;
    });

  const sortHeader = (field: SortField, label: string) => {
    const active = sort.field === field;
    return (
      <th aria-sort={active ? (sort.ascending ? "ascending" : "descending") : "none"}>
        <button type="button" className="sort-button" onClick={() => onSort(field)}>
          {label}
          <span className="sort-mark" aria-hidden="true">
            {active ? (sort.ascending ? "▲" : "▼") : ""}
          </span>
        </button>
      </th>
    );
  };

  const actions = (e: Experiment) =>
    deleted ? (
      <button type="button" onClick={() => restore(e)}>
        Restore
      </button>
    ) : (
      <>
        <button type="button" onClick={() => setDialog({ kind: "rename", experiment: e })} aria-label={`Rename ${e.name}`}>
          Rename
        </button>
        <button type="button" className="danger" onClick={() => setDialog({ kind: "delete", experiment: e })} aria-label={`Delete ${e.name}`}>
          Delete
        </button>
      </>
    );

  const folderRow = (f: Folder, depth: number, open: boolean) => (
    <tr key={`f:${f.path}`} className="folder-row" data-folder={f.path}>
      <td colSpan={2} style={{ paddingLeft: 8 + depth * 20 }}>
        <button type="button" className="folder-toggle" aria-expanded={open} onClick={() => toggleFolder(f.path)}>
          <span className="folder-caret" aria-hidden="true">
            {open ? "▾" : "▸"}
          </span>
          <span className={`folder-icon${open ? " open" : ""}`} aria-hidden="true" />
          {f.name}
        </button>
        <span className="muted folder-count" title={`${f.count} experiment${f.count === 1 ? "" : "s"}`}>
          {f.count}
        </span>
      </td>
      <td className="muted">{f.lastUpdate ? formatTime(f.lastUpdate) : ""}</td>
      <td />
      <td className="actions">
        {!deleted && (
          <button type="button" onClick={() => setDialog({ kind: "create", initial: folderPrefix(f) })} title={`New experiment in /${f.path}/`}>
            New here
          </button>
        )}
      </td>
    </tr>
  );

  return (
    <div className="experiments-page">
      <div className="experiments-head">
        <h1>{deleted ? "Deleted experiments" : "Experiments"}</h1>
        {!deleted && (
          <button type="button" className="primary" onClick={() => setDialog({ kind: "create", initial: pathNaming ? "/Shared/" : "" })}>
            New experiment
          </button>
        )}
      </div>
      <FilterBox
        label="Search experiments"
        placeholder="name LIKE '%bert%' AND tags.team = 'nlp'"
        value={filter}
        onApply={(text) => setQuery(withParam(query, "filter", text))}
        error={filterError ? { code: filterError.errorCode, message: filterError.message } : null}
        mark={problem ? { start: problem.start, end: problem.end } : null}
      >
        <label className="show-deleted">
          <input type="checkbox" checked={deleted} onChange={(e) => setQuery(withParam(query, "deleted", e.target.checked ? "1" : ""))} /> Show deleted
        </label>
        {tree && !filter && (
          <span className="tree-buttons">
            <button type="button" onClick={() => setCollapsed(new Set())}>
              Expand all
            </button>
            <button type="button" onClick={() => setCollapsed(new Set(allFolderPaths(tree)))}>
              Collapse all
            </button>
          </span>
        )}
      </FilterBox>
      {error !== null && !filterError && <ErrorBanner error={error} />}
      <ErrorBanner error={actionError} />
      {rows === null || !session.loaded ? (
        <Loading what="experiments" />
      ) : (
        <>
          <table className={`experiments-table${tree ? " tree" : ""}`}>
            <thead>
              <tr>
                {sortHeader("name", "Name")}
                <th>ID</th>
                {sortHeader("last_update_time", "Last update")}
                {sortHeader("creation_time", "Created")}
                <th className="actions" aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {rows.map((r) =>
                r.kind === "folder" ? (
                  folderRow(r.folder, r.depth, r.open)
                ) : (
                  <tr key={r.experiment.experiment_id} className={fresh === r.experiment.experiment_id ? "fresh" : undefined} data-experiment-id={r.experiment.experiment_id}>
                    <td style={tree ? { paddingLeft: 8 + r.depth * 20 + 22 } : undefined} title={r.experiment.name}>
                      {deleted ? <span>{tree ? r.leaf : r.experiment.name}</span> : <a href={href.experiment(r.experiment.experiment_id)}>{tree ? r.leaf : r.experiment.name}</a>}
                    </td>
                    <td className="mono muted">{r.experiment.experiment_id}</td>
                    <td>{formatTime(r.experiment.last_update_time)}</td>
                    <td>{formatTime(r.experiment.creation_time)}</td>
                    <td className="actions">{actions(r.experiment)}</td>
                  </tr>
                ),
              )}
            </tbody>
          </table>
          {rows.length === 0 && !error && <div className="empty">{filter ? "No experiment matches the search." : deleted ? "No deleted experiments." : "No experiments yet."}</div>}
          <div className="muted list-foot">
            {items?.length ?? 0} experiment{items?.length === 1 ? "" : "s"}
            {token && (
              <button type="button" onClick={loadMore}>
                Load more
              </button>
            )}
          </div>
        </>
      )}
      {dialog?.kind === "create" && (
        <CreateDialog
          initial={dialog.initial}
          pathNaming={pathNaming}
          onClose={() => setDialog(null)}
          onDone={(id) => {
            setFresh(id);
            done();
          }}
        />
      )}
      {dialog?.kind === "rename" && <RenameDialog experiment={dialog.experiment} onClose={() => setDialog(null)} onDone={done} />}
      {dialog?.kind === "delete" && <DeleteDialog experiment={dialog.experiment} onClose={() => setDialog(null)} onDone={done} />}
    </div>
  );
}
