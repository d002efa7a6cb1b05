"""The folder the worker processes keep their metric files in (prometheus_client's multiprocess
mode), prepared by the server's main process before any worker starts. Nothing here imports
prometheus_client: its multiprocess mode is chosen, once per process, when it is first imported, and
only after `PROMETHEUS_MULTIPROC_DIR` is set.

Without `--expose-prometheus DIR`, each server run gets a fresh temporary folder, removed when the
server stops; with it, DIR is created if missing and the metric files a previous run left there are
removed (other files are left alone), so counters start from zero with every run.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from runyard.config import ConfigError

VARIABLE: Final = "PROMETHEUS_MULTIPROC_DIR"
# The files prometheus_client writes: `<type>[_<mode>]_<pid>.db`.
_METRIC_FILE: Final = re.compile(r"(counter|gauge_\w+|histogram|summary)_\d+\.db")


@dataclass(frozen=True)
class MetricsFolder:
    path: Path
    temporary: bool

    def remove(self) -> None:
        """At the end of a server run: a temporary folder goes; an operator's DIR stays."""
        if self.temporary:
            shutil.rmtree(self.path, ignore_errors=True)


def prepare(folder: str | None) -> MetricsFolder:
    """A clean folder for this server run's metric files (see the module docstring)."""
    if folder is None:
        return MetricsFolder(Path(tempfile.mkdtemp(prefix="runyard-metrics-")), temporary=True)
    path = Path(folder).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
        for entry in path.iterdir():
            if _METRIC_FILE.fullmatch(entry.name) and entry.is_file():
                entry.unlink()
    except OSError as e:
        raise ConfigError(f"--expose-prometheus {folder}: cannot use the folder ({e.strerror or e}).") from None
    return MetricsFolder(path, temporary=False)
