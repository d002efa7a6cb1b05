"""Artifact storage: the backend interface, safe path handling, and the local-folder backend."""

from __future__ import annotations

from runyard.artifacts.base import ArtifactBackend, ArtifactReader, FileInfo, guess_content_type
from runyard.artifacts.local import LocalArtifactBackend
from runyard.artifacts.paths import clean_relative_path, join_within

__all__ = [
    "ArtifactBackend",
    "ArtifactReader",
    "FileInfo",
    "LocalArtifactBackend",
    "clean_relative_path",
    "guess_content_type",
    "join_within",
]
