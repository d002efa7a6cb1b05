// Entry point: moves a client link that names its workspace in the hash (`?workspace=team`) below
// `/w/team/`, then mounts the application.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { workspaceRedirect } from "./routing/workspaceLink";
import "./styles.css";

const moved = workspaceRedirect(window.location.pathname, window.location.hash);
if (moved !== null && moved.split("#")[0] !== window.location.pathname) {
  window.location.replace(moved);
} else {
  if (moved !== null) window.history.replaceState(null, "", moved);
  const root = document.getElementById("root");
  if (root) {
    createRoot(root).render(
      <StrictMode>
        <App />
      </StrictMode>,
    );
  }
}
