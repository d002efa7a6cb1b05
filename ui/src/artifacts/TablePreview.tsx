// CSV / TSV as a table: a sticky header, rows virtualised (a file of 100,000 rows scrolls), column
// widths from the first rows' contents.
import { useMemo, useRef } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { parseDelimited } from "./delimited";

const ROW_HEIGHT = 26;

export function TablePreview({ text, delimiter, truncated }: { text: string; delimiter: string; truncated: boolean }) {
  const table = useMemo(() => parseDelimited(text, delimiter, truncated), [text, delimiter, truncated]);
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: table.rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 20,
    initialRect: { width: 800, height: 600 },
  });
  const template = useMemo(() => {
    const widths: number[] = [];
    const sample = [table.header, ...table.rows.slice(0, 200)];
    for (let c = 0; c < table.columns; c += 1) {
      let w = 4;
      for (const row of sample) w = Math.max(w, Math.min(40, (row[c] ?? "").length + 2));
      widths.push(w);
    }
    return `4.5em ${widths.map((w) => `${w}ch`).join(" ")}`;
  }, [table]);
  const columns = Array.from({ length: table.columns }, (_, i) => i);
  return (
    <div>
      <div className="muted table-summary">
        {table.rows.length.toLocaleString()} rows × {table.columns} columns{truncated ? " (first part of the file)" : ""}
      </div>
      <div
        className="table-preview"
        ref={scroller}
        role="table"
        aria-label="Table preview"
        aria-rowcount={table.rows.length + 1}
      >
        <div className="table-row table-head" role="row" style={{ gridTemplateColumns: template }}>
          <span className="table-cell row-no" role="columnheader">
            #
          </span>
          {columns.map((c) => (
            <span key={c} className="table-cell" role="columnheader" title={table.header[c]}>
              {table.header[c] ?? ""}
            </span>
          ))}
        </div>
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {virtualizer.getVirtualItems().map((item) => {
            const row = table.rows[item.index] ?? [];
            return (
              <div
                key={item.index}
                className="table-row"
                role="row"
                style={{ gridTemplateColumns: template, transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
              >
                <span className="table-cell row-no">{item.index + 1}</span>
                {columns.map((c) => (
                  <span key={c} className="table-cell" role="cell" title={row[c]}>
                    {row[c] ?? ""}
                  </span>
                ))}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
