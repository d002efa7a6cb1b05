"""MLflow's auth REST API (`mlflow server --app-name basic-auth`), served with `--auth on`: users
(`/api/2.0/mlflow/users/*`), roles (`/api/3.0/mlflow/roles/*`) and per-user permissions
(`/api/3.0/mlflow/users/permissions/*`), in the JSON shapes and error codes the reference uses."""
