// A logged model (MLflow 3 keeps a model's files with the model, not the run): its name, status,
// source run, and its files in the artifacts browser (the MLmodel card at the root).
import { useMemo } from "react";
import { loggedModelArtifacts } from "../api/artifacts";
import { getExperiment, getLoggedModel } from "../api/mlflow";
import { ArtifactBrowser } from "../artifacts/ArtifactBrowser";
import { formatTime } from "../components/format";
import { ErrorBanner, Loading } from "../components/status";
import { href, type Route } from "../routing/route";
import { CopyButton } from "../run/CopyButton";
import { useAsync } from "../run/useAsync";
import "../run/run.css";

export function LoggedModelPage({ route }: { route: Extract<Route, { page: "loggedModel" }> }) {
  const model = useAsync((signal) => getLoggedModel(route.modelId, signal), [route.modelId]);
  const source = useMemo(() => loggedModelArtifacts(route.modelId), [route.modelId]);
  const experimentId = model.data?.info.experiment_id ?? route.experimentId;
  const experiment = useAsync((signal) => getExperiment(experimentId, signal), [experimentId]);
  if (model.error) return <ErrorBanner error={model.error} />;
  if (!model.data) return <Loading what="logged model" />;
  const info = model.data.info;
  return (
    <div className="run-page">
      <header className="run-header">
        <div className="breadcrumbs">
          <a href={href.experiments()}>Experiments</a> › <a href={href.experiment(experimentId)}>{experiment.data?.name ?? `Experiment ${experimentId}`}</a>
        </div>
        <div className="run-title">
          <h1>{info.name || info.model_id}</h1>
          <span className="status-badge">{(info.status ?? "").replace(/^LOGGED_MODEL_/, "").toLowerCase()}</span>
        </div>
        <dl className="run-facts">
          <div>
            <dt>Model ID</dt>
            <dd>
              <code>{info.model_id}</code> <CopyButton value={info.model_id} />
            </dd>
          </div>
          {info.source_run_id && (
            <div>
              <dt>Source run</dt>
              <dd>
                <a href={href.run(experimentId, info.source_run_id)} className="mono">
                  {info.source_run_id}
                </a>
              </dd>
            </div>
          )}
          <div>
            <dt>Created</dt>
            <dd>{formatTime(info.creation_timestamp_ms) || "–"}</dd>
          </div>
          {info.model_type ? (
            <div>
              <dt>Type</dt>
              <dd>{info.model_type}</dd>
            </div>
          ) : null}
        </dl>
      </header>
      <ArtifactBrowser
        source={source}
        path={route.artifactPath}
        linkFor={(path) => href.loggedModel(experimentId, route.modelId, path)}
      />
    </div>
  );
}
