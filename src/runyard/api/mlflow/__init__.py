"""The MLflow REST surface: tracking, metrics, artifacts, server info."""
