// The column picker: the columns shown (reorder, remove), and every attribute, metric (latest
// value), param and tag key seen in the loaded runs to add, with a search over the keys. Every
// change goes through `onChange` (the page writes it into the URL).
import { useEffect, useMemo, useRef, useState } from "react";
import {
  ATTRIBUTE_COLUMNS,
  columnId,
  columnLabel,
  moveColumn,
  parseColumnId,
  toggleColumn,
  type ColumnKind,
} from "./columns";
import type { KeyListsSnapshot } from "./useRuns";
import "./runs.css";

const SECTION_LIMIT = 300;

export interface ColumnPickerProps {
  columns: string[];
  keys: KeyListsSnapshot;
  onChange: (columns: string[]) => void;
  onReset: () => void;
  isDefault: boolean;
}

function kindLabel(kind: ColumnKind): string {
  return kind === "attribute" ? "" : kind === "metric" ? "metric" : kind === "param" ? "param" : "tag";
}

export function ColumnPicker({ columns, keys, onChange, onReset, isDefault }: ColumnPickerProps) {
  const [open, setOpen] = useState(false);
  const [search, setSearch] = useState("");
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (box.current && !box.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    document.addEventListener("mousedown", onDown);
    window.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("mousedown", onDown);
      window.removeEventListener("keydown", onKey);
    };
  }, [open]);
  const shown = useMemo(() => new Set(columns), [columns]);
  const needle = search.trim().toLowerCase();
  const match = (k: string) => !needle || k.toLowerCase().includes(needle);
  const sections: { kind: ColumnKind; title: string; keys: string[] }[] = [
    { kind: "attribute", title: "Attributes", keys: ATTRIBUTE_COLUMNS.map((a) => a.key).filter((k) => match(k) || match(columnLabel({ id: k, kind: "attribute", key: k }))) },
    { kind: "metric", title: "Metrics (latest value)", keys: keys.metrics.filter(match) },
    { kind: "param", title: "Params", keys: keys.params.filter(match) },
    { kind: "tag", title: "Tags", keys: keys.tags.filter(match) },
  ];
  return (
    <div className="column-picker" ref={box}>
      <button type="button" aria-expanded={open} aria-haspopup="dialog" onClick={() => setOpen((o) => !o)}>
        Columns ({columns.length})
      </button>
      {open && (
        <div className="picker-panel" role="dialog" aria-label="Columns">
          <div className="picker-top">
            <input type="search" placeholder="Find a key…" aria-label="Find a column" value={search} onChange={(e) => setSearch(e.target.value)} autoFocus />
            <button type="button" onClick={onReset} disabled={isDefault}>
              Defaults
            </button>
          </div>
          <div className="picker-body">
            <section className="picker-shown-section">
              <h3>Shown</h3>
              <ol className="picker-shown">
                {columns.map((id, i) => {
                  const spec = parseColumnId(id);
                  if (!spec) return null;
                  return (
                    <li key={id}>
                      <span className="picker-kind">{kindLabel(spec.kind)}</span>
                      <span className="picker-name" title={id}>
                        {columnLabel(spec)}
                      </span>
                      <button type="button" aria-label={`Move ${id} left`} disabled={i === 0} onClick={() => onChange(moveColumn(columns, id, -1))}>
                        ↑
                      </button>
                      <button type="button" aria-label={`Move ${id} right`} disabled={i === columns.length - 1} onClick={() => onChange(moveColumn(columns, id, 1))}>
                        ↓
                      </button>
                      <button type="button" aria-label={`Hide ${id}`} onClick={() => onChange(toggleColumn(columns, id))}>
                        ✕
                      </button>
                    </li>
                  );
                })}
              </ol>
            </section>
            <div className="picker-columns">
              {sections.map((sec) => (
                <section key={sec.kind}>
                  <h3>
                    {sec.title} <span className="muted">{sec.keys.length}</span>
                  </h3>
                  {sec.keys.length === 0 && <div className="muted picker-none">{needle ? "No match" : "None in the loaded runs"}</div>}
                  <ul className="picker-keys">
                    {sec.keys.slice(0, SECTION_LIMIT).map((k) => {
                      const id = columnId(sec.kind, k);
                      const label = sec.kind === "attribute" ? columnLabel({ id, kind: "attribute", key: k }) : k;
                      return (
                        <li key={id}>
                          <label title={id}>
                            <input type="checkbox" checked={shown.has(id)} onChange={() => onChange(toggleColumn(columns, id))} aria-label={`${sec.kind} ${k}`} />
                            {label}
                          </label>
                        </li>
                      );
                    })}
                  </ul>
                  {sec.keys.length > SECTION_LIMIT && (
                    <div className="muted picker-none">{sec.keys.length - SECTION_LIMIT} more: narrow the search</div>
                  )}
                </section>
              ))}
            </div>
          </div>
        </div>
      )}
    </div>
  );
}
