// An experiment's runs: the filter box, the column picker, the virtualised runs table (server-side
// paging and sorting, nested runs under their parents, multi-select) and the chart view of the
// selected runs. The view (filter, order, columns, table or chart) lives in the URL's hash query,
// so a copied link opens the same view.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ApiError } from "../api/client";
import { getExperiment } from "../api/mlflow";
import { deleteRun, eachLimited } from "../api/runsApi";
import type { Experiment } from "../api/types";
import { ChartGrid, type ChartRun } from "../charts/ChartGrid";
import { ErrorBanner, Loading } from "../components/status";
import { Modal } from "../experiments/Modal";
import { href, replaceQuery } from "../routing/route";
import { ColumnPicker } from "../runs/ColumnPicker";
import {
  columnsFromQuery,
  DEFAULT_ORDER,
  effectiveColumns,
  FILTER_PARAM,
  nextOrder,
  ORDER_PARAM,
  parseColumnId,
  parseOrder,
  toggleColumn,
  VIEW_PARAM,
  withColumns,
  withParam,
  type ColumnSpec,
} from "../runs/columns";
import { FilterBox, type FilterMark } from "../runs/FilterBox";
import { locateError, unknownKeyTerms } from "../runs/filterSyntax";
import { buildTree, clickSelect, flatten, metricKeysOf, type RunRow } from "../runs/runData";
import { RunsTable } from "../runs/RunsTable";
import { useRuns } from "../runs/useRuns";
import "../runs/runs.css";

/** Runs charted when none is selected (the first ones shown). */
const CHART_DEFAULT_RUNS = 10;

type View = "table" | "chart";

function isFilterError(e: unknown, filter: string): e is ApiError {
  return (
    e instanceof ApiError &&
    e.errorCode === "INVALID_PARAMETER_VALUE" &&
    filter !== "" &&
    !/order_by|order by/i.test(e.message)
  );
}

export function ExperimentPage({ experimentId, query }: { experimentId: string; query: URLSearchParams }) {
  const filter = query.get(FILTER_PARAM) ?? "";
  const order = query.get(ORDER_PARAM) ?? DEFAULT_ORDER;
  const urlColumns = useMemo(() => columnsFromQuery(query), [query]);
  const view: View = query.get(VIEW_PARAM) === "chart" ? "chart" : "table";

  // The runs first: its request goes out before the experiment's (effects run in order).
  const runs = useRuns(experimentId, filter, order);
  const markedFirstRows = useRef(false);
  useEffect(() => {
    // For measuring: the first rows are in the DOM (the benchmark reads this mark).
    if (!markedFirstRows.current && runs.rows.length > 0) {
      markedFirstRows.current = true;
      performance.mark("runyard:runs:first-rows");
    }
  }, [runs.rows.length]);

  const [experiment, setExperiment] = useState<Experiment | null>(null);
  const [experimentError, setExperimentError] = useState<unknown>(null);
  useEffect(() => {
    const abort = new AbortController();
    getExperiment(experimentId, abort.signal).then(setExperiment, (e: unknown) => {
      if (!abort.signal.aborted) setExperimentError(e);
    });
    return () => abort.abort();
  }, [experimentId]);

  // Columns: the URL's, else the defaults for the keys of the first page.
  const defaultKeys = runs.firstKeys ?? runs.keys;
  const columnIds = useMemo(() => effectiveColumns(urlColumns, defaultKeys), [urlColumns, defaultKeys]);
  const columnKey = columnIds.join("\u0000");
  const specs = useMemo<ColumnSpec[]>(() => columnIds.map(parseColumnId).filter((s): s is ColumnSpec => s !== null), [columnKey]);

  const setQuery = useCallback((next: URLSearchParams) => replaceQuery(next), []);
  const setColumns = (cols: string[] | null) => setQuery(withColumns(query, cols));

  // Nesting and the rows shown.
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const tree = useMemo(() => buildTree(runs.rows), [runs.rows]);
  const flat = useMemo(() => flatten(tree, expanded), [tree, expanded]);
  const onToggle = useCallback((id: string) => {
    setExpanded((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }, []);

  // Selection (not in the URL), with shift-click ranges over the rows shown.
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const anchor = useRef<number | null>(null);
  const flatRef = useRef(flat);
  flatRef.current = flat;
  const onCheck = useCallback((index: number, shift: boolean) => {
    const ids = flatRef.current.map((f) => f.row.id);
    setSelected((prev) => clickSelect(prev, ids, index, anchor.current, shift));
    if (!shift || anchor.current === null) anchor.current = index;
  }, []);
  const onCheckAll = useCallback((on: boolean) => {
    setSelected(on ? new Set(flatRef.current.map((f) => f.row.id)) : new Set());
    anchor.current = null;
  }, []);
  const selectedRows = useMemo(() => runs.rows.filter((r) => selected.has(r.id)), [runs.rows, selected]);

  // The filter's error, where it points, and the column it is about.
  const filterError = isFilterError(runs.error, filter) ? runs.error : null;
  const problem = useMemo(() => (filterError ? locateError(filter, filterError.message) : null), [filterError, filter]);
  const unknown = useMemo(() => {
    if (!filter || !runs.ready || runs.error || runs.rows.length > 0) return [];
    return unknownKeyTerms(filter, runs.knownKeys);
  }, [filter, runs.ready, runs.error, runs.rows.length, runs.knownKeys]);
  const firstUnknown = unknown[0];
  const warning = firstUnknown
    ? `No run loaded so far has ${firstUnknown.entity} '${firstUnknown.key}' — check the key (the filter matches no run).`
    : null;
  const mark: FilterMark | null = problem
    ? { start: problem.start, end: problem.end }
    : firstUnknown
      ? { start: firstUnknown.identStart, end: firstUnknown.identEnd }
      : null;
  const otherError = runs.error && !filterError ? runs.error : null;
  const orderError = otherError instanceof ApiError && otherError.errorCode === "INVALID_PARAMETER_VALUE" && order !== DEFAULT_ORDER;

  const sort = parseOrder(order);
  const onSort = useCallback(
    (id: string) => {
      const clause = nextOrder(order, id);
      if (clause) setQuery(withParam(query, ORDER_PARAM, clause, DEFAULT_ORDER));
    },
    [order, query, setQuery],
  );

  // Deleting the selected runs.
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState<unknown>(null);
  const doDelete = async () => {
    setDeleting(true);
    setDeleteError(null);
    const ids = selectedRows.map((r) => r.id);
    const errors = await eachLimited(ids, 6, deleteRun);
    const done = new Set(ids.filter((id) => !errors.has(id)));
    runs.remove(done);
    setSelected((prev) => new Set([...prev].filter((id) => !done.has(id))));
    setDeleting(false);
    if (errors.size > 0) {
      const first = errors.values().next().value;
      setDeleteError(first instanceof ApiError ? new ApiError(first.status, first.errorCode, `${errors.size} of ${ids.length} runs not deleted: ${first.message}`) : first);
    } else {
      setConfirmDelete(false);
    }
  };

  // The chart view: the selected runs, else the first ones shown.
  const chartRows: RunRow[] = useMemo(
    () => (selectedRows.length > 0 ? selectedRows : flat.slice(0, CHART_DEFAULT_RUNS).map((f) => f.row)),
    [selectedRows, flat],
  );
  const chartRuns: ChartRun[] = useMemo(
    () => chartRows.map((r) => ({ runId: r.id, label: r.name || r.id, running: r.status === "RUNNING" })),
    [chartRows],
  );
  const chartKeys = useMemo(() => metricKeysOf(chartRows), [chartRows]);
  const setView = (v: View) => setQuery(withParam(query, VIEW_PARAM, v, "table"));

  if (experimentError) return <ErrorBanner error={experimentError} />;
  const loaded = runs.rows.length;
  return (
    <div className={`runs-page view-${view}`}>
      <div className="runs-title">
        <a href={href.experiments()} className="muted">
          Experiments
        </a>
        <span className="muted"> / </span>
        <h1>{experiment ? experiment.name : `Experiment ${experimentId}`}</h1>
        <span className="muted mono">ID {experimentId}</span>
      </div>
      <div className="runs-toolbar">
        <FilterBox
          label="Filter runs"
          placeholder="metrics.loss < 0.5 AND params.optimizer = 'adam'"
          value={filter}
          onApply={(text) => setQuery(withParam(query, FILTER_PARAM, text))}
          error={filterError ? { code: filterError.errorCode, message: filterError.message } : null}
          warning={warning}
          mark={mark}
          fix={problem?.fix ?? null}
          errorExtra={
            problem?.column && !columnIds.includes(problem.column) && parseColumnId(problem.column) ? (
              <button type="button" className="link-button" onClick={() => setColumns(toggleColumn(columnIds, problem.column ?? ""))}>
                Show the column {problem.column}
              </button>
            ) : null
          }
        >
          <ColumnPicker
            columns={columnIds}
            keys={runs.keys}
            onChange={(cols) => setColumns(cols)}
            onReset={() => setColumns(null)}
            isDefault={urlColumns === null}
          />
          <div className="view-switch" role="group" aria-label="View">
            <button type="button" aria-pressed={view === "table"} onClick={() => setView("table")}>
              Table
            </button>
            <button type="button" aria-pressed={view === "chart"} onClick={() => setView("chart")}>
              Chart
            </button>
          </div>
        </FilterBox>
      </div>
      <div className="runs-status-bar">
        <span className="runs-count" aria-live="polite">
          {runs.ready ? (
            <>
              {loaded.toLocaleString()} run{loaded === 1 ? "" : "s"} loaded
              {runs.nextToken ? " · more on scroll" : " · all"}
              {runs.loading && " · loading…"}
            </>
          ) : (
            "Loading runs…"
          )}
        </span>
        {selected.size > 0 && (
          <span className="selection-actions">
            <strong>{selectedRows.length} selected</strong>
            <button type="button" className="primary" onClick={() => setView("chart")} disabled={view === "chart"}>
              Chart selected
            </button>
            <button type="button" className="danger" onClick={() => setConfirmDelete(true)} disabled={selectedRows.length === 0}>
              Delete selected
            </button>
            <button type="button" onClick={() => onCheckAll(false)}>
              Clear selection
            </button>
          </span>
        )}
      </div>
      {otherError && (
        <div>
          <ErrorBanner error={otherError} />
          {orderError && (
            <button type="button" onClick={() => setQuery(withParam(query, ORDER_PARAM, DEFAULT_ORDER, DEFAULT_ORDER))}>
              Sort by start time instead
            </button>
          )}
        </div>
      )}
      {view === "chart" ? (
        <div className="runs-chart-view">
          <p className="muted">
            {selectedRows.length > 0
              ? `Charting the ${selectedRows.length} selected run${selectedRows.length === 1 ? "" : "s"}: ${chartKeys.length} metric key${chartKeys.length === 1 ? "" : "s"}.`
              : `No run selected: charting the first ${chartRuns.length} runs shown (select runs in the table to chart them).`}
          </p>
          <div className="chart-runs">
            {chartRows.slice(0, 40).map((r) => (
              <a key={r.id} className="chip" href={href.run(experimentId, r.id)}>
                {r.name || r.id}
              </a>
            ))}
            {chartRows.length > 40 && <span className="muted">and {chartRows.length - 40} more</span>}
          </div>
          {!runs.ready ? <Loading what="runs" /> : <ChartGrid runs={chartRuns} metricKeys={chartKeys} />}
        </div>
      ) : !runs.ready && runs.rows.length === 0 && !runs.error ? (
        <Loading what="runs" />
      ) : (
        <RunsTable
          experimentId={experimentId}
          flat={flat}
          columns={specs}
          sort={sort}
          onSort={onSort}
          badColumn={problem?.column ?? null}
          selected={selected}
          onCheck={onCheck}
          onCheckAll={onCheckAll}
          onToggle={onToggle}
          hasMore={runs.nextToken !== null}
          loading={runs.loading}
          onNearEnd={runs.loadMore}
        />
      )}
      {confirmDelete && (
        <Modal
          title={`Delete ${selectedRows.length} run${selectedRows.length === 1 ? "" : "s"}?`}
          submitLabel="Delete"
          danger
          busy={deleting}
          error={deleteError}
          onClose={() => {
            setConfirmDelete(false);
            setDeleteError(null);
          }}
          onSubmit={() => void doDelete()}
        >
          <p>The runs move to the deleted runs (they can be restored until the server purges them):</p>
          <ul className="delete-list">
            {selectedRows.slice(0, 8).map((r) => (
              <li key={r.id}>{r.name || r.id}</li>
            ))}
            {selectedRows.length > 8 && <li className="muted">and {selectedRows.length - 8} more</li>}
          </ul>
        </Modal>
      )}
    </div>
  );
}
