"""The package build's one extra step: the web UI's bundle.

Building the package (`pip install .`, `pip install -e .`, a wheel) first runs `npm ci && npm run
build` in `ui/`, which writes the bundle into `src/runyard/api/ui/bundle/`; the bundle then ships as
package data. The bundle is not committed. Without Node.js the build stops with a message saying
what to install; `RUNYARD_SKIP_UI_BUILD=1` installs without the UI (the server then answers `/` with
a message saying how to get it). Steps that have nothing to do are skipped: `npm ci` when
`node_modules` matches the lock file, the build when the bundle is newer than every source file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import Command, setup
from setuptools.command.build import build

ROOT = Path(__file__).resolve().parent
UI = ROOT / "ui"
BUNDLE_INDEX = ROOT / "src" / "runyard" / "api" / "ui" / "bundle" / "index.html"
SKIP_VARIABLE = "RUNYARD_SKIP_UI_BUILD"
SOURCES = ("src", "index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json")

NO_NODE = (
    "Runyard's web UI is built from its TypeScript sources with Node.js, and `npm` was not found on PATH.\n"
    "Install Node.js 20 or later (with npm) and run the install again, or set "
    f"{SKIP_VARIABLE}=1 to install the server without its web UI."
)


def newest_source_mtime() -> float:
    newest = 0.0
    for name in SOURCES:
        path = UI / name
        files = path.rglob("*") if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                newest = max(newest, file.stat().st_mtime)
    return newest


def run_npm(npm: str, *args: str) -> None:
    print(f"runyard: npm {' '.join(args)} (in ui/)", flush=True)
    completed = subprocess.run([npm, *args], cwd=UI, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"runyard: `npm {' '.join(args)}` failed (exit {completed.returncode}); see its output above.")


class BuildUi(Command):
    """`npm ci && npm run build` in ui/ (see the module docstring)."""

    description = "build Runyard's web UI bundle from ui/ with npm"
    user_options: list[tuple[str, str | None, str]] = []
    editable_mode = False

    def initialize_options(self) -> None:
        pass

    def finalize_options(self) -> None:
        pass

    def run(self) -> None:
        if os.environ.get(SKIP_VARIABLE) == "1":
            print(f"runyard: {SKIP_VARIABLE}=1: installing without the web UI", flush=True)
            return
        if not (UI / "package.json").is_file():
            # Built from a distribution that ships the bundle itself.
            return
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit(NO_NODE)
        installed = UI / "node_modules" / ".package-lock.json"
        lock = UI / "package-lock.json"
        if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
            run_npm(npm, "ci", "--no-audit", "--no-fund")
        if not BUNDLE_INDEX.is_file() or BUNDLE_INDEX.stat().st_mtime < newest_source_mtime():
            run_npm(npm, "run", "build")


class BuildWithUi(build):
    sub_commands = [("build_ui", None), *build.sub_commands]


setup(cmdclass={"build": BuildWithUi, "build_ui": BuildUi})
