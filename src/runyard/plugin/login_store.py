"""The cached logins of `runyard login`: per server base URL, the newest refresh token (the server
rotates them and revokes the whole family when a spent one comes back, so every rotation is saved
at once), the user's name, and which server was signed in to last.

One JSON file, `logins.json`, in the user's config folder (`platformdirs`; `RUNYARD_CONFIG_DIR`
moves it), mode 0600 in a 0700 folder, replaced atomically. A lock file serialises refreshes
across processes of the same user, so two jobs sharing a login never present the same refresh
token twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from runyard.plugin import settings

FILE_NAME = "logins.json"
LOCK_NAME = "logins.lock"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class StoredLogin:
    base_url: str
    refresh_token: str
    user: str | None = None
    scope: str | None = None
    updated_at: float = 0.0


def config_dir(env: dict[str, str] | None = None) -> Path:
    environ = os.environ if env is None else env
    if folder := environ.get(settings.CONFIG_DIR_VAR):
        return Path(folder)
    import platformdirs

    return Path(platformdirs.user_config_dir("runyard", appauthor=False))


class LoginStore:
    def __init__(self, folder: Path | None = None):
        self.folder = folder if folder is not None else config_dir()

    @property
    def path(self) -> Path:
        return self.folder / FILE_NAME

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}  # unreadable or corrupt: as if signed in nowhere (the next login rewrites it)
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(OSError):
            os.chmod(self.folder, 0o700)
        fd, tmp = tempfile.mkstemp(prefix=".logins-", suffix=".tmp", dir=self.folder)  # created 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    @staticmethod
    def _logins(data: dict[str, Any]) -> dict[str, Any]:
        logins = data.get("logins")
        return logins if isinstance(logins, dict) else {}

    def get(self, base_url: str) -> StoredLogin | None:
        entry = self._logins(self._read()).get(base_url)
        if not isinstance(entry, dict) or not isinstance(entry.get("refresh_token"), str):
            return None
        return StoredLogin(
            base_url=base_url,
            refresh_token=entry["refresh_token"],
            user=entry.get("user") if isinstance(entry.get("user"), str) else None,
            scope=entry.get("scope") if isinstance(entry.get("scope"), str) else None,
            updated_at=float(entry.get("updated_at") or 0.0),
        )

    def put(self, login: StoredLogin, *, make_last: bool = True) -> None:
        data = self._read()
        logins = self._logins(data)
        entry = asdict(login)
        entry.pop("base_url")
        entry["updated_at"] = time.time()
        logins[login.base_url] = entry
        data.update({"version": FORMAT_VERSION, "logins": logins})
        if make_last:
            data["last_server"] = login.base_url
        self._write(data)

    def delete(self, base_url: str) -> StoredLogin | None:
        found = self.get(base_url)
        data = self._read()
        logins = self._logins(data)
        if base_url in logins or data.get("last_server") == base_url:
            logins.pop(base_url, None)
            data["logins"] = logins
            if data.get("last_server") == base_url:
                data.pop("last_server")
            self._write(data)
        return found

    def last_server(self) -> str | None:
        value = self._read().get("last_server")
        return value if isinstance(value, str) else None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the cross-process lock (advisory; where `fcntl` is missing, in-process only)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        fd = os.open(self.folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
