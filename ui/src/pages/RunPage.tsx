// A run's page, as MLflow links to it (`#/experiments/<id>/runs/<run_id>`): the header, then the
// Overview (description, params, latest metrics with sparklines, tags with editing, parent and
// children, datasets, logged models, registered versions), Charts and Artifacts tabs. A running
// run is re-read every few seconds while the page is visible.
import { useEffect, useMemo, useState } from "react";
import { runArtifacts } from "../api/artifacts";
import { getExperiment, getRun, searchRuns } from "../api/mlflow";
import type { Run } from "../api/types";
import { ArtifactBrowser } from "../artifacts/ArtifactBrowser";
import { ChartGrid, DEFAULT_SETTINGS, type ChartRun } from "../charts/ChartGrid";
import type { ChartSettings } from "../charts/MetricChart";
import type { XAxis } from "../api/charts";
import { ErrorBanner, Loading } from "../components/status";
import { href, replaceQuery, type Route } from "../routing/route";
import { Description } from "../run/Description";
import { RunHeader } from "../run/RunHeader";
import { Datasets, Lineage, LoggedModels, RegisteredVersions } from "../run/Related";
import { MetricsTable, ParamsTable } from "../run/Tables";
import { TagsPanel } from "../run/TagsPanel";
import { NOTE, PARENT, tagMap } from "../run/tags";
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

interface ChartView {
  settings: ChartSettings;
  filter: string;
  /** Other runs overlaid on this run's charts (`runs=<id>,<id>` in the URL). */
  others: string[];
  children: boolean;
}

function keepView(v: ChartView): void {
  const q = new URLSearchParams();
  if (v.filter) q.set("filter", v.filter);
  if (v.settings.xAxis !== DEFAULT_SETTINGS.xAxis) q.set("x", v.settings.xAxis);
  if (v.settings.smoothing) q.set("smooth", String(v.settings.smoothing));
  if (v.settings.log) q.set("log", "1");
  if (!v.settings.band) q.set("band", "0");
  if (v.others.length) q.set("runs", v.others.join(","));
  if (v.children) q.set("children", "1");
  replaceQuery(q);
}

function chartRun(r: Run): ChartRun {
  return { runId: r.info.run_id, label: r.info.run_name || r.info.run_id, running: r.info.status === "RUNNING" };
}

function RunCharts({ run, query }: { run: Run; query: URLSearchParams }) {
  // Read once: the grid owns its state and writes it back to the URL.
  const [initial] = useState(() => ({ settings: settingsFrom(query), filter: query.get("filter") ?? "" }));
  const [view, setView] = useState<ChartView>(() => ({
    settings: { ...DEFAULT_SETTINGS, ...initial.settings },
    filter: initial.filter,
    others: (query.get("runs") ?? "").split(",").filter((id) => id && id !== run.info.run_id),
    children: query.get("children") === "1",
  }));
  const change = (patch: Partial<ChartView>) => {
    const next = { ...view, ...patch };
    setView(next);
    keepView(next);
  };
  const runId = run.info.run_id;
  const children = useAsync(
    (signal) =>
      searchRuns({
        experimentIds: [run.info.experiment_id],
        filter: `tags.${PARENT} = '${runId}'`,
        maxResults: 100,
        signal,
      }).then((p) => p.items),
    [runId, run.info.experiment_id],
  );
  const othersKey = view.others.join(",");
  const others = useAsync(
    (signal) => Promise.all(view.others.map((id) => getRun(id, signal).catch(() => null))),
    [othersKey],
  );
  const all = useMemo(() => {
    const list: Run[] = [run];
    const seen = new Set([runId]);
    const add = (r: Run | null) => {
      if (r && !seen.has(r.info.run_id)) {
        seen.add(r.info.run_id);
        list.push(r);
      }
    };
    (others.data ?? []).forEach(add);
    if (view.children) (children.data ?? []).forEach(add);
    return list;
  }, [run, runId, others.data, children.data, view.children]);
  const keys = useMemo(() => [...new Set(all.flatMap((r) => (r.data.metrics ?? []).map((m) => m.key)))], [all]);
  const runs = useMemo(() => all.map(chartRun), [all]);
  const kids = children.data ?? [];
  return (
    <div>
      {(kids.length > 0 || view.others.length > 0) && (
        <div className="chart-runs">
          {kids.length > 0 && (
            <label>
              <input type="checkbox" checked={view.children} onChange={(e) => change({ children: e.target.checked })} /> Overlay
              child runs ({kids.length})
            </label>
          )}
          {view.others.length > 0 && (
            <span className="muted">
              Overlaid: {(others.data ?? []).filter(Boolean).length} other run{view.others.length === 1 ? "" : "s"}{" "}
              <button type="button" className="link-button" onClick={() => change({ others: [] })}>
                clear
              </button>
            </span>
          )}
        </div>
      )}
      <ChartGrid
        runs={runs}
        metricKeys={keys}
        initialSettings={initial.settings}
        initialFilter={initial.filter}
        onSettingsChange={(settings) => change({ settings })}
        onFilterChange={(filter) => change({ filter })}
      />
    </div>
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
