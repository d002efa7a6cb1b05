// The experiments list (to be completed: search, create/rename/delete, folder tree).
import { useEffect, useState } from "react";
import { searchExperiments } from "../api/mlflow";
import type { Experiment } from "../api/types";
import { ErrorBanner, Loading } from "../components/status";
import { href } from "../routing/route";

export function ExperimentsPage({ query }: { query: URLSearchParams }) {
  const [items, setItems] = useState<Experiment[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const filter = query.get("filter") ?? "";
  useEffect(() => {
    const abort = new AbortController();
    searchExperiments({ filter, signal: abort.signal }).then((p) => setItems(p.items), setError);
    return () => abort.abort();
  }, [filter]);
  if (error) return <ErrorBanner error={error} />;
  if (!items) return <Loading what="experiments" />;
  return (
    <div>
      <h1>Experiments</h1>
      <ul className="experiment-list">
        {items.map((e) => (
          <li key={e.experiment_id}>
            <a href={href.experiment(e.experiment_id)}>{e.name}</a>
          </li>
        ))}
      </ul>
    </div>
  );
}
