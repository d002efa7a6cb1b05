// A small line of a metric's history (about 60 points, min/max preserved by the server), for
// the run page's metrics table. Loaded when it scrolls into view.
import { useEffect, useRef, useState } from "react";
import type { DownsampledSeries } from "../api/charts";
import { seriesPoints } from "./shape";
import { sparklineSeries } from "./sparklines";

const W = 120;
const H = 24;

export function sparkPath(series: DownsampledSeries, width = W, height = H): { line: string; points: number } {
  const { x, y } = seriesPoints({ ...series, sampled: false }, "step");
  const finite: [number, number][] = [];
  x.forEach((xv, i) => {
    const v = y[i] as number;
    if (Number.isFinite(v)) finite.push([xv, v]);
  });
  if (finite.length === 0) return { line: "", points: 0 };
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const [a, b] of finite) {
    x0 = Math.min(x0, a);
    x1 = Math.max(x1, a);
    y0 = Math.min(y0, b);
    y1 = Math.max(y1, b);
  }
  const sx = (v: number) => (x1 === x0 ? width / 2 : ((v - x0) / (x1 - x0)) * (width - 2) + 1);
  const sy = (v: number) => (y1 === y0 ? height / 2 : height - 1 - ((v - y0) / (y1 - y0)) * (height - 2));
  if (finite.length === 1) {
    const [a, b] = finite[0] as [number, number];
    return { line: `M${sx(a) - 2},${sy(b)}h4`, points: 1 };
  }
  const line = finite.map(([a, b], i) => `${i === 0 ? "M" : "L"}${sx(a).toFixed(1)},${sy(b).toFixed(1)}`).join("");
  return { line, points: finite.length };
}

export function Sparkline({ runId, metricKey, refresh = 0 }: { runId: string; metricKey: string; refresh?: number }) {
  const box = useRef<SVGSVGElement>(null);
  const [seen, setSeen] = useState(false);
  const [series, setSeries] = useState<DownsampledSeries | null | undefined>(undefined);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    const el = box.current;
    if (!el || seen) return;
    if (typeof IntersectionObserver === "undefined") {
      setSeen(true);
      return;
    }
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) setSeen(true);
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [seen]);
  useEffect(() => {
    if (!seen) return;
    let live = true;
    sparklineSeries(runId, metricKey).then(
      (s) => live && setSeries(s),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [seen, runId, metricKey, refresh]);
  const path = series ? sparkPath(series) : null;
  const title = failed
    ? "History unavailable"
    : series
      ? `${series.count.toLocaleString()} points${series.sampled ? " (sampled)" : ""}`
      : undefined;
  return (
    <svg
      ref={box}
      className="sparkline"
      width={W}
      height={H}
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`History of ${metricKey}`}
      data-points={path?.points ?? 0}
    >
      {title && <title>{title}</title>}
      {path?.line && <path d={path.line} />}
    </svg>
  );
}
