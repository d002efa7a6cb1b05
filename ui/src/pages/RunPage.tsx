// A run's page, as MLflow links to it (`#/experiments/<id>/runs/<run_id>`): the header, then the
// Overview (description, params, latest metrics with sparklines, tags with editing, parent and
// children, datasets, logged models, registered versions), Charts and Artifacts tabs. A running
// run is re-read every few seconds while the page is visible.
import { useEffect, useMemo, useState } from "react";
import { runArtifacts } from "../api/artifacts";
import { getExperiment, getRun } from "../api/mlflow";
import type { Run } from "../api/types";
import { ArtifactBrowser } from "../artifacts/ArtifactBrowser";
import { ChartGrid, DEFAULT_SETTINGS } from "../charts/ChartGrid";
import type { ChartSettings } from "../charts/MetricChart";
import type { XAxis } from "../api/charts";
import { ErrorBanner, Loading } from "../components/status";
import { href, replaceQuery, type Route } from "../routing/route";
import { Description } from "../run/Description";
import { RunHeader } from "../run/RunHeader";
import { Datasets, Lineage, LoggedModels, RegisteredVersions } from "../run/Related";
import { MetricsTable, ParamsTable } from "../run/Tables";
import { TagsPanel } from "../run/TagsPanel";
import { NOTE, tagMap } from "../run/tags";
import { useAsync } from "../run/useAsync";
import "../run/run.css";

const POLL_MS = 5000;

type RunRoute = Extract<Route, { page: "run" }>;

function Overview({ run, onChanged, refresh }: { run: Run; onChanged: () => void; refresh: number }) {
  const runId = run.info.run_id;
  return (
    <div className="run-overview">
      <div className="overview-main">
        <Description runId={runId} text={tagMap(run).get(NOTE) ?? ""} onChanged={onChanged} />
        <ParamsTable params={run.data.params ?? []} />
        <MetricsTable metrics={run.data.metrics ?? []} runId={runId} experimentId={run.info.experiment_id} refresh={refresh} />
      </div>
      <div className="overview-side">
        <TagsPanel tags={run.data.tags ?? []} runId={runId} onChanged={onChanged} />
        <Lineage run={run} />
        <Datasets inputs={run.inputs?.dataset_inputs ?? []} />
        <LoggedModels run={run} />
        <RegisteredVersions runId={runId} />
      </div>
    </div>
  );
}

function settingsFrom(query: URLSearchParams): Partial<ChartSettings> {
  const out: Partial<ChartSettings> = {};
  const x = query.get("x");
  if (x === "step" || x === "wall" || x === "relative") out.xAxis = x as XAxis;
  const smooth = Number(query.get("smooth"));
  if (query.has("smooth") && smooth >= 0 && smooth < 1) out.smoothing = smooth;
  if (query.get("log") === "1") out.log = true;
  if (query.get("band") === "0") out.band = false;
  return out;
}

function keepSettings(s: ChartSettings, filter: string | null): void {
  const q = new URLSearchParams();
  if (filter) q.set("filter", filter);
  if (s.xAxis !== DEFAULT_SETTINGS.xAxis) q.set("x", s.xAxis);
  if (s.smoothing) q.set("smooth", String(s.smoothing));
  if (s.log) q.set("log", "1");
  if (!s.band) q.set("band", "0");
  replaceQuery(q);
}

function RunCharts({ run, query }: { run: Run; query: URLSearchParams }) {
  const keys = useMemo(() => (run.data.metrics ?? []).map((m) => m.key), [run.data.metrics]);
  const runs = useMemo(
    () => [{ runId: run.info.run_id, label: run.info.run_name || run.info.run_id, running: run.info.status === "RUNNING" }],
    [run.info.run_id, run.info.run_name, run.info.status],
  );
  // Read once: the grid owns its state and writes it back to the URL.
  const [initial] = useState(() => ({ settings: settingsFrom(query), filter: query.get("filter") ?? "" }));
  const [current, setCurrent] = useState({ settings: { ...DEFAULT_SETTINGS, ...initial.settings }, filter: initial.filter });
  return (
    <ChartGrid
      runs={runs}
      metricKeys={keys}
      initialSettings={initial.settings}
      initialFilter={initial.filter}
      onSettingsChange={(s) => {
        setCurrent((c) => ({ ...c, settings: s }));
        keepSettings(s, current.filter);
      }}
      onFilterChange={(f) => {
        setCurrent((c) => ({ ...c, filter: f }));
        keepSettings(current.settings, f);
      }}
    />
  );
}

export function RunPage({ route }: { route: RunRoute }) {
  const run = useAsync((signal) => getRun(route.runId, signal), [route.runId]);
  const experimentId = run.data?.info.experiment_id ?? route.experimentId;
  const experiment = useAsync((signal) => getExperiment(experimentId, signal), [experimentId]);
  const [refresh, setRefresh] = useState(0);
  const running = run.data?.info.status === "RUNNING";
  const { reload } = run;
  useEffect(() => {
    if (!running) return;
    const timer = window.setInterval(() => {
      if (!document.hidden) {
        reload();
        setRefresh((r) => r + 1);
      }
    }, POLL_MS);
    return () => window.clearInterval(timer);
  }, [running, reload]);
  const source = useMemo(() => runArtifacts(route.runId), [route.runId]);

  if (run.error && !run.data) return <ErrorBanner error={run.error} />;
  if (!run.data) return <Loading what="run" />;
  const data = run.data;
  const runId = data.info.run_id || route.runId;
  return (
    <div className="run-page">
      <RunHeader run={data} experiment={experiment.data} tab={route.tab} />
      {run.error ? <ErrorBanner error={run.error} /> : null}
      {route.tab === "overview" && <Overview run={data} onChanged={reload} refresh={refresh} />}
      {route.tab === "charts" && <RunCharts run={data} query={route.query} />}
      {route.tab === "artifacts" && (
        <ArtifactBrowser
          source={source}
          path={route.artifactPath}
          linkFor={(path) => href.artifact(data.info.experiment_id, runId, path)}
        />
      )}
    </div>
  );
}
