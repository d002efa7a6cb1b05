// A modal dialog: a titled panel over a dimmed page, closed with Escape, the Cancel button or a
// click outside; the first field (or the primary button) takes the focus. A form inside submits
// with Enter. Errors of the action show in the dialog (e.g. PERMISSION_DENIED for a caller who
// may not do it).
import { useEffect, useId, useRef, type FormEvent, type ReactNode } from "react";
import { ErrorBanner } from "../components/status";
import "./experiments.css";

export interface ModalProps {
  title: string;
  onClose: () => void;
  /** Runs the action; the dialog stays open (showing `error`) until the caller closes it. */
  onSubmit: () => void;
  submitLabel: string;
  danger?: boolean;
  busy?: boolean;
  error?: unknown;
  disabled?: boolean;
  children?: ReactNode;
}

export function Modal({ title, onClose, onSubmit, submitLabel, danger, busy, error, disabled, children }: ModalProps) {
  const titleId = useId();
  const panel = useRef<HTMLFormElement>(null);
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const first = panel.current?.querySelector<HTMLElement>("input, textarea, select, button.primary, button.danger-primary");
    first?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") close.current();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!busy && !disabled) onSubmit();
  };
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <form className="modal" role="dialog" aria-modal="true" aria-labelledby={titleId} ref={panel} onSubmit={submit}>
        <h2 id={titleId}>{title}</h2>
        <div className="modal-body">{children}</div>
        <ErrorBanner error={error} />
        <div className="modal-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className={danger ? "danger-primary" : "primary"} disabled={busy || disabled}>
            {busy ? "Working…" : submitLabel}
          </button>
        </div>
      </form>
    </div>
  );
}
