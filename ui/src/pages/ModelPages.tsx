// Registered models, one model, one model version (to be completed).
import { useEffect, useState } from "react";
import { getModelVersion } from "../api/mlflow";
import type { ModelVersion } from "../api/types";
import { ErrorBanner, Loading } from "../components/status";

export function ModelsPage() {
  return <h1>Models</h1>;
}

export function ModelPage({ name }: { name: string }) {
  return <h1>{name}</h1>;
}

export function ModelVersionPage({ name, version }: { name: string; version: string }) {
  const [mv, setMv] = useState<ModelVersion | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const abort = new AbortController();
    getModelVersion(name, version, abort.signal).then(setMv, setError);
    return () => abort.abort();
  }, [name, version]);
  if (error) return <ErrorBanner error={error} />;
  if (!mv) return <Loading what="model version" />;
  return (
    <h1>
      {mv.name} version {mv.version}
    </h1>
  );
}
