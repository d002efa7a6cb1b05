// Loads an experiment's runs page by page through `runs/search` (the server filters and sorts):
// a small first page so the first rows paint at once, then pages of 1,000 as the table asks for
// more (scrolling near the end). Each page is normalised once; the keys of every run seen are
// collected (for the column picker and to spot filters on keys no run has). A new filter or order
// starts over; answers to a superseded request are dropped.
import { useCallback, useEffect, useRef, useState } from "react";
import { searchRuns } from "../api/mlflow";
import { collectKeys, emptyKeys, keyLists, normaliseRun, type KeySets, type RunRow } from "./runData";

export const FIRST_PAGE = 200;
export const NEXT_PAGE = 1000;

export interface KeyListsSnapshot {
  metrics: string[];
  params: string[];
  tags: string[];
}

export interface RunsState {
  rows: RunRow[];
  nextToken: string | null;
  loading: boolean;
  error: unknown;
  /** The first page has arrived (for this filter and order). */
  ready: boolean;
  /** Keys of every run seen on this page (all filters), sorted. */
  keys: KeyListsSnapshot;
  /** The keys when the first page arrived: what the default columns are built from. */
  firstKeys: KeyListsSnapshot | null;
  /** Milliseconds from the request to the first page's rows. */
  firstPageMs: number | null;
}

const NO_KEYS: KeyListsSnapshot = { metrics: [], params: [], tags: [] };

export function useRuns(experimentId: string, filter: string, orderBy: string) {
  const keys = useRef<KeySets>(emptyKeys());
  const generation = useRef(0);
  const inFlight = useRef<AbortController | null>(null);
  const [state, setState] = useState<RunsState>({
    rows: [],
    nextToken: null,
    loading: true,
    error: null,
    ready: false,
    keys: NO_KEYS,
    firstKeys: null,
    firstPageMs: null,
  });

  const fetchPage = useCallback(
    async (token: string | null, gen: number) => {
      inFlight.current?.abort();
      const abort = new AbortController();
      inFlight.current = abort;
      const started = performance.now();
      if (token === null) performance.mark("runyard:runs:first-request");
      setState((s) => ({ ...s, loading: true }));
      try {
        const page = await searchRuns({
          experimentIds: [experimentId],
          filter,
          orderBy: orderBy ? [orderBy] : undefined,
          maxResults: token === null ? FIRST_PAGE : NEXT_PAGE,
          pageToken: token ?? undefined,
          signal: abort.signal,
        });
        if (gen !== generation.current) return;
        if (token === null) performance.mark("runyard:runs:first-response");
        const rows = page.items.map(normaliseRun);
        const changed = collectKeys(keys.current, rows);
        setState((s) => {
          const lists = changed || s.keys === NO_KEYS ? keyLists(keys.current) : s.keys;
          return {
            rows: token === null ? rows : [...s.rows, ...rows],
            nextToken: page.nextPageToken || null,
            loading: false,
            error: null,
            ready: true,
            keys: lists,
            firstKeys: s.firstKeys ?? lists,
            firstPageMs: token === null ? performance.now() - started : s.firstPageMs,
          };
        });
      } catch (e) {
        if (gen !== generation.current || abort.signal.aborted) return;
        setState((s) => ({ ...s, loading: false, error: e, ready: true, nextToken: token === null ? null : s.nextToken }));
      }
    },
    [experimentId, filter, orderBy],
  );

  useEffect(() => {
    generation.current += 1;
    const gen = generation.current;
    setState((s) => ({ ...s, rows: [], nextToken: null, error: null, ready: false, firstPageMs: null }));
    void fetchPage(null, gen);
    return () => inFlight.current?.abort();
  }, [fetchPage]);

  const current = useRef(state);
  current.current = state;
  const loadMore = useCallback(() => {
    const s = current.current;
    if (s.loading || s.nextToken === null || s.error) return;
    current.current = { ...s, loading: true };
    void fetchPage(s.nextToken, generation.current);
  }, [fetchPage]);

  /** Drops runs from the loaded list (after they were deleted). */
  const remove = useCallback((ids: ReadonlySet<string>) => {
    setState((s) => ({ ...s, rows: s.rows.filter((r) => !ids.has(r.id)) }));
  }, []);

  /** The keys every run seen so far has (for the unknown-key warning). */
  const knownKeys = keys.current;

  return { ...state, loadMore, remove, knownKeys };
}
