// A value loaded asynchronously for the current inputs: the loader gets an AbortSignal that fires
// when the inputs change or the component goes away. New inputs clear the old value; `reload`
// (or a poll) runs the loader again and keeps showing the old value until the new one arrives.
import { useCallback, useEffect, useRef, useState, type DependencyList } from "react";

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: DependencyList): Async<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: null,
    loading: true,
  });
  const [generation, setGeneration] = useState(0);
  const reloading = useRef(false);
  useEffect(() => {
    const abort = new AbortController();
    const keep = reloading.current;
    reloading.current = false;
    setState((s) => ({ data: keep ? s.data : undefined, error: keep ? s.error : null, loading: true }));
    load(abort.signal).then(
      (data) => {
        if (!abort.signal.aborted) setState({ data, error: null, loading: false });
      },
      (error: unknown) => {
        if (!abort.signal.aborted) setState((s) => ({ data: keep ? s.data : undefined, error, loading: false }));
      },
    );
    return () => abort.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, generation]);
  const reload = useCallback(() => {
    reloading.current = true;
    setGeneration((g) => g + 1);
  }, []);
  return { ...state, reload };
}
