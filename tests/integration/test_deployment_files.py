"""The Dockerfile, checked without a container runtime: what it copies exists and is not excluded
from the build context, the bundle path agrees with the UI build, the runtime stage runs as a
non-root user, and its entrypoint, environment and health check start and probe a real server."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.conftest import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out: list[tuple[str, str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            word, _, rest = stripped.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions():
        if instruction[0] == "FROM":
            stages.append([])
        stages[-1].append(instruction)
    return stages


def _ignored(path: str) -> bool:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = path.rstrip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes for pattern in patterns)


def _env(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, args in stage:
        if word == "ENV":
            for item in shlex.split(args):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def _exec_form(stage: list[tuple[str, str]], word: str) -> list[str]:
    args = next(a for w, a in stage if w == word)
    if word == "HEALTHCHECK":
        args = args[args.index("CMD") + len("CMD") :].strip()
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), f"{word} must use the exec form"
    return value


def test_what_the_dockerfile_copies_is_in_the_build_context() -> None:
    copies = [args for stage in _stages() for word, args in stage if word == "COPY" and "--from=" not in args]
    assert copies
    for args in copies:
        *sources, _target = shlex.split(args)
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such path"
            assert not _ignored(source), f"COPY {source}: excluded by .dockerignore"


def test_the_bundle_path_and_skip_variable_agree_with_the_ui_build() -> None:
    vite = (ROOT / "ui" / "vite.config.ts").read_text(encoding="utf-8")
    out_dir = re.search(r'outDir:\s*"([^"]+)"', vite)
    assert out_dir is not None
    bundle = os.path.normpath(os.path.join("ui", out_dir.group(1)))
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert f"/build/{bundle}/" in text, f"the Dockerfile does not copy the bundle from {bundle}"
    setup = (ROOT / "setup.py").read_text(encoding="utf-8")
    variable = re.search(r'SKIP_VARIABLE = "([A-Z_]+)"', setup)
    assert variable is not None and f"ENV {variable.group(1)}=1" in text


def test_the_runtime_stage_is_not_root_and_has_a_health_check() -> None:
    runtime = _stages()[-1]
    users = [args for word, args in runtime if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert any(word == "HEALTHCHECK" for word, _ in runtime)


def test_the_entrypoint_starts_a_server_that_the_health_check_probes(tmp_path: Path) -> None:
    runtime = _stages()[-1]
    env = _env(runtime)
    assert env["RUNYARD_HOST"] == "0.0.0.0"
    entrypoint = _exec_form(runtime, "ENTRYPOINT")
    assert entrypoint[:2] == ["runyard", "server"]
    # Tests bind the loopback interface only; everything else is the image's.
    port = free_port()
    image_env = {**env, "RUNYARD_HOST": "127.0.0.1", "RUNYARD_PORT": str(port), "RUNYARD_DATA_DIR": str(tmp_path)}
    proc = ServerProcess(data_dir=tmp_path, port=port, extra_env=image_env)
    proc.start()
    try:
        probe = _exec_form(runtime, "HEALTHCHECK")
        assert probe[0] == "python"
        result = subprocess.run(
            [sys.executable, *probe[1:]], env={**os.environ, **image_env}, capture_output=True, timeout=30
        )
        assert result.returncode == 0, result.stderr.decode()
    finally:
        assert proc.stop() == 0
    result = subprocess.run(
        [sys.executable, *_exec_form(runtime, "HEALTHCHECK")[1:]],
        env={**os.environ, **image_env},
        capture_output=True,
        timeout=30,
    )
    assert result.returncode != 0, "the health check passed with no server running"
