"""What Runyard records about a logged model from its `MLmodel` file: flavors, signature, input example.

The facts become server-set tags under the `runyard.` prefix on the logged model and on every model
version created from it, so registry searches can filter on them
(e.g. ``tags.`runyard.flavors` LIKE '%sklearn%'``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import yaml

FLAVORS_TAG: Final = "runyard.flavors"
HAS_SIGNATURE_TAG: Final = "runyard.has_signature"
HAS_INPUT_EXAMPLE_TAG: Final = "runyard.has_input_example"
SIZE_TAG: Final = "runyard.size_bytes"
CARD_TAGS: Final = (FLAVORS_TAG, HAS_SIGNATURE_TAG, HAS_INPUT_EXAMPLE_TAG, SIZE_TAG)

# An MLmodel file is a few KiB; anything far larger is not one.
MAX_MLMODEL_BYTES: Final = 1024 * 1024


@dataclass(frozen=True)
class ModelCard:
    flavors: tuple[str, ...]
    has_signature: bool
    has_input_example: bool
    size_bytes: int

    def tags(self) -> list[tuple[str, str]]:
        return [
            (FLAVORS_TAG, ",".join(self.flavors)),
            (HAS_SIGNATURE_TAG, _flag(self.has_signature)),
            (HAS_INPUT_EXAMPLE_TAG, _flag(self.has_input_example)),
            (SIZE_TAG, str(self.size_bytes)),
        ]


def _flag(value: bool) -> str:
    return "true" if value else "false"


def parse_mlmodel(text: bytes | str, size_bytes: int) -> ModelCard | None:
    """The card of an `MLmodel` document, or None when it is not a readable MLmodel mapping."""
    try:
        doc: Any = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(doc, dict):
        return None
    flavors = doc.get("flavors")
    names = tuple(sorted(str(k) for k in flavors)) if isinstance(flavors, dict) else ()
    return ModelCard(
        flavors=names,
        has_signature=bool(doc.get("signature")),
        has_input_example=bool(doc.get("saved_input_example_info")),
        size_bytes=size_bytes,
    )
