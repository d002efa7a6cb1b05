// A run's page (to be completed: overview, charts, artifacts).
import { useEffect, useState } from "react";
import { getRun } from "../api/mlflow";
import type { Run } from "../api/types";
import { ErrorBanner, Loading } from "../components/status";
import type { Route } from "../routing/route";

export function RunPage({ route }: { route: Extract<Route, { page: "run" }> }) {
  const [run, setRun] = useState<Run | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const abort = new AbortController();
    getRun(route.runId, abort.signal).then(setRun, setError);
    return () => abort.abort();
  }, [route.runId]);
  if (error) return <ErrorBanner error={error} />;
  if (!run) return <Loading what="run" />;
  return <h1>{run.info.run_name || run.info.run_id}</h1>;
}
