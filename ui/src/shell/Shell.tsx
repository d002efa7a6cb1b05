// The frame around every page: the brand, the main sections, the workspace switcher and who is
// signed in. Later sections (compare, registry, administration) add a link to `SECTIONS`.
import type { ReactNode } from "react";
import { serverRoot } from "../api/client";
import { href, type Route } from "../routing/route";
import { useSession } from "./session";
import { WorkspaceSwitcher } from "./WorkspaceSwitcher";

interface Section {
  label: string;
  href: string;
  active: (route: Route) => boolean;
}

const SECTIONS: Section[] = [
  {
    label: "Experiments",
    href: href.experiments(),
    active: (r) => r.page === "experiments" || r.page === "experiment" || r.page === "run" || r.page === "loggedModel",
  },
  {
    label: "Models",
    href: href.models(),
    active: (r) => r.page === "models" || r.page === "model" || r.page === "modelVersion",
  },
];

export function Shell({ route, children }: { route: Route; children: ReactNode }) {
  const { user } = useSession();
  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href={href.experiments()}>
          Runyard
        </a>
        <nav className="sections">
          {SECTIONS.map((s) => (
            <a key={s.label} href={s.href} className={s.active(route) ? "active" : undefined}>
              {s.label}
            </a>
          ))}
        </nav>
        <div className="topbar-right">
          <WorkspaceSwitcher />
          {user && (
            <span className="user">
              <span className="user-name">{user.username}</span>{" "}
              <a href={`${serverRoot()}logout`} className="muted">
                Sign out
              </a>
            </span>
          )}
        </div>
      </header>
      <main className="content">{children}</main>
    </div>
  );
}
