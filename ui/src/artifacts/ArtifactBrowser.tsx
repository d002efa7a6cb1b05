// The artifacts browser: a folder tree loaded lazily (one listing per opened folder) beside the
// preview of what is selected. The selection is the URL's artifact path, so a preview can be
// linked to; a folder holding an `MLmodel` shows the model's card.
import { useCallback, useEffect, useRef, useState } from "react";
import type { ArtifactSource } from "../api/artifacts";
import type { FileInfo } from "../api/types";
import { formatBytes } from "../components/format";
import { ErrorBanner, Loading } from "../components/status";
import { basename } from "./fileTypes";
import { FilePreview } from "./FilePreview";
import { ModelCard } from "./ModelCard";
import "./artifacts.css";

interface Folder {
  files?: FileInfo[];
  error?: unknown;
}

function ancestors(path: string): string[] {
  const parts = path.split("/").filter(Boolean);
  const out = [""];
  for (let i = 1; i < parts.length; i += 1) out.push(parts.slice(0, i).join("/"));
  return out;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i >= 0 ? path.slice(0, i) : "";
}

function sortFiles(files: FileInfo[]): FileInfo[] {
  return [...files].sort((a, b) =>
    a.is_dir === b.is_dir ? basename(a.path).localeCompare(basename(b.path)) : a.is_dir ? -1 : 1,
  );
}

function size(f: FileInfo): number | undefined {
  return f.file_size === undefined || f.file_size === "" ? undefined : Number(f.file_size);
}

export function ArtifactBrowser({
  source,
  path,
  linkFor,
}: {
  source: ArtifactSource;
  /** The selected file or folder ("" for the root). */
  path: string;
  linkFor: (path: string) => string;
}) {
  const [folders, setFolders] = useState<Map<string, Folder>>(() => new Map());
  const [open, setOpen] = useState<Set<string>>(() => new Set([""]));

  const requested = useRef<Set<string>>(new Set());
  const load = useCallback(
    (dir: string) => {
      if (requested.current.has(dir)) return;
      requested.current.add(dir);
      setFolders((m) => new Map(m).set(dir, {}));
      source.list(dir).then(
        (files) => setFolders((m) => new Map(m).set(dir, { files: sortFiles(files) })),
        (error: unknown) => setFolders((m) => new Map(m).set(dir, { error })),
      );
    },
    [source],
  );

  const clean = path.replace(/^\/+|\/+$/g, "");
  useEffect(() => {
    const chain = ancestors(clean);
    chain.forEach(load);
    setOpen((s) => {
      const next = new Set(s);
      chain.forEach((d) => next.add(d));
      return next;
    });
  }, [clean, load]);

  const parent = folders.get(parentOf(clean));
  const entry = clean ? parent?.files?.find((f) => f.path === clean) : undefined;
  const selectedIsDir = clean === "" || entry?.is_dir === true;
  useEffect(() => {
    if (selectedIsDir) {
      load(clean);
      setOpen((s) => (s.has(clean) ? s : new Set(s).add(clean)));
    }
  }, [selectedIsDir, clean, load]);

  const toggle = (dir: string) => {
    load(dir);
    setOpen((s) => {
      const next = new Set(s);
      if (next.has(dir)) next.delete(dir);
      else next.add(dir);
      return next;
    });
  };

  const root = folders.get("");
  let preview;
  if (clean && parent && parent.files && !entry) {
    preview = <div className="empty">No artifact at {clean}.</div>;
  } else if (clean && !entry) {
    preview = parent?.error ? <ErrorBanner error={parent.error} /> : <Loading what="artifact" />;
  } else if (selectedIsDir) {
    preview = <FolderView source={source} dir={clean} folder={folders.get(clean)} linkFor={linkFor} />;
  } else if (entry) {
    preview = <FilePreview key={entry.path} source={source} path={entry.path} size={size(entry)} linkFor={linkFor} />;
  }

  return (
    <div className="artifact-browser">
      <nav className="artifact-tree" aria-label="Artifacts">
        <a className={`tree-item tree-root${clean === "" ? " selected" : ""}`} href={linkFor("")}>
          Artifacts
        </a>
        {root?.error ? <ErrorBanner error={root.error} /> : null}
        {root && !root.files && !root.error && <Loading />}
        {root?.files && root.files.length === 0 && <div className="muted tree-empty">No artifacts.</div>}
        {root?.files && (
          <TreeLevel files={root.files} depth={0} folders={folders} open={open} selected={clean} toggle={toggle} linkFor={linkFor} />
        )}
      </nav>
      <section className="artifact-preview">{preview}</section>
    </div>
  );
}

function TreeLevel({
  files,
  depth,
  folders,
  open,
  selected,
  toggle,
  linkFor,
}: {
  files: FileInfo[];
  depth: number;
  folders: Map<string, Folder>;
  open: Set<string>;
  selected: string;
  toggle: (dir: string) => void;
  linkFor: (path: string) => string;
}) {
  return (
    <ul className="tree-level" role="group">
      {files.map((f) => {
        const isOpen = f.is_dir === true && open.has(f.path);
        const folder = folders.get(f.path);
        return (
          <li key={f.path}>
            <div className={`tree-item${selected === f.path ? " selected" : ""}`} style={{ paddingLeft: 6 + depth * 14 }}>
              {f.is_dir ? (
                <button
                  type="button"
                  className="caret"
                  aria-label={isOpen ? `Collapse ${basename(f.path)}` : `Expand ${basename(f.path)}`}
                  aria-expanded={isOpen}
                  onClick={() => toggle(f.path)}
                >
                  {isOpen ? "▾" : "▸"}
                </button>
              ) : (
                <span className="caret-space" />
              )}
              <a href={linkFor(f.path)} className={f.is_dir ? "tree-dir" : "tree-file"} title={f.path}>
                {basename(f.path)}
              </a>
              {!f.is_dir && <span className="tree-size muted">{formatBytes(size(f))}</span>}
            </div>
            {isOpen && folder?.error ? <ErrorBanner error={folder.error} /> : null}
            {isOpen && folder && !folder.files && !folder.error && (
              <div className="muted tree-loading" style={{ paddingLeft: 20 + depth * 14 }}>
                Loading…
              </div>
            )}
            {isOpen && folder?.files && (
              <TreeLevel files={folder.files} depth={depth + 1} folders={folders} open={open} selected={selected} toggle={toggle} linkFor={linkFor} />
            )}
          </li>
        );
      })}
    </ul>
  );
}

function FolderView({
  source,
  dir,
  folder,
  linkFor,
}: {
  source: ArtifactSource;
  dir: string;
  folder: Folder | undefined;
  linkFor: (path: string) => string;
}) {
  if (folder?.error) return <ErrorBanner error={folder.error} />;
  if (!folder?.files) return <Loading what="folder" />;
  const files = folder.files;
  const isModel = files.some((f) => !f.is_dir && basename(f.path) === "MLmodel");
  return (
    <div className="folder-view">
      <div className="preview-head">
        <span className="mono preview-path">{dir || "/"}</span>
        <span className="muted">
          {files.length} item{files.length === 1 ? "" : "s"}
        </span>
      </div>
      {isModel && <ModelCard source={source} dir={dir} linkFor={linkFor} />}
      {!isModel && files.length === 0 && <div className="empty">This folder is empty.</div>}
      {!isModel && files.length > 0 && (
        <table className="kv-table folder-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Size</th>
            </tr>
          </thead>
          <tbody>
            {files.map((f) => (
              <tr key={f.path}>
                <td>
                  <a href={linkFor(f.path)}>
                    {basename(f.path)}
                    {f.is_dir ? "/" : ""}
                  </a>
                </td>
                <td className="muted">{f.is_dir ? "" : formatBytes(size(f))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
