"""Dual tracking over HTTP, below `/api/2.0/runyard/mirror`: what a replicator asks a Runyard target
(`info`), and the imports that create mirrored runs and logged models under their source ids."""
