// Where artifact files come from — a run's artifacts, a logged model's files, a registered model
// version's files — behind one interface (list a folder, the URL of a file), and reading a file's
// first bytes only (previews are capped: the server sends whole files, the read stops early).
import { apiUrl, artifactUrl, parseError, request, toLogin } from "./client";
import { listArtifacts } from "./mlflow";
import type { FileInfo } from "./types";

export interface ArtifactSource {
  /** Distinguishes sources in caches and React keys. */
  id: string;
  /** The files of folder `path` ("" for the root); paths in the answer are relative to the root. */
  list(path: string, signal?: AbortSignal): Promise<FileInfo[]>;
  /** Whether `list` works (a model version's files can be read but not listed). */
  canList: boolean;
  fileUrl(path: string): string;
}

export function runArtifacts(runId: string): ArtifactSource {
  return {
    id: `run:${runId}`,
    canList: true,
    list: (path, signal) => listArtifacts(runId, path, signal),
    fileUrl: (path) => artifactUrl(runId, path),
  };
}

const M = "ajax-api/2.0/mlflow";

export function loggedModelArtifacts(modelId: string): ArtifactSource {
  const base = `${M}/logged-models/${encodeURIComponent(modelId)}/artifacts`;
  return {
    id: `model:${modelId}`,
    canList: true,
    list: async (path, signal) => {
      const body = await request<{ files?: FileInfo[] }>(`${base}/directories`, {
        query: { artifact_directory_path: path || undefined },
        signal,
      });
      return body.files ?? [];
    },
    fileUrl: (path) => apiUrl(`${base}/files`, { artifact_file_path: path }),
  };
}

export function modelVersionArtifacts(name: string, version: string): ArtifactSource {
  return {
    id: `version:${name}/${version}`,
    canList: false,
    list: () => Promise.reject(new Error("a model version's files cannot be listed")),
    fileUrl: (path) => apiUrl("model-versions/get-artifact", { name, version, path }),
  };
}

export interface FileHead {
  bytes: Uint8Array;
  /** True when the file is longer than what was read. */
  truncated: boolean;
  /** The file's length when the server said it. */
  total: number | null;
}

/** The first `cap` bytes of the file at `url`; the download stops there. */
export async function fetchHead(url: string, cap: number, signal?: AbortSignal): Promise<FileHead> {
  const response = await fetch(url, { credentials: "same-origin", signal, headers: { "X-Requested-With": "XMLHttpRequest" } });
  if (!response.ok) {
    if (response.status === 401) toLogin();
    throw await parseError(response);
  }
  const declared = response.headers.get("content-length");
  const total = declared === null ? null : Number(declared);
  if (!response.body) {
    const all = new Uint8Array(await response.arrayBuffer());
    return { bytes: all.slice(0, cap), truncated: all.length > cap, total: total ?? all.length };
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size > cap) {
      truncated = true;
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  const bytes = new Uint8Array(Math.min(size, cap));
  let at = 0;
  for (const chunk of chunks) {
    const take = Math.min(chunk.length, bytes.length - at);
    bytes.set(chunk.subarray(0, take), at);
    at += take;
    if (at >= bytes.length) break;
  }
  return { bytes, truncated: truncated || (total !== null && total > bytes.length), total };
}

/** Text of the first `cap` bytes (a character cut by the cap is dropped, not garbled). */
export function decodeText(head: FileHead): string {
  return new TextDecoder("utf-8", { fatal: false }).decode(head.bytes, { stream: head.truncated });
}
