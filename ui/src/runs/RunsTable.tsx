// The runs table: TanStack Table for the columns (headers, sizes, resizing; sorting is done by
// the server, so the header only shows and sets the order), TanStack Virtual for the rows (only
// the rows in view are in the DOM, 10,000 runs scroll like 10). Rows are memoised components of
// the normalised run (no per-row work beyond their cells); the column widths reach them as a CSS
// grid template on the container, so resizing a column re-renders no row.
import { memo, useEffect, useMemo, useRef, useState, type CSSProperties, type MouseEvent } from "react";
import { getCoreRowModel, useReactTable, type ColumnDef, type ColumnSizingState } from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { href } from "../routing/route";
import { cellContent } from "./cells";
import { columnLabel, columnWidth, sortable, type ColumnSpec, type Sort } from "./columns";
import type { FlatRow, RunRow } from "./runData";
import "./runs.css";

export const ROW_HEIGHT = 32;
const CHECK_WIDTH = 36;
/** Start fetching the next page when the last rendered row is this close to the end. */
const PREFETCH_ROWS = 400;

export interface RunsTableProps {
  experimentId: string;
  flat: FlatRow[];
  columns: ColumnSpec[];
  sort: Sort | null;
  onSort: (columnId: string) => void;
  /** The column the filter's error is about: its header is marked. */
  badColumn: string | null;
  selected: ReadonlySet<string>;
  onCheck: (index: number, shift: boolean) => void;
  onCheckAll: (on: boolean) => void;
  onToggle: (runId: string) => void;
  hasMore: boolean;
  loading: boolean;
  onNearEnd: () => void;
}

interface RowProps {
  row: RunRow;
  index: number;
  depth: number;
  childCount: number;
  expanded: boolean;
  orphan: boolean;
  selected: boolean;
  start: number;
  columns: ColumnSpec[];
  experimentId: string;
  onCheck: (index: number, shift: boolean) => void;
  onToggle: (runId: string) => void;
}

function NameCell({ row, depth, childCount, expanded, orphan, experimentId, onToggle }: Omit<RowProps, "index" | "selected" | "start" | "columns" | "onCheck">) {
  return (
    <div className="cell name-cell" role="cell" style={{ paddingLeft: 6 + depth * 18 }} title={row.name || row.id}>
      {childCount > 0 ? (
        <button
          type="button"
          className="expander"
          aria-expanded={expanded}
          aria-label={`${expanded ? "Collapse" : "Expand"} ${childCount} child run${childCount === 1 ? "" : "s"}`}
          onClick={() => onToggle(row.id)}
        >
          {expanded ? "▾" : "▸"}
        </button>
      ) : (
        <span className="expander-space">{depth > 0 ? "↳" : ""}</span>
      )}
      <a href={href.run(experimentId, row.id)}>{row.name || row.id}</a>
      {childCount > 0 && <span className="child-count">{childCount}</span>}
      {orphan && (
        <span className="muted orphan" title={`Child of run ${row.parentId} (not loaded)`}>
          child
        </span>
      )}
    </div>
  );
}

const Row = memo(function Row(props: RowProps) {
  const { row, index, selected, start, columns, onCheck } = props;
  const style: CSSProperties = { transform: `translateY(${start}px)` };
  return (
    <div
      className={`runs-row${selected ? " selected" : ""}${index % 2 ? " odd" : ""}`}
      style={style}
      role="row"
      aria-rowindex={index + 2}
      data-run-id={row.id}
    >
      <div className="cell check-cell" role="cell">
        <input
          type="checkbox"
          aria-label={`Select ${row.name || row.id}`}
          checked={selected}
          onMouseDown={(e) => {
            if (e.shiftKey) e.preventDefault(); // no text selection on shift-click
          }}
          onClick={(e: MouseEvent<HTMLInputElement>) => onCheck(index, e.shiftKey)}
          onChange={() => undefined}
        />
      </div>
      {columns.map((spec) => {
        if (spec.kind === "attribute" && spec.key === "name") return <NameCell key={spec.id} {...props} />;
        const c = cellContent(spec, row);
        return (
          <div key={spec.id} className={`cell${c.numeric ? " num" : ""}`} title={c.title} role="cell">
            {c.node}
          </div>
        );
      })}
    </div>
  );
});

export function RunsTable(props: RunsTableProps) {
  const { flat, columns, sort, onSort, badColumn, selected, hasMore, loading, onNearEnd } = props;
  const [sizing, setSizing] = useState<ColumnSizingState>({});
  const defs = useMemo<ColumnDef<FlatRow>[]>(
    () => columns.map((spec) => ({ id: spec.id, header: columnLabel(spec), size: columnWidth(spec), minSize: 48, maxSize: 800 })),
    [columns],
  );
  const table = useReactTable({
    data: flat,
    columns: defs,
    getCoreRowModel: getCoreRowModel(),
    getRowId: (r) => r.row.id,
    manualSorting: true,
    enableColumnResizing: true,
    columnResizeMode: "onChange",
    state: { columnSizing: sizing },
    onColumnSizingChange: setSizing,
  });
  const headers = table.getFlatHeaders();
  const widths = headers.map((h) => h.getSize());
  const template = `${CHECK_WIDTH}px ${widths.map((w) => `${w}px`).join(" ")}`;
  const totalWidth = CHECK_WIDTH + widths.reduce((a, b) => a + b, 0);

  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: flat.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.length > 0 ? (items[items.length - 1]?.index ?? 0) : -1;
  useEffect(() => {
    if (hasMore && !loading && lastIndex >= flat.length - PREFETCH_ROWS) onNearEnd();
  }, [lastIndex, flat.length, hasMore, loading, onNearEnd]);

  const selectedShown = flat.reduce((n, f) => n + (selected.has(f.row.id) ? 1 : 0), 0);
  const allChecked = flat.length > 0 && selectedShown === flat.length;

  return (
    <div
      className={`runs-table${columns[0]?.id === "name" ? " name-first" : ""}`}
      ref={scroller}
      role="table"
      aria-label="Runs"
      aria-rowcount={flat.length + 1}
      style={{ "--runs-cols": template } as CSSProperties}
    >
      <div className="runs-head" role="row" style={{ width: totalWidth }}>
        <div className="cell check-cell" role="columnheader">
          <input
            type="checkbox"
            aria-label="Select all loaded runs"
            checked={allChecked}
            ref={(el) => {
              if (el) el.indeterminate = selectedShown > 0 && !allChecked;
            }}
            onChange={(e) => props.onCheckAll(e.target.checked)}
          />
        </div>
        {headers.map((h, i) => {
          const spec = columns[i];
          if (!spec) return null;
          const canSort = sortable(spec.id);
          const sorted = sort?.column === spec.id ? (sort.ascending ? "ascending" : "descending") : "none";
          const bad = badColumn === spec.id;
          return (
            <div
              key={h.id}
              role="columnheader"
              aria-sort={sorted}
              data-column={spec.id}
              className={`cell head-cell kind-${spec.kind}${bad ? " offending" : ""}${sorted !== "none" ? " sorted" : ""}`}
              title={bad ? `The filter's error is about ${spec.id}` : spec.kind === "attribute" ? undefined : spec.id}
            >
              {canSort ? (
                <button type="button" className="sort-button" onClick={() => onSort(spec.id)}>
                  <span className="head-label">{columnLabel(spec)}</span>
                  <span className="sort-mark" aria-hidden="true">
                    {sorted === "ascending" ? "▲" : sorted === "descending" ? "▼" : ""}
                  </span>
                </button>
              ) : (
                <span className="head-label">{columnLabel(spec)}</span>
              )}
              <span
                className={`resizer${h.column.getIsResizing() ? " resizing" : ""}`}
                onMouseDown={h.getResizeHandler()}
                onTouchStart={h.getResizeHandler()}
                onDoubleClick={() => h.column.resetSize()}
                role="separator"
                aria-label={`Resize ${columnLabel(spec)}`}
              />
            </div>
          );
        })}
      </div>
      <div className="runs-body" style={{ height: virtualizer.getTotalSize(), width: totalWidth }} role="rowgroup">
        {items.map((v) => {
          const f = flat[v.index];
          if (!f) return null;
          return (
            <Row
              key={f.row.id}
              row={f.row}
              index={v.index}
              depth={f.depth}
              childCount={f.childCount}
              expanded={f.expanded}
              orphan={f.orphan}
              selected={selected.has(f.row.id)}
              start={v.start}
              columns={columns}
              experimentId={props.experimentId}
              onCheck={props.onCheck}
              onToggle={props.onToggle}
            />
          );
        })}
      </div>
      {flat.length === 0 && !loading && <div className="empty runs-empty">No runs match.</div>}
    </div>
  );
}
