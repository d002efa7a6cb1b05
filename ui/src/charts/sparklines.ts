// Data for the metrics table's sparklines: each (run, key) series at about 60 points from the
// downsampling endpoint. Requests made in the same moment are sent together (up to 10 keys per
// request) and at most a few at a time, so a table of 200 metrics costs 20 small requests.
import { getDownsampled, MAX_KEYS_PER_REQUEST, type DownsampledSeries } from "../api/charts";

export const SPARK_POINTS = 60;
const CONCURRENCY = 3;

interface Waiting {
  runId: string;
  key: string;
  resolve: (s: DownsampledSeries | null) => void;
  reject: (e: unknown) => void;
}

let queue: Waiting[] = [];
let scheduled = false;
let active = 0;
const batches: Waiting[][] = [];

function pump(): void {
  while (active < CONCURRENCY && batches.length > 0) {
    const batch = batches.shift() as Waiting[];
    active += 1;
    const runId = batch[0]?.runId ?? "";
    getDownsampled({ runIds: [runId], keys: batch.map((w) => w.key), xAxis: "step", points: SPARK_POINTS })
      .then(
        (series) => {
          const byKey = new Map(series.map((s) => [s.metric_key, s]));
          batch.forEach((w) => w.resolve(byKey.get(w.key) ?? null));
        },
        (error: unknown) => batch.forEach((w) => w.reject(error)),
      )
      .finally(() => {
        active -= 1;
        pump();
      });
  }
}

function flush(): void {
  scheduled = false;
  const byRun = new Map<string, Waiting[]>();
  for (const w of queue) {
    const list = byRun.get(w.runId) ?? [];
    list.push(w);
    byRun.set(w.runId, list);
  }
  queue = [];
  for (const list of byRun.values()) {
    for (let i = 0; i < list.length; i += MAX_KEYS_PER_REQUEST) batches.push(list.slice(i, i + MAX_KEYS_PER_REQUEST));
  }
  pump();
}

/** One (run, key) series for a sparkline; null when the run has no such key. */
export function sparklineSeries(runId: string, key: string): Promise<DownsampledSeries | null> {
  return new Promise((resolve, reject) => {
    queue.push({ runId, key, resolve, reject });
    if (!scheduled) {
      scheduled = true;
      setTimeout(flush, 10);
    }
  });
}
