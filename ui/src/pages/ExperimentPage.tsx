// An experiment's runs table (to be completed).
import { useEffect, useState } from "react";
import { getExperiment } from "../api/mlflow";
import type { Experiment } from "../api/types";
import { ErrorBanner, Loading } from "../components/status";

export function ExperimentPage({ experimentId }: { experimentId: string; query: URLSearchParams }) {
  const [experiment, setExperiment] = useState<Experiment | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const abort = new AbortController();
    getExperiment(experimentId, abort.signal).then(setExperiment, setError);
    return () => abort.abort();
  }, [experimentId]);
  if (error) return <ErrorBanner error={error} />;
  if (!experiment) return <Loading what="experiment" />;
  return <h1>{experiment.name}</h1>;
}
