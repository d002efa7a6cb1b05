// The server's downsampled metric series (`GET ajax-api/2.0/runyard/metrics/downsampled`): per
// (run, key) at most `points` points over the visible x range, M4-sampled (each bucket's first,
// last, lowest and highest point), so spikes survive any zoom level.
import { request } from "./client";
import type { RawValue } from "../charts/shape";

export type XAxis = "step" | "wall" | "relative";

export interface DownsampledSeries {
  run_id: string;
  metric_key: string;
  x_axis: XAxis;
  /** Points of the series within the range asked (all of them without a range). */
  count: number;
  /** The points are M4's choice (count > points), else all of them. */
  sampled: boolean;
  /** Sampled series: how many of the points each bucket kept, in order (they sum to the points). */
  buckets?: number[];
  /** The whole series' extent on the x axis (steps or ms), whatever the range; null: no points. */
  x_min: number | null;
  x_max: number | null;
  /** What the relative axis counts from (ms). */
  start_time: number | null;
  step: number[];
  timestamp: number[];
  value: RawValue[];
}

export const MAX_RUNS_PER_REQUEST = 100;
export const MAX_KEYS_PER_REQUEST = 10;
export const MAX_SERIES_PER_REQUEST = 200;
export const MIN_POINTS = 10;
export const MAX_POINTS = 5000;

export interface DownsampledQuery {
  runIds: string[];
  keys: string[];
  xAxis: XAxis;
  points: number;
  /** The visible range on the server's axis (steps, or ms), inclusive. */
  minX?: number;
  maxX?: number;
  signal?: AbortSignal;
}

export async function getDownsampled(q: DownsampledQuery): Promise<DownsampledSeries[]> {
  const points = Math.max(MIN_POINTS, Math.min(MAX_POINTS, Math.round(q.points)));
  const body = await request<{ series?: DownsampledSeries[] }>("ajax-api/2.0/runyard/metrics/downsampled", {
    query: {
      run_id: q.runIds,
      metric_key: q.keys,
      x_axis: q.xAxis,
      points,
      min_x: q.minX === undefined ? undefined : Math.floor(q.minX),
      max_x: q.maxX === undefined ? undefined : Math.ceil(q.maxX),
    },
    signal: q.signal,
  });
  return body.series ?? [];
}

/** Many runs' series of one key, in requests within the endpoint's limits. */
export async function getDownsampledRuns(q: DownsampledQuery): Promise<DownsampledSeries[]> {
  const perRequest = Math.max(1, Math.min(MAX_RUNS_PER_REQUEST, Math.floor(MAX_SERIES_PER_REQUEST / q.keys.length)));
  const chunks: string[][] = [];
  for (let i = 0; i < q.runIds.length; i += perRequest) chunks.push(q.runIds.slice(i, i + perRequest));
  const parts = await Promise.all(chunks.map((runIds) => getDownsampled({ ...q, runIds })));
  return parts.flat();
}
