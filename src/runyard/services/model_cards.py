"""Reads a logged model's `MLmodel` from the artifact store and turns it into its `runyard.` tags."""

from __future__ import annotations

import posixpath

from runyard.domain.errors import MlflowError
from runyard.domain.model_card import MAX_MLMODEL_BYTES, ModelCard, parse_mlmodel
from runyard.services.artifacts import ArtifactService, artifact_path_of
from runyard.services.context import RequestContext


def read_model_card(artifacts: ArtifactService, ctx: RequestContext, artifact_uri: str) -> ModelCard | None:
    """The card of the model stored at `artifact_uri`, or None if it has no readable MLmodel here."""
    path = artifact_path_of(artifact_uri)
    if not path:
        return None
    backend = artifacts.backend(ctx)
    try:
        raw = backend.read_small(posixpath.join(path, "MLmodel"), MAX_MLMODEL_BYTES)
        size = backend.tree_size(path)
    except MlflowError:
        return None
    return parse_mlmodel(raw, size)
