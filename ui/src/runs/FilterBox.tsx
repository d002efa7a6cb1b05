// A search box for MLflow's filter language. The text is applied on Enter (or the Search button)
// and cleared with Escape; a server error shows inline under the box, the box is marked invalid
// and the offending part of the text is marked in place (a layer behind the transparent input,
// scrolled with it). A warning (a valid filter that cannot match) marks its part the same way.
import { useEffect, useRef, useState, type ReactNode } from "react";
import "./runs.css";

export interface FilterMark {
  start: number;
  end: number;
}

export interface FilterBoxProps {
  /** The applied filter (from the URL). */
  value: string;
  onApply: (text: string) => void;
  /** The server's error for `value`, with its code. */
  error: { code: string; message: string } | null;
  /** A problem worth showing that is not an error (e.g. a key no loaded run has). */
  warning?: string | null;
  /** The part of `value` to mark. */
  mark?: FilterMark | null;
  /** A rewritten filter that fixes the error, offered as a button. */
  fix?: string | null;
  placeholder?: string;
  label: string;
  /** More to say under the error (e.g. a button showing the column it is about). */
  errorExtra?: ReactNode;
  children?: ReactNode;
}

function Marked({ text, mark }: { text: string; mark: FilterMark }) {
  const start = Math.max(0, Math.min(mark.start, text.length));
  const end = Math.max(start, Math.min(mark.end, text.length));
  return (
    <>
      {text.slice(0, start)}
      {end > start ? <mark>{text.slice(start, end)}</mark> : <mark className="caret">{" "}</mark>}
      {text.slice(end)}
    </>
  );
}

export function FilterBox({ value, onApply, error, warning, mark, fix, placeholder, label, errorExtra, children }: FilterBoxProps) {
  const [draft, setDraft] = useState(value);
  const input = useRef<HTMLInputElement>(null);
  const layer = useRef<HTMLDivElement>(null);
  useEffect(() => setDraft(value), [value]);
  const current = draft === value;
  const invalid = current && error !== null;
  const showMark = current && mark && (error !== null || warning);
  const syncScroll = () => {
    if (layer.current && input.current) layer.current.scrollLeft = input.current.scrollLeft;
  };
  useEffect(syncScroll, [draft, mark]);
  return (
    <div className="filter-box">
      <form
        className="filter-row"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          onApply(draft.trim());
        }}
      >
        <div className={`filter-field${invalid ? " invalid" : ""}${current && warning && !error ? " warn" : ""}`}>
          {showMark && mark && (
            <div className="filter-layer" ref={layer} aria-hidden="true">
              <Marked text={value} mark={mark} />
            </div>
          )}
          <input
            ref={input}
            type="search"
            aria-label={label}
            aria-invalid={invalid}
            className={invalid ? "invalid" : undefined}
            spellCheck={false}
            autoComplete="off"
            placeholder={placeholder}
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onScroll={syncScroll}
            onKeyDown={(e) => {
              if (e.key === "Escape") {
                if (draft !== value) setDraft(value);
                else if (value) onApply("");
              }
            }}
          />
        </div>
        <button type="submit">Search</button>
        {value && (
          <button type="button" onClick={() => onApply("")} title="Clear the filter">
            Clear
          </button>
        )}
        {children}
      </form>
      {current && error && (
        <div className="filter-error" role="alert">
          <strong>{error.code}</strong> {error.message}
          {fix && (
            <button type="button" className="link-button" onClick={() => onApply(fix)}>
              Use <code>{fix}</code>
            </button>
          )}
          {errorExtra}
        </div>
      )}
      {current && !error && warning && (
        <div className="filter-warning" role="status">
          {warning}
        </div>
      )}
    </div>
  );
}
