// Who is signed in and which workspace the page works in, shared by every page.
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { currentUser, listWorkspaces } from "../api/mlflow";
import { workspaceInUrl } from "../api/client";
import type { CurrentUser, Workspace } from "../api/types";

export interface Session {
  /** null: the server runs without authentication. */
  user: CurrentUser | null;
  /** The workspace the page's URL names, else the server's default workspace. */
  workspace: string;
  /** The workspace's details (naming: "flat" or "path"), once known. */
  current: Workspace | null;
  workspaces: Workspace[];
  loaded: boolean;
}

const DEFAULT_WORKSPACE = "default";

const SessionContext = createContext<Session>({
  user: null,
  workspace: DEFAULT_WORKSPACE,
  current: null,
  workspaces: [],
  loaded: false,
});

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session>(() => ({
    user: null,
    workspace: workspaceInUrl() ?? DEFAULT_WORKSPACE,
    current: null,
    workspaces: [],
    loaded: false,
  }));
  useEffect(() => {
    const abort = new AbortController();
    void (async () => {
      const [user, workspaces] = await Promise.all([
        currentUser(abort.signal).catch(() => null),
        listWorkspaces(abort.signal).catch(() => [] as Workspace[]),
      ]);
      const name = workspaceInUrl() ?? DEFAULT_WORKSPACE;
      setSession({
        user,
        workspace: name,
        current: workspaces.find((w) => w.name === name) ?? null,
        workspaces,
        loaded: true,
      });
    })();
    return () => abort.abort();
  }, []);
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  return useContext(SessionContext);
}
