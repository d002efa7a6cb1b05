// The preview of one artifact file, by type: text / logs with line numbers, JSON pretty-printed,
// YAML coloured, CSV / TSV as a table, images inline (SVG through an <img>, so its scripts never
// run), HTML in a sandboxed frame (no scripts, no same-origin access), MLmodel as a card. Text
// previews read the first MiB only and say so.
import { useEffect, useState } from "react";
import { decodeText, fetchHead, type ArtifactSource, type FileHead } from "../api/artifacts";
import { formatBytes } from "../components/format";
import { ErrorBanner, Loading } from "../components/status";
import { useAsync } from "../run/useAsync";
import { delimiterFor } from "./delimited";
import { basename, looksLikeText, previewKind, type PreviewKind } from "./fileTypes";
import { jsonLine, yamlLine } from "./highlight";
import { ModelCard } from "./ModelCard";
import { TablePreview } from "./TablePreview";
import { TextViewer } from "./TextViewer";

export const TEXT_CAP = 1 << 20;
const LARGE_CAP = 5 << 20;

function capFor(kind: PreviewKind): number {
  return kind === "table" || kind === "html" || kind === "svg" ? LARGE_CAP : TEXT_CAP;
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i >= 0 ? path.slice(0, i) : "";
}

function CapNotice({ head, size }: { head: FileHead; size?: number }) {
  if (!head.truncated) return null;
  const total = size ?? head.total;
  return (
    <div className="notice" role="note">
      Showing the first {formatBytes(head.bytes.length)}
      {total ? ` of ${formatBytes(total)}` : ""}. Download the file to see all of it.
    </div>
  );
}

function SvgImage({ head, name }: { head: FileHead; name: string }) {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    const blob = new Blob([head.bytes as BlobPart], { type: "image/svg+xml" });
    const u = URL.createObjectURL(blob);
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [head]);
  return url ? <img className="image-preview" src={url} alt={name} /> : null;
}

function JsonView({ text, truncated }: { text: string; truncated: boolean }) {
  if (!truncated) {
    try {
      return <TextViewer text={JSON.stringify(JSON.parse(text), null, 2)} tokenize={jsonLine} label="JSON" />;
    } catch {
      return (
        <>
          <div className="notice">Not valid JSON: shown as text.</div>
          <TextViewer text={text} tokenize={jsonLine} />
        </>
      );
    }
  }
  return <TextViewer text={text} tokenize={jsonLine} />;
}

function FetchedPreview({ source, path, kind, size }: { source: ArtifactSource; path: string; kind: PreviewKind; size?: number }) {
  const name = basename(path);
  const head = useAsync((signal) => fetchHead(source.fileUrl(path), capFor(kind), signal), [source.id, path, kind]);
  if (head.error) return <ErrorBanner error={head.error} />;
  if (!head.data) return <Loading what="preview" />;
  const h = head.data;
  if (kind === "svg") return <SvgImage head={h} name={name} />;
  if (kind === "binary" && !looksLikeText(h.bytes)) {
    return <div className="empty">No preview for this file type. Use the download link.</div>;
  }
  const text = decodeText(h);
  let body;
  if (kind === "html") {
    body = (
      <iframe
        className="html-preview"
        title={`HTML preview of ${name}`}
        sandbox=""
        srcDoc={text}
        referrerPolicy="no-referrer"
      />
    );
  } else if (kind === "table") body = <TablePreview text={text} delimiter={delimiterFor(name)} truncated={h.truncated} />;
  else if (kind === "json") body = <JsonView text={text} truncated={h.truncated} />;
  else if (kind === "yaml") body = <TextViewer text={text} tokenize={yamlLine} label="YAML" />;
  else body = <TextViewer text={text} />;
  return (
    <>
      <CapNotice head={h} size={size} />
      {body}
    </>
  );
}

export function FilePreview({
  source,
  path,
  size,
  linkFor,
}: {
  source: ArtifactSource;
  path: string;
  size?: number;
  linkFor?: (path: string) => string;
}) {
  const kind = previewKind(path);
  const name = basename(path);
  return (
    <div className="file-preview" data-preview={kind}>
      <div className="preview-head">
        <span className="mono preview-path">{path}</span>
        {size !== undefined && <span className="muted">{formatBytes(size)}</span>}
        <a className="download" href={source.fileUrl(path)} download={name}>
          Download
        </a>
      </div>
      {kind === "mlmodel" ? (
        <ModelCard source={source} dir={dirname(path)} linkFor={linkFor} />
      ) : kind === "image" ? (
        <img className="image-preview" src={source.fileUrl(path)} alt={name} />
      ) : (
        <FetchedPreview key={path} source={source} path={path} kind={kind} size={size} />
      )}
    </div>
  );
}
