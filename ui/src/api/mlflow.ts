// Typed calls to the MLflow REST API the pages use (the `ajax-api` prefix, as MLflow's UI calls it).
import { request } from "./client";
import type {
  CurrentUser,
  Experiment,
  FileInfo,
  LoggedModel,
  ModelVersion,
  RegisteredModel,
  Run,
  Workspace,
} from "./types";

const M = "ajax-api/2.0/mlflow";

export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

export type ViewType = "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL";

export async function searchExperiments(options: {
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
  viewType?: ViewType;
  signal?: AbortSignal;
}): Promise<Page<Experiment>> {
  const body = await request<{ experiments?: Experiment[]; next_page_token?: string }>(`${M}/experiments/search`, {
    method: "POST",
    body: {
      filter: options.filter || undefined,
      order_by: options.orderBy,
      max_results: options.maxResults ?? 1000,
      page_token: options.pageToken,
      view_type: options.viewType ?? "ACTIVE_ONLY",
    },
    signal: options.signal,
  });
  return { items: body.experiments ?? [], nextPageToken: body.next_page_token };
}

export async function getExperiment(id: string, signal?: AbortSignal): Promise<Experiment> {
  const body = await request<{ experiment: Experiment }>(`${M}/experiments/get`, {
    query: { experiment_id: id },
    signal,
  });
  return body.experiment;
}

export async function createExperiment(name: string): Promise<string> {
  const body = await request<{ experiment_id: string }>(`${M}/experiments/create`, { method: "POST", body: { name } });
  return body.experiment_id;
}

export async function renameExperiment(id: string, name: string): Promise<void> {
  await request(`${M}/experiments/update`, { method: "POST", body: { experiment_id: id, new_name: name } });
}

export async function deleteExperiment(id: string): Promise<void> {
  await request(`${M}/experiments/delete`, { method: "POST", body: { experiment_id: id } });
}

export async function restoreExperiment(id: string): Promise<void> {
  await request(`${M}/experiments/restore`, { method: "POST", body: { experiment_id: id } });
}

export async function searchRuns(options: {
  experimentIds: string[];
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
  viewType?: ViewType;
  signal?: AbortSignal;
}): Promise<Page<Run>> {
  const body = await request<{ runs?: Run[]; next_page_token?: string }>(`${M}/runs/search`, {
    method: "POST",
    body: {
      experiment_ids: options.experimentIds,
      filter: options.filter || undefined,
      order_by: options.orderBy,
      max_results: options.maxResults ?? 1000,
      page_token: options.pageToken,
      run_view_type: options.viewType ?? "ACTIVE_ONLY",
    },
    signal: options.signal,
  });
  return { items: body.runs ?? [], nextPageToken: body.next_page_token };
}

export async function getRun(runId: string, signal?: AbortSignal): Promise<Run> {
  const body = await request<{ run: Run }>(`${M}/runs/get`, { query: { run_id: runId }, signal });
  return body.run;
}

export async function setRunTag(runId: string, key: string, value: string): Promise<void> {
  await request(`${M}/runs/set-tag`, { method: "POST", body: { run_id: runId, key, value } });
}

export async function deleteRunTag(runId: string, key: string): Promise<void> {
  await request(`${M}/runs/delete-tag`, { method: "POST", body: { run_id: runId, key } });
}

export async function renameRun(runId: string, name: string): Promise<void> {
  await request(`${M}/runs/update`, { method: "POST", body: { run_id: runId, run_name: name } });
}

export async function listArtifacts(runId: string, path: string, signal?: AbortSignal): Promise<FileInfo[]> {
  const body = await request<{ files?: FileInfo[] }>(`${M}/artifacts/list`, {
    query: { run_id: runId, path: path || undefined },
    signal,
  });
  return body.files ?? [];
}

export async function getLoggedModel(modelId: string, signal?: AbortSignal): Promise<LoggedModel> {
  const body = await request<{ model: LoggedModel }>(`${M}/logged-models/${encodeURIComponent(modelId)}`, { signal });
  return body.model;
}

export async function getModelVersion(name: string, version: string, signal?: AbortSignal): Promise<ModelVersion> {
  const body = await request<{ model_version: ModelVersion }>(`${M}/model-versions/get`, {
    query: { name, version },
    signal,
  });
  return body.model_version;
}

export async function searchModelVersions(filter: string, signal?: AbortSignal): Promise<ModelVersion[]> {
  const body = await request<{ model_versions?: ModelVersion[] }>(`${M}/model-versions/search`, {
    query: { filter, max_results: 1000 },
    signal,
  });
  return body.model_versions ?? [];
}

export async function getRegisteredModel(name: string, signal?: AbortSignal): Promise<RegisteredModel> {
  const body = await request<{ registered_model: RegisteredModel }>(`${M}/registered-models/get`, {
    query: { name },
    signal,
  });
  return body.registered_model;
}

export async function searchRegisteredModels(signal?: AbortSignal): Promise<RegisteredModel[]> {
  const body = await request<{ registered_models?: RegisteredModel[] }>(`${M}/registered-models/search`, {
    query: { max_results: 1000 },
    signal,
  });
  return body.registered_models ?? [];
}

export async function listWorkspaces(signal?: AbortSignal): Promise<Workspace[]> {
  const body = await request<{ workspaces?: Workspace[] }>("ajax-api/3.0/mlflow/workspaces", { signal });
  return body.workspaces ?? [];
}

/** The signed-in user, or null when the server runs without authentication. Without a session on a
 * server that signs users in, the 401 sends the browser to the login page. */
export async function currentUser(signal?: AbortSignal): Promise<CurrentUser | null> {
  const body = await request<{ auth_enabled: boolean; user?: CurrentUser }>("ajax-api/2.0/runyard/ui/session", {
    signal,
  });
  return body.user ?? null;
}
