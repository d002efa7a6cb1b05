// The UI's routes: MLflow's hash URLs (`#/experiments/<id>/runs/<run_id>`, as every `mlflow` run
// prints them in its "View run" line) parsed into a typed route, and built back into hrefs.
// Everything a view can share (filter, sort, columns, chart settings) lives in the hash's query.

export type Route =
  | { page: "experiments"; query: URLSearchParams }
  | { page: "experiment"; experimentId: string; query: URLSearchParams }
  | { page: "run"; experimentId: string; runId: string; tab: RunTab; artifactPath: string; query: URLSearchParams }
  | { page: "models"; query: URLSearchParams }
  | { page: "model"; name: string; query: URLSearchParams }
  | { page: "modelVersion"; name: string; version: string; query: URLSearchParams }
  | { page: "loggedModel"; experimentId: string; modelId: string; artifactPath: string; query: URLSearchParams }
  | { page: "notFound"; path: string; query: URLSearchParams };

export type RunTab = "overview" | "charts" | "artifacts";

const RUN_TABS: ReadonlySet<string> = new Set(["overview", "charts", "artifacts"]);

function segments(path: string): string[] {
  return path
    .split("/")
    .filter((s) => s.length > 0)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}

/** The route a location hash (`#/experiments/1?filter=...`) names. */
export function parseHash(hash: string): Route {
  const text = hash.startsWith("#") ? hash.slice(1) : hash;
  const mark = text.indexOf("?");
  const path = mark >= 0 ? text.slice(0, mark) : text;
  const query = new URLSearchParams(mark >= 0 ? text.slice(mark + 1) : "");
  const s = segments(path);
  if (s.length === 0 || (s.length === 1 && s[0] === "experiments")) return { page: "experiments", query };
  if (s[0] === "experiments" && s[1] !== undefined) {
    const experimentId = s[1];
    if (s.length === 2 || (s.length === 3 && s[2] === "runs")) return { page: "experiment", experimentId, query };
    if (s[2] === "runs" && s[3] !== undefined) {
      const runId = s[3];
      const rest = s.slice(4);
      if (rest.length === 0) return { page: "run", experimentId, runId, tab: "overview", artifactPath: "", query };
      const first = rest[0] ?? "";
      // MLflow's own run sub-routes: `/artifacts/<path>`, `/model-metrics`, `/system-metrics`.
      if (first === "artifacts" || first === "artifactPath") {
        return { page: "run", experimentId, runId, tab: "artifacts", artifactPath: rest.slice(1).join("/"), query };
      }
      if (first === "model-metrics" || first === "system-metrics" || first === "charts") {
        return { page: "run", experimentId, runId, tab: "charts", artifactPath: "", query };
      }
      const tab = RUN_TABS.has(first) ? (first as RunTab) : "overview";
      return { page: "run", experimentId, runId, tab, artifactPath: "", query };
    }
    // A logged model (MLflow 3: `/experiments/<id>/models/<model_id>[/artifacts]`); its files.
    if (s[2] === "models" && s[3] !== undefined) {
      const path = s[4] === "artifacts" ? s.slice(5).join("/") : "";
      return { page: "loggedModel", experimentId, modelId: s[3], artifactPath: path, query };
    }
  }
  if (s[0] === "models") {
    if (s.length === 1) return { page: "models", query };
    const name = s[1] ?? "";
    if (s.length === 2) return { page: "model", name, query };
    if (s[2] === "versions" && s[3] !== undefined) return { page: "modelVersion", name, version: s[3], query };
  }
  return { page: "notFound", path, query };
}

function withQuery(path: string, query?: URLSearchParams | Record<string, string>): string {
  const q = query instanceof URLSearchParams ? query : new URLSearchParams(query ?? {});
  const text = q.toString();
  return text ? `${path}?${text}` : path;
}

const enc = encodeURIComponent;

export const href = {
  experiments: (query?: Record<string, string>) => withQuery("#/experiments", query),
  experiment: (id: string, query?: URLSearchParams | Record<string, string>) =>
    withQuery(`#/experiments/${enc(id)}`, query),
  run: (experimentId: string, runId: string, tab: RunTab = "overview", query?: Record<string, string>) =>
    withQuery(
      `#/experiments/${enc(experimentId)}/runs/${enc(runId)}${tab === "overview" ? "" : `/${tab}`}`,
      query,
    ),
  artifact: (experimentId: string, runId: string, path: string) =>
    `#/experiments/${enc(experimentId)}/runs/${enc(runId)}/artifacts${path ? "/" + path.split("/").map(enc).join("/") : ""}`,
  loggedModel: (experimentId: string, modelId: string, path = "") =>
    `#/experiments/${enc(experimentId)}/models/${enc(modelId)}/artifacts${path ? "/" + path.split("/").map(enc).join("/") : ""}`,
  models: () => "#/models",
  model: (name: string) => `#/models/${enc(name)}`,
  modelVersion: (name: string, version: string) => `#/models/${enc(name)}/versions/${enc(version)}`,
};

/** Replaces the hash's query (keeps the path) without adding a history entry per keystroke. */
export function replaceQuery(query: URLSearchParams): void {
  const text = window.location.hash.slice(1);
  const mark = text.indexOf("?");
  const path = mark >= 0 ? text.slice(0, mark) : text;
  const next = withQuery(path || "/experiments", query);
  window.history.replaceState(null, "", `#${next}`);
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}
