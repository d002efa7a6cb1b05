// Which preview a file gets, from its name (and, for names that say nothing, its first bytes).

export type PreviewKind = "text" | "json" | "yaml" | "table" | "image" | "svg" | "html" | "mlmodel" | "binary";

const TEXT = new Set([
  "txt", "log", "out", "err", "md", "markdown", "rst", "py", "ipynb", "sh", "bash", "toml", "ini", "cfg", "conf",
  "properties", "xml", "sql", "r", "js", "ts", "tsx", "jsx", "css", "java", "scala", "go", "rs", "c", "h", "cpp",
  "hpp", "jsonl", "ndjson", "env", "requirements", "lock", "diff", "patch", "tex", "mdx", "proto", "gitignore",
]);
const IMAGE = new Set(["png", "jpg", "jpeg", "gif", "webp", "bmp", "ico", "avif"]);

export function basename(path: string): string {
  const i = path.lastIndexOf("/");
  return i >= 0 ? path.slice(i + 1) : path;
}

export function extension(path: string): string {
  const name = basename(path);
  const i = name.lastIndexOf(".");
  return i > 0 ? name.slice(i + 1).toLowerCase() : "";
}

/** The preview for a file named `path`; "binary" means: decide from the bytes (see `looksLikeText`). */
export function previewKind(path: string): PreviewKind {
  const name = basename(path);
  if (name === "MLmodel") return "mlmodel";
  const ext = extension(path);
  if (ext === "json") return "json";
  if (ext === "yaml" || ext === "yml") return "yaml";
  if (ext === "csv" || ext === "tsv" || ext === "tab") return "table";
  if (ext === "svg") return "svg";
  if (IMAGE.has(ext)) return "image";
  if (ext === "html" || ext === "htm") return "html";
  if (TEXT.has(ext) || name === "Dockerfile" || name === "Makefile" || name === "LICENSE" || name === "README") {
    return "text";
  }
  return "binary";
}

/** True when the first bytes of a file read as text (no NUL byte, few control characters). */
export function looksLikeText(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 8192);
  let control = 0;
  for (let i = 0; i < n; i += 1) {
    const b = bytes[i] ?? 0;
    if (b === 0) return false;
    if (b < 9 || (b > 13 && b < 32)) control += 1;
  }
  return control <= n / 100;
}
