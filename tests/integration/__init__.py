"""Integration tests: the real mlflow client (and raw HTTP) against live Runyard servers."""
