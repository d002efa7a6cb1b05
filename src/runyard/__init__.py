"""Runyard: a self-hosted ML workspace server that speaks the MLflow REST protocol."""

__version__ = "0.1.0"

# The MLflow protocol version Runyard answers as (`GET /version`); clients gate features on it.
MLFLOW_COMPAT_VERSION = "3.17.2"
