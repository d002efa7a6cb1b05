"""Dual tracking (mirroring): copying what is logged to this server onto another MLflow-compatible
tracking server. `target` is the replicator's HTTP client for one such server (a plain `mlflow
server` or another Runyard); its errors say whether a retry can help (`TargetError.transient`),
and `runyard.domain.mirror` holds the I/O-free rules (credentials, name mapping, backoff)."""
