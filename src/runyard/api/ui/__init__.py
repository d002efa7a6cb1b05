"""The Runyard web UI's own endpoints (`/ajax-api/2.0/runyard/...`): what its pages fetch."""
