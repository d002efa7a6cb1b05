// Loading, error and empty states shared by the pages. An `ApiError` shows MLflow's error code.
import { ApiError } from "../api/client";

export function Loading({ what }: { what?: string }) {
  return (
    <div className="loading" role="status">
      Loading{what ? ` ${what}` : ""}…
    </div>
  );
}

export function ErrorBanner({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  const code = error instanceof ApiError ? error.errorCode : null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="error-banner" role="alert">
      {code && <strong>{code}: </strong>}
      {message}
    </div>
  );
}
