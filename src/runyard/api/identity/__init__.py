"""The identity HTTP surface: Runyard's own (token endpoint, personal tokens, audit events) and the MLflow auth API."""
