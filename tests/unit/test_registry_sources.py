"""The text checks on model-version sources (no store involved): which forms parse, which are refused."""

from __future__ import annotations

import pytest

from runyard.domain.errors import MlflowError
from runyard.services.model_sources import parse_source

RUN = "0123456789abcdef0123456789abcdef"
MODEL = "m-fedcba9876543210fedcba9876543210"


@pytest.mark.parametrize(
    ("source", "kind", "ident", "parts"),
    [
        (f"runs:/{RUN}/model", "run", RUN, (RUN, "model")),
        (f"runs:/{RUN}", "run", RUN, (RUN,)),
        (f"runs:/{RUN}/model/", "run", RUN, (RUN, "model")),
        (f"runs:/{RUN}/my model/sub", "run", RUN, (RUN, "my model", "sub")),
        (f"models:/{MODEL}", "logged_model", MODEL, (MODEL,)),
        ("models:/iris/3", "registry", "iris", ("iris", "3")),
        ("models:/iris@champion", "registry", "iris", ("iris@champion",)),
        (f"mlflow-artifacts:/1/{RUN}/artifacts/model", "location", "", ("1", RUN, "artifacts", "model")),
        (f"MLFLOW-ARTIFACTS:/1/models/{MODEL}/artifacts", "location", "", ("1", "models", MODEL, "artifacts")),
        ("s3://bucket/x/y", "location", "", ("x", "y")),
    ],
)
def test_accepted_forms(source: str, kind: str, ident: str, parts: tuple[str, ...]) -> None:
    parsed = parse_source(source)
    assert (parsed.kind, parsed.ident, parsed.parts) == (kind, ident, parts)


def test_registry_selectors() -> None:
    assert parse_source("models:/iris/Production").selector == "Production"
    assert parse_source("models:/iris@champion").alias == "champion"
    assert parse_source("s3://Bucket/x").authority == "bucket"


@pytest.mark.parametrize(
    "source",
    [
        "/etc/passwd",
        "relative/model",
        "file:///etc/passwd",
        "File:/etc/passwd",
        "C:\\model",
        "C:/model",
        f"runs:/{RUN}/../x",
        f"runs:/{RUN}/./x",
        f"runs:/{RUN}//x",
        f"runs:/{RUN}/%2e%2e/x",
        f"runs:/{RUN}/%252e%252e/x",
        f"runs:/{RUN}/a%2Fb",
        f"runs:/{RUN}/a%20b",
        f"runs:/{RUN}/a\\b",
        f"runs:/{RUN}/a;b",
        f"runs:/{RUN}/a?b=1",
        f"runs:/{RUN}/a#b",
        f"runs:/{RUN}/a\x00",
        f"runs:/{RUN}/a\nb",
        f"runs://host/{RUN}/model",
        "runs:/",
        "runs:/-bad/model",
        f"runs:{RUN}/model",
        f"models://host/{MODEL}",
        "models:/",
        "models:/a/b/c",
        "models:/@alias",
        "models:/name@",
        "mlflow-artifacts:1/x",
        "mlflow-artifacts:/1/../2",
        "x" * 6000,
    ],
)
def test_refused_forms(source: str) -> None:
    with pytest.raises(MlflowError) as err:
        parse_source(source)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_missing_source() -> None:
    for missing in (None, ""):
        with pytest.raises(MlflowError, match="Missing value for required parameter 'source'"):
            parse_source(missing)
