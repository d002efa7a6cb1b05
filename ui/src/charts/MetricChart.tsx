// One metric key's chart: uPlot lines of every run (a colour each), the min / max band of sampled
// series, NaN / ±Infinity as markers on the plot's edge, a hover readout. Data comes from the
// downsampling endpoint with a point budget of the chart's width; dragging selects an x range and
// refetches that range in detail, a double click returns to the whole series. Running runs'
// charts refetch every few seconds while the page is visible.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { getDownsampledRuns, type DownsampledSeries, type XAxis } from "../api/charts";
import { ApiError } from "../api/client";
import { withAlpha } from "./colors";
import { formatX, formatY, shortDuration, xLabel } from "./format";
import { seriesPoints, serverX, shape, type Shaped } from "./shape";
import type { ChartRun } from "./ChartGrid";

export const POLL_MS = 5000;

export interface ChartSettings {
  xAxis: XAxis;
  /** EMA weight, 0 (none) to 0.99. */
  smoothing: number;
  log: boolean;
  band: boolean;
}

interface Zoom {
  min: number;
  max: number;
}

// Recently fetched answers, so a chart scrolled back into view draws at once.
const cache = new Map<string, DownsampledSeries[]>();
const CACHE_SIZE = 400;

function remember(key: string, value: DownsampledSeries[]): void {
  cache.delete(key);
  cache.set(key, value);
  if (cache.size > CACHE_SIZE) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
}

/** Fetches one key's series for `runs`, refetching on zoom, on a budget change and (for running
 * runs) every `POLL_MS` while the document is visible. */
function useSeries(runs: ChartRun[], metricKey: string, xAxis: XAxis, points: number, zoom: Zoom | null) {
  const runIds = runs.map((r) => r.runId);
  const running = runs.some((r) => r.running);
  const idsKey = runIds.join(",");
  const key = `${idsKey}|${metricKey}|${xAxis}|${points}|${zoom ? `${zoom.min}:${zoom.max}` : ""}`;
  const [state, setState] = useState<{ key: string; series: DownsampledSeries[] | null; error: unknown }>(() => ({
    key,
    series: cache.get(key) ?? null,
    error: null,
  }));
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!running) return;
    const timer = window.setInterval(() => {
      if (!document.hidden) setTick((t) => t + 1);
    }, POLL_MS);
    const onVisible = () => {
      if (!document.hidden) setTick((t) => t + 1);
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      window.clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [running]);
  useEffect(() => {
    if (points <= 0 || runIds.length === 0) return;
    const abort = new AbortController();
    const cached = cache.get(key);
    if (cached && tick === 0) setState({ key, series: cached, error: null });
    const timer = window.setTimeout(() => {
      getDownsampledRuns({
        runIds,
        keys: [metricKey],
        xAxis,
        points,
        minX: zoom ? serverX(zoom.min, xAxis, "min") : undefined,
        maxX: zoom ? serverX(zoom.max, xAxis, "max") : undefined,
        signal: abort.signal,
      }).then(
        (series) => {
          remember(key, series);
          setState({ key, series, error: null });
        },
        (error: unknown) => {
          if (!abort.signal.aborted) setState((s) => ({ key, series: s.series, error }));
        },
      );
    }, cached && tick === 0 ? 0 : 30);
    return () => {
      abort.abort();
      window.clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, tick]);
  return state;
}

function isPowerOfTen(v: number): boolean {
  if (!(v > 0)) return false;
  const e = Math.log10(v);
  return Math.abs(e - Math.round(e)) < 1e-9;
}

function drawMarkers(u: uPlot, shaped: Shaped, colors: string[]): void {
  if (shaped.markers.length === 0) return;
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  const px = uPlot.pxRatio;
  ctx.save();
  for (const m of shaped.markers) {
    const cx = u.valToPos(m.x, "x", true);
    if (cx < left - 1 || cx > left + width + 1) continue;
    const cy = m.kind === "+inf" ? top + 5 * px : m.kind === "-inf" ? top + height - 5 * px : top + height / 2;
    ctx.fillStyle = colors[m.series] ?? "#000";
    ctx.strokeStyle = colors[m.series] ?? "#000";
    ctx.lineWidth = 1.5 * px;
    const r = 4 * px;
    ctx.beginPath();
    if (m.kind === "nan") {
      ctx.moveTo(cx - r, cy - r);
      ctx.lineTo(cx + r, cy + r);
      ctx.moveTo(cx + r, cy - r);
      ctx.lineTo(cx - r, cy + r);
      ctx.stroke();
    } else {
      const dir = m.kind === "+inf" ? -1 : 1;
      ctx.moveTo(cx, cy + dir * r);
      ctx.lineTo(cx - r, cy - dir * r);
      ctx.lineTo(cx + r, cy - dir * r);
      ctx.closePath();
      ctx.fill();
    }
  }
  ctx.restore();
}

function buildOptions(
  width: number,
  height: number,
  shaped: Shaped,
  colors: string[],
  labels: string[],
  settings: ChartSettings,
  onZoom: (z: Zoom | null) => void,
  readout: HTMLDivElement | null,
  shapedRef: { current: Shaped },
): uPlot.Options {
  const axis = settings.xAxis;
  const series: uPlot.Series[] = [{ label: xLabel(axis) }];
  for (const col of shaped.columns) {
    const color = colors[col.series] ?? "#333";
    const label = labels[col.series] ?? "";
    if (col.role === "line") {
      series.push({ label, stroke: color, width: 1.5, spanGaps: true, points: { show: false } });
    } else if (col.role === "raw") {
      series.push({ label: `${label} (raw)`, stroke: withAlpha(color, 0.28), width: 1, spanGaps: true, points: { show: false } });
    } else {
      series.push({ label: `${label} (${col.role})`, stroke: "transparent", width: 0, spanGaps: true, points: { show: false } });
    }
  }
  const bands: uPlot.Band[] = shaped.bands.map((b) => ({
    series: [b.upper, b.lower],
    fill: withAlpha(colors[b.series] ?? "#333333", 0.16),
  }));
  const xAxisOpts: uPlot.Axis = { stroke: "#6a7482", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#dfe3e8" } };
  if (axis === "relative") xAxisOpts.values = (_u, splits) => splits.map((s) => shortDuration(s));
  if (axis === "step") xAxisOpts.values = (_u, splits) => splits.map((s) => (Number.isInteger(s) ? String(s) : ""));
  return {
    width,
    height,
    series,
    bands,
    legend: { show: false },
    padding: [8, 10, 0, 0],
    scales: {
      x: { time: axis === "wall" },
      y: settings.log ? { distr: 3, log: 10 } : {},
    },
    axes: [
      xAxisOpts,
      {
        stroke: "#6a7482",
        grid: { stroke: "#eef0f3" },
        ticks: { stroke: "#dfe3e8" },
        size: 56,
        values: (_u, splits) => splits.map((s) => (s === null || s === undefined ? "" : formatY(s))),
        // A log scale: grid lines and labels at the powers of ten only.
        ...(settings.log
          ? { filter: (_u: uPlot, splits: number[]) => splits.map((v) => (isPowerOfTen(v) ? v : null)) }
          : {}),
      },
    ],
    cursor: {
      drag: { x: true, y: false, setScale: false },
      points: { show: false },
    },
    hooks: {
      setSelect: [
        (u) => {
          if (u.select.width < 4) return;
          const min = u.posToVal(u.select.left, "x");
          const max = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          u.setScale("x", { min, max });
          onZoom({ min, max });
        },
      ],
      setCursor: [
        (u) => {
          if (!readout) return;
          const idx = u.cursor.idx;
          if (idx === null || idx === undefined) {
            readout.textContent = "";
            return;
          }
          const s = shapedRef.current;
          const x = s.data[0][idx];
          if (x === undefined) return;
          const parts = [`${xLabel(axis)} ${formatX(x, axis)}`];
          s.columns.forEach((col, c) => {
            if (col.role !== "line") return;
            const v = s.data[c + 1]?.[idx];
            if (v !== null && v !== undefined) parts.push(`${labels[col.series] ?? ""}: ${formatY(v)}`);
          });
          readout.textContent = parts.join("  ·  ");
        },
      ],
      draw: [(u) => drawMarkers(u, shapedRef.current, colors)],
      ready: [
        (u) => {
          u.over.addEventListener("dblclick", () => onZoom(null));
        },
      ],
    },
  };
}

export function MetricChart({
  metricKey,
  runs,
  colors,
  settings,
  height = 220,
}: {
  metricKey: string;
  runs: ChartRun[];
  /** Run id -> colour. */
  colors: Map<string, string>;
  settings: ChartSettings;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plotEl = useRef<HTMLDivElement>(null);
  const readout = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const layoutKey = useRef("");
  const drawn = useRef<{ data: Shaped["data"] | null; zoom: Zoom | null }>({ data: null, zoom: null });
  const [width, setWidth] = useState(0);
  const [zoom, setZoom] = useState<Zoom | null>(null);

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    setWidth(Math.floor(el.clientWidth));
    const observer = new ResizeObserver(() => setWidth(Math.floor(el.clientWidth)));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  // A new axis means new x values: the zoom no longer applies.
  useEffect(() => setZoom(null), [settings.xAxis]);

  const points = width > 0 ? Math.max(10, Math.min(5000, width)) : 0;
  const budget = points > 0 ? Math.ceil(points / 50) * 50 : 0;
  const state = useSeries(runs, metricKey, settings.xAxis, budget, zoom);

  const byRun = useMemo(() => new Map((state.series ?? []).map((s) => [s.run_id, s])), [state.series]);
  const present = runs.filter((r) => (byRun.get(r.runId)?.step.length ?? 0) > 0);
  const shaped = useMemo(
    () =>
      shape(
        present.map((r) => {
          const s = byRun.get(r.runId) as DownsampledSeries;
          return { id: r.runId, points: seriesPoints(s, settings.xAxis) };
        }),
        { smoothing: settings.smoothing, log: settings.log, band: settings.band },
      ),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [byRun, present.map((r) => r.runId).join(","), settings.xAxis, settings.smoothing, settings.log, settings.band],
  );
  const shapedRef = useRef(shaped);
  shapedRef.current = shaped;
  const seriesColors = present.map((r) => colors.get(r.runId) ?? "#333");
  const labels = present.map((r) => r.label);

  const onZoom = useRef<(z: Zoom | null) => void>(() => undefined);
  onZoom.current = (z) => setZoom(z);

  // (Re)build the plot when its layout changes; otherwise only its data.
  useEffect(() => {
    const el = plotEl.current;
    if (!el || width <= 0) return;
    const key = JSON.stringify([
      shaped.columns,
      shaped.bands,
      seriesColors,
      labels,
      settings.xAxis,
      settings.log,
    ]);
    if (plot.current && layoutKey.current === key) {
      if (plot.current.width !== width || plot.current.height !== height) plot.current.setSize({ width, height });
      if (drawn.current.data !== shaped.data || drawn.current.zoom !== zoom) {
        plot.current.setData(shaped.data as uPlot.AlignedData, zoom === null);
        if (zoom) plot.current.setScale("x", { min: zoom.min, max: zoom.max });
        drawn.current = { data: shaped.data, zoom };
      }
      return;
    }
    plot.current?.destroy();
    layoutKey.current = key;
    const options = buildOptions(
      width,
      height,
      shaped,
      seriesColors,
      labels,
      settings,
      (z) => onZoom.current(z),
      readout.current,
      shapedRef,
    );
    const u = new uPlot(options, shaped.data as uPlot.AlignedData, el);
    if (zoom) u.setScale("x", { min: zoom.min, max: zoom.max });
    plot.current = u;
    drawn.current = { data: shaped.data, zoom };
  });
  useEffect(
    () => () => {
      plot.current?.destroy();
      plot.current = null;
    },
    [],
  );

  const loading = state.series === null && !state.error;
  const missing = state.series !== null && present.length === 0;
  const sampled = (state.series ?? []).some((s) => s.sampled);
  const nonFinite = shaped.markers.length;
  return (
    <div className="metric-chart" data-metric={metricKey}>
      <div className="chart-head">
        <span className="chart-title" title={metricKey}>
          {metricKey}
        </span>
        <span className="chart-badges">
          {zoom && (
            <button type="button" className="link-button" onClick={() => setZoom(null)} title="Double-click the chart also resets">
              Reset zoom
            </button>
          )}
          {sampled && <span className="muted" title="Min/max-preserving sampling (M4) of the visible range">sampled</span>}
          {nonFinite > 0 && (
            <span className="muted" title="NaN / Infinity values, marked on the chart's edge">
              {nonFinite} non-finite
            </span>
          )}
          {settings.log && shaped.hiddenNonPositive > 0 && (
            <span className="muted">{shaped.hiddenNonPositive} values ≤ 0 hidden</span>
          )}
        </span>
      </div>
      <div ref={box} className="chart-box" style={{ height }}>
        {state.error ? (
          <div className="chart-message error-text">
            {state.error instanceof ApiError ? `${state.error.errorCode}: ` : ""}
            {state.error instanceof Error ? state.error.message : String(state.error)}
          </div>
        ) : null}
        {loading && <div className="chart-message muted">Loading…</div>}
        {missing && !state.error && <div className="chart-message muted">No data</div>}
        <div ref={plotEl} className="chart-plot" />
      </div>
      <div ref={readout} className="chart-readout muted" aria-live="off" />
      {runs.length > 1 && (
        <div className="chart-legend" role="list" aria-label={`Legend of ${metricKey}`}>
          {runs.map((r) => (
            <span key={r.runId} className="legend-item" role="listitem" title={r.runId}>
              <span className="swatch" style={{ background: colors.get(r.runId) }} />
              {r.label}
              {state.series && !byRun.get(r.runId)?.step.length ? (
                <span
                  className="muted"
                  title={byRun.get(r.runId)?.x_min === null || !byRun.has(r.runId) ? "This run has no such metric" : "No points in the visible range"}
                >
                  {" "}
                  (none)
                </span>
              ) : null}
            </span>
          ))}
        </div>
      )}
    </div>
  );
}
