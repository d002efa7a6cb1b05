// Moves the page to another workspace: `/w/<name>/#/experiments` (the default one at `/`).
import { serverRoot } from "../api/client";
import { useSession } from "./session";

export function workspaceHome(name: string, defaultName: string): string {
  return name === defaultName ? `${serverRoot()}#/experiments` : `${serverRoot()}w/${encodeURIComponent(name)}/#/experiments`;
}

export function WorkspaceSwitcher() {
  const { workspace, workspaces } = useSession();
  const names = workspaces.map((w) => w.name);
  if (!names.includes(workspace)) names.unshift(workspace);
  return (
    <label className="workspace-switcher" title="Workspace">
      <span className="muted">Workspace</span>
      <select
        aria-label="Workspace"
        value={workspace}
        onChange={(e) => window.location.assign(workspaceHome(e.target.value, "default"))}
      >
        {names.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
    </label>
  );
}
