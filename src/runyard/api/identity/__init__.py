"""The identity HTTP surface. MLflow's auth REST API (`mlflow server --app-name basic-auth`), served
with `--auth on`: users (`/api/2.0/mlflow/users/*`), roles (`/api/3.0/mlflow/roles/*`) and per-user
permissions (`/api/3.0/mlflow/users/permissions/*`), in the JSON shapes and error codes the reference
uses; and Runyard's own: the OAuth token endpoint (`oauth`), personal access tokens
(`personal_tokens`) and the audit log (`audit_events`)."""
