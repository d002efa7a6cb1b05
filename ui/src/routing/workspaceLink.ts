// The mlflow client's links for a workspace other than the default name it in the hash's query
// (`#/experiments/5?workspace=team`), as MLflow's UI reads it. Runyard's page works in the
// workspace its URL path names (`/w/team/`), so such a link is moved there before anything loads.

const DEFAULT_WORKSPACE = "default";

/** Where the page must go instead (null: it is where it should be). `pathname` is the page's path
 * (`/` or `/w/<workspace>/`), `hash` its hash. */
export function workspaceRedirect(pathname: string, hash: string): string | null {
  const text = hash.startsWith("#") ? hash.slice(1) : hash;
  const mark = text.indexOf("?");
  if (mark < 0) return null;
  const query = new URLSearchParams(text.slice(mark + 1));
  const wanted = query.get("workspace");
  if (wanted === null || wanted === "") return null;
  const m = /^(.*?)(?:\/w\/([^/]+))?\/$/.exec(pathname.endsWith("/") ? pathname : pathname + "/");
  const root = m?.[1] ?? "";
  const current = m?.[2] !== undefined ? decodeURIComponent(m[2]) : DEFAULT_WORKSPACE;
  query.delete("workspace");
  const rest = query.toString();
  const newHash = `#${text.slice(0, mark)}${rest ? `?${rest}` : ""}`;
  if (current === wanted) return `${pathname}${newHash}`;
  const base = wanted === DEFAULT_WORKSPACE ? `${root}/` : `${root}/w/${encodeURIComponent(wanted)}/`;
  return `${base}${newHash}`;
}
