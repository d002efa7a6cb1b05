"""Moving data in and out: `runyard import mlflow` (from a running MLflow server or straight from its
database and artifact root), `runyard export` / `runyard import runyard` (the on-disk format), and
the verification that compares a source with what landed.

Every source is read through one protocol (`source.Source`) yielding the records of `records`; one
writer (`sink`) puts them into a Runyard workspace, keeping ids; `verify` compares two sources'
counts (the Runyard workspace is read back as a source too).
"""
