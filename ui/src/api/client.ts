// Calls to the server the page came from. URLs are relative to the page, so a page served below
// `/w/<workspace>/` talks to that workspace (the server reads it from the URL). Errors come back as
// `ApiError` with MLflow's `error_code` and `message`. A cookie-session write carries the CSRF
// token (double submit: the `runyard_csrf` cookie, echoed in `X-CSRF-Token`). A 401 sends the
// browser to the login page, which returns here afterwards.

export class ApiError extends Error {
  readonly status: number;
  readonly errorCode: string;

  constructor(status: number, errorCode: string, message: string) {
    super(message);
    this.status = status;
    this.errorCode = errorCode;
  }
}

const CSRF_COOKIE = "runyard_csrf";
const CSRF_HEADER = "X-CSRF-Token";

function cookie(name: string): string | null {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return null;
}

/** Where the page's own folder is (`/` or `/w/<workspace>/`): the base of every API URL. */
export function pageBase(): string {
  const path = window.location.pathname;
  return path.endsWith("/") ? path : path.slice(0, path.lastIndexOf("/") + 1);
}

/** The workspace named by the page's URL (`/w/<workspace>/`), or null for the default one. */
export function workspaceInUrl(): string | null {
  const m = /\/w\/([^/]+)\//.exec(pageBase());
  return m?.[1] !== undefined ? decodeURIComponent(m[1]) : null;
}

/** The server's root (without the workspace part), for links that leave the workspace. */
export function serverRoot(): string {
  const base = pageBase();
  const m = /^(.*?)\/w\/[^/]+\/$/.exec(base);
  return m ? `${m[1] ?? ""}/` : base;
}

export function apiUrl(path: string, query?: Record<string, string | string[] | number | undefined>): string {
  const url = new URL(path.replace(/^\//, ""), window.location.origin + pageBase());
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined) continue;
    if (Array.isArray(v)) v.forEach((item) => url.searchParams.append(k, item));
    else url.searchParams.set(k, String(v));
  }
  return url.pathname + url.search;
}

let redirecting = false;

export function toLogin(): void {
  if (redirecting) return;
  redirecting = true;
  const next = window.location.pathname + window.location.search + window.location.hash;
  window.location.assign(`${serverRoot()}login?next=${encodeURIComponent(next)}`);
}

/** The MLflow-shaped error of a failed response (or its text, when the body is not one). */
export async function parseError(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error_code?: string; message?: string };
    return new ApiError(response.status, body.error_code ?? "INTERNAL_ERROR", body.message ?? text);
  } catch {
    return new ApiError(response.status, "INTERNAL_ERROR", text || response.statusText);
  }
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PATCH" | "DELETE" | "PUT";
  query?: Record<string, string | string[] | number | undefined>;
  body?: unknown;
  signal?: AbortSignal;
  /** Statuses answered without sending the browser to the login page (e.g. an optional endpoint). */
  quiet?: number[];
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? "GET";
  // `X-Requested-With`: the server then answers a 401 without a Basic challenge, so the browser
  // shows no password dialog and the page sends the user to the login page instead.
  const headers: Record<string, string> = { Accept: "application/json", "X-Requested-With": "XMLHttpRequest" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") {
    const token = cookie(CSRF_COOKIE);
    if (token) headers[CSRF_HEADER] = token;
  }
  const response = await fetch(apiUrl(path, options.query), {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    credentials: "same-origin",
    signal: options.signal,
  });
  if (!response.ok) {
    const error = await parseError(response);
    if (response.status === 401 && !(options.quiet ?? []).includes(401)) toLogin();
    throw error;
  }
  const text = await response.text();
  return (text ? JSON.parse(text) : {}) as T;
}

/** The URL of an artifact's bytes, as MLflow's UI fetches them (`get-artifact?path=&run_uuid=`). */
export function artifactUrl(runId: string, path: string): string {
  return apiUrl("get-artifact", { path, run_uuid: runId });
}
