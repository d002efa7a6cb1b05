"""Observability shared by every layer: request ids (`request_ids`), log formats (`logs`) and, with
`--metrics`, the Prometheus metrics (`metrics`, imported only when they are on)."""
