"""Dual tracking on the source side: the outbox journal, links and their secrets, the replicator."""
