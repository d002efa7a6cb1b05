// Picks the page for the current hash route inside the shell.
import { useEffect } from "react";
import { ExperimentsPage } from "./pages/ExperimentsPage";
import { ExperimentPage } from "./pages/ExperimentPage";
import { RunPage } from "./pages/RunPage";
import { LoggedModelPage } from "./pages/LoggedModelPage";
import { ModelsPage, ModelPage, ModelVersionPage } from "./pages/ModelPages";
import { Shell } from "./shell/Shell";
import { SessionProvider } from "./shell/session";
import { useRoute } from "./routing/useRoute";
import type { Route } from "./routing/route";

function title(route: Route): string {
  switch (route.page) {
    case "experiments":
      return "Runyard — Experiments";
    case "experiment":
      return "Runyard — Runs";
    case "run":
      return "Runyard — Run";
    case "loggedModel":
      return "Runyard — Logged model";
    case "models":
    case "model":
    case "modelVersion":
      return "Runyard — Models";
    default:
      return "Runyard";
  }
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "experiments":
      return <ExperimentsPage query={route.query} />;
    case "experiment":
      return <ExperimentPage key={route.experimentId} experimentId={route.experimentId} query={route.query} />;
    case "run":
      return <RunPage key={route.runId} route={route} />;
    case "loggedModel":
      return <LoggedModelPage key={route.modelId} route={route} />;
    case "models":
      return <ModelsPage />;
    case "model":
      return <ModelPage name={route.name} />;
    case "modelVersion":
      return <ModelVersionPage name={route.name} version={route.version} />;
    case "notFound":
      return (
        <div className="empty">
          <h1>Page not found</h1>
          <p>
            Nothing lives at <code>#{route.path}</code>. <a href="#/experiments">Go to the experiments</a>.
          </p>
        </div>
      );
  }
}

export function App() {
  const route = useRoute();
  useEffect(() => {
    document.title = title(route);
  }, [route]);
  return (
    <SessionProvider>
      <Shell route={route}>
        <Page route={route} />
      </Shell>
    </SessionProvider>
  );
}
