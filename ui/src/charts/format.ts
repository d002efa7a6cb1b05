// Axis and readout formats of the charts.
import type { AxisKind } from "./shape";

/** Seconds as a short duration: 45s, 2m 5s, 3h 20m, 2d 4h. */
export function shortDuration(seconds: number): string {
  const neg = seconds < 0;
  let s = Math.abs(seconds);
  let out: string;
  if (s < 60) out = `${Number(s.toFixed(s < 10 ? 1 : 0))}s`;
  else if (s < 3600) {
    const m = Math.floor(s / 60);
    s = Math.round(s - m * 60);
    out = s ? `${m}m ${s}s` : `${m}m`;
  } else if (s < 86400) {
    const h = Math.floor(s / 3600);
    const m = Math.round((s - h * 3600) / 60);
    out = m ? `${h}h ${m}m` : `${h}h`;
  } else {
    const d = Math.floor(s / 86400);
    const h = Math.round((s - d * 86400) / 3600);
    out = h ? `${d}d ${h}h` : `${d}d`;
  }
  return neg ? `-${out}` : out;
}

export function xLabel(axis: AxisKind): string {
  return axis === "step" ? "Step" : axis === "wall" ? "Time" : "Relative time";
}

export function formatX(x: number, axis: AxisKind): string {
  if (axis === "step") return String(Math.round(x));
  if (axis === "relative") return shortDuration(x);
  const d = new Date(x * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatY(v: number | null | undefined): string {
  if (v === null || v === undefined) return "–";
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  return String(Number(v.toPrecision(5)));
}
