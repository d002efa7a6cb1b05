"""Schema revisions, applied in order by `runyard.store.migrate.upgrade`."""
