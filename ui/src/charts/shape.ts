// Chart data shaping, pure: the points of each run's series (as the downsampling endpoint sends
// them) into uPlot's aligned arrays — one x array (the union of every series' x values, sorted),
// and per run a line (null where that run has no point), optionally its raw line behind a smoothed
// one, and the bucket min / max band. Non-finite values (NaN, ±Infinity) leave a gap and become
// markers; on a log scale values <= 0 leave a gap and are counted.

/** A value as JSON may carry it: a number, or "NaN" / "Infinity" / "-Infinity", or null. */
export type RawValue = number | string | null | undefined;

export function toNumber(v: RawValue): number {
  if (typeof v === "number") return v;
  if (v === null || v === undefined) return Number.NaN;
  if (v === "Infinity" || v === "inf" || v === "+inf" || v === "+Infinity") return Infinity;
  if (v === "-Infinity" || v === "-inf") return -Infinity;
  return Number(v);
}

/** One run's points for one metric, sorted by x. `min` / `max` (same length as `x`) are the
 * extremes of the bucket each point stands for; absent when the series was not sampled. */
export interface SeriesPoints {
  x: number[];
  y: number[];
  min?: number[];
  max?: number[];
}

export interface ShapeInput {
  /** A stable id (the run id) per series, in legend order. */
  id: string;
  points: SeriesPoints;
}

export interface ShapeOptions {
  /** EMA weight in [0, 1): 0 is no smoothing. */
  smoothing: number;
  log: boolean;
  /** Draw the band (only where a series has min / max). */
  band: boolean;
}

export type Role = "line" | "raw" | "min" | "max";

/** What each data column after x is: which input series, which role. */
export interface Column {
  series: number;
  role: Role;
}

export interface Marker {
  series: number;
  x: number;
  kind: "nan" | "+inf" | "-inf";
}

export interface Shaped {
  /** [x, ...columns]: uPlot's AlignedData. */
  data: [number[], ...(number | null)[][]];
  columns: Column[];
  /** Bands as pairs of data indexes (1-based, as uPlot counts series): [max, min]. */
  bands: { series: number; upper: number; lower: number }[];
  markers: Marker[];
  /** Points hidden on the log scale because they are <= 0. */
  hiddenNonPositive: number;
  /** Points with a finite value (across series). */
  finitePoints: number;
}

/** Exponential moving average (TensorBoard's, debiased) over finite values; null / non-finite
 * entries stay null and neither reset nor move the average. */
export function ema(values: readonly (number | null)[], weight: number): (number | null)[] {
  if (!(weight > 0)) return values.map((v) => (v === null || !Number.isFinite(v) ? null : v));
  const w = Math.min(weight, 0.999);
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return null;
    last = last * w + (1 - w) * v;
    n += 1;
    return last / (1 - w ** n);
  });
}

/** The sorted union of several sorted (or unsorted) x arrays, without duplicates. */
export function unionX(arrays: readonly (readonly number[])[]): number[] {
  let total = 0;
  for (const a of arrays) total += a.length;
  const all = new Float64Array(total);
  let k = 0;
  for (const a of arrays) for (const v of a) all[k++] = v;
  all.sort();
  const out: number[] = [];
  for (let i = 0; i < all.length; i += 1) {
    const v = all[i] as number;
    if (Number.isFinite(v) && (out.length === 0 || out[out.length - 1] !== v)) out.push(v);
  }
  return out;
}

function forScale(v: number | null | undefined, log: boolean): number | null {
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  if (log && v <= 0) return null;
  return v;
}

export function shape(inputs: readonly ShapeInput[], options: ShapeOptions): Shaped {
  const x = unionX(inputs.map((s) => s.points.x));
  const index = new Map<number, number>();
  x.forEach((v, i) => index.set(v, i));
  const columns: Column[] = [];
  const data: [number[], ...(number | null)[][]] = [x];
  const bands: Shaped["bands"] = [];
  const markers: Marker[] = [];
  let hiddenNonPositive = 0;
  let finitePoints = 0;
  const smoothing = options.smoothing > 0;

  const column = (values: (number | null)[] | null, series: number, role: Role, xs: readonly number[]) => {
    const out: (number | null)[] = new Array<number | null>(x.length).fill(null);
    if (values) {
      for (let i = 0; i < xs.length; i += 1) {
        const at = index.get(xs[i] as number);
        if (at !== undefined) out[at] = forScale(values[i], options.log);
      }
    }
    columns.push({ series, role });
    data.push(out);
    return data.length - 1;
  };

  inputs.forEach((input, s) => {
    const { x: xs, y, min, max } = input.points;
    for (let i = 0; i < xs.length; i += 1) {
      const v = y[i] ?? Number.NaN;
      if (Number.isNaN(v)) markers.push({ series: s, x: xs[i] as number, kind: "nan" });
      else if (v === Infinity) markers.push({ series: s, x: xs[i] as number, kind: "+inf" });
      else if (v === -Infinity) markers.push({ series: s, x: xs[i] as number, kind: "-inf" });
      else {
        finitePoints += 1;
        if (options.log && v <= 0) hiddenNonPositive += 1;
      }
    }
    if (options.band && min && max && min.length === xs.length && max.length === xs.length) {
      const upper = column(max, s, "max", xs);
      const lower = column(min, s, "min", xs);
      bands.push({ series: s, upper, lower });
    }
    if (smoothing) column(y, s, "raw", xs);
    column(smoothing ? ema(y, options.smoothing) : y, s, "line", xs);
  });
  return { data, columns, bands, markers, hiddenNonPositive, finitePoints };
}

/** True when the band of a series adds something (some bucket's min or max differs from its point). */
export function hasSpread(points: SeriesPoints): boolean {
  const { y, min, max } = points;
  if (!min || !max) return false;
  for (let i = 0; i < y.length; i += 1) {
    if (min[i] !== y[i] || max[i] !== y[i]) return true;
  }
  return false;
}

// --- From the server's answer ------------------------------------------------------------------

export type AxisKind = "step" | "wall" | "relative";

/** The server's columns of one series, as `api/charts.ts` receives them. */
export interface ServerSeries {
  sampled: boolean;
  /** Sampled series: how many of the points each server bucket kept, in order. */
  buckets?: number[];
  start_time: number | null;
  step: number[];
  timestamp: number[];
  value: RawValue[];
}

/** x values as the chart draws them: steps; wall time in seconds since the epoch (uPlot's time
 * scale); relative time in seconds since the run's start. */
export function chartX(series: ServerSeries, axis: AxisKind): number[] {
  if (axis === "step") return series.step.slice();
  if (axis === "wall") return series.timestamp.map((t) => t / 1000);
  const start = series.start_time ?? series.timestamp[0] ?? 0;
  return series.timestamp.map((t) => (t - start) / 1000);
}

/** A chart x value back on the server's axis (steps, or milliseconds) for `min_x` / `max_x`. */
export function serverX(x: number, axis: AxisKind, edge: "min" | "max"): number {
  const v = axis === "step" ? x : x * 1000;
  return edge === "min" ? Math.floor(v) : Math.ceil(v);
}

/** The exact min / max band of a sampled series from the server's buckets: `sizes[i]` points in a
 * row belong to bucket i (they hold its lowest and highest finite values); every point gets its
 * bucket's lowest and highest finite value (NaN when the bucket has none). */
export function bucketBand(y: readonly number[], sizes: readonly number[]): { min: number[]; max: number[] } {
  const n = y.length;
  const min = new Array<number>(n).fill(Number.NaN);
  const max = new Array<number>(n).fill(Number.NaN);
  let start = 0;
  for (const size of sizes) {
    const end = Math.min(n, start + size);
    let low = Infinity;
    let high = -Infinity;
    for (let i = start; i < end; i += 1) {
      const v = y[i] as number;
      if (Number.isFinite(v)) {
        if (v < low) low = v;
        if (v > high) high = v;
      }
    }
    for (let i = start; i < end; i += 1) {
      min[i] = low === Infinity ? Number.NaN : low;
      max[i] = high === -Infinity ? Number.NaN : high;
    }
    start = end;
  }
  return { min, max };
}

/** The min / max envelope of a sampled series: its points split into `buckets` buckets of equal
 * width on x; every point gets its bucket's lowest and highest finite value (NaN when the bucket
 * has none). The server's M4 kept each of its buckets' extremes, so the envelope spans them. */
export function envelope(x: readonly number[], y: readonly number[], buckets: number): { min: number[]; max: number[] } {
  const n = x.length;
  const min = new Array<number>(n).fill(Number.NaN);
  const max = new Array<number>(n).fill(Number.NaN);
  if (n === 0) return { min, max };
  const lo = x[0] as number;
  const hi = x[n - 1] as number;
  const count = Math.max(1, Math.floor(buckets));
  const width = (hi - lo) / count || 1;
  const bucketOf = (v: number) => Math.min(count - 1, Math.floor((v - lo) / width));
  let start = 0;
  while (start < n) {
    const b = bucketOf(x[start] as number);
    let end = start;
    let low = Infinity;
    let high = -Infinity;
    while (end < n && bucketOf(x[end] as number) === b) {
      const v = y[end] as number;
      if (Number.isFinite(v)) {
        if (v < low) low = v;
        if (v > high) high = v;
      }
      end += 1;
    }
    for (let i = start; i < end; i += 1) {
      min[i] = low === Infinity ? Number.NaN : low;
      max[i] = high === -Infinity ? Number.NaN : high;
    }
    start = end;
  }
  return { min, max };
}

/** One server series as chart points: x on the chart's axis, values as numbers (NaN / ±Infinity
 * kept, for the markers), and for a sampled series the band of M4's buckets. */
export function seriesPoints(series: ServerSeries, axis: AxisKind): SeriesPoints {
  const x = chartX(series, axis);
  const y = series.value.map(toNumber);
  // Points sharing an x (several values logged at one step) stay in order; the union of x values
  // keeps one slot per x, so the last value at an x is what the line passes through.
  if (!series.sampled) return { x, y };
  // The server says which points make up each bucket; an older answer without it: equal buckets.
  const sizes = series.buckets;
  const exact = sizes !== undefined && sizes.reduce((a, b) => a + b, 0) === y.length;
  const { min, max } = exact ? bucketBand(y, sizes) : envelope(x, y, Math.floor(x.length / 4));
  return { x, y, min, max };
}
