"""Mirror targets' credentials at rest: encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from
`cryptography`), never stored or logged in the clear.

The key comes from `RUNYARD_SECRET_KEY` when it is set (derived with HKDF, so the same variable on
every host decrypts what any host stored), else from a key file created once in the data folder
with mode 0600 (`mirror-secret.key`). A server on PostgreSQL with several hosts must set the
variable: each host's own key file could not read the others' secrets (the replicator then reports
the link as failing with exactly that message).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Final

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from runyard.domain.errors import MlflowError
from runyard.domain.mirror import TargetCredentials

KEY_FILE: Final = "mirror-secret.key"
_HKDF_INFO: Final = b"runyard mirror target credentials"


class SecretsUnreadable(MlflowError):
    """The stored credentials cannot be decrypted with this process's key."""


def _derived_key(secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode()))


def _file_key(folder: Path) -> bytes:
    path = folder / KEY_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    folder.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


class SecretBox:
    """Encrypts and decrypts target credentials."""

    def __init__(self, secret_key: str | None, data_dir: Path) -> None:
        self._secret_key = secret_key
        self._data_dir = data_dir
        self._fernet: Fernet | None = None

    def _box(self) -> Fernet:
        if self._fernet is None:
            key = _derived_key(self._secret_key) if self._secret_key else _file_key(self._data_dir)
            self._fernet = Fernet(key)
        return self._fernet

    def seal(self, credentials: TargetCredentials) -> str | None:
        if credentials.kind == "none":
            return None
        return self._box().encrypt(json.dumps(asdict(credentials)).encode()).decode()

    def open(self, kind: str, sealed: str | None) -> TargetCredentials:
        if not sealed:
            return TargetCredentials()
        try:
            values = json.loads(self._box().decrypt(sealed.encode()))
        except (InvalidToken, ValueError):
            where = "RUNYARD_SECRET_KEY" if self._secret_key else f"the key file {self._data_dir / KEY_FILE}"
            raise SecretsUnreadable(
                f"The link's credentials cannot be decrypted with {where}: every process and host must use the "
                "same key (set RUNYARD_SECRET_KEY identically), or link the workspace again.",
                "INVALID_STATE",
            ) from None
        return TargetCredentials(**{k: str(v) for k, v in values.items() if k != "kind"}, kind=kind)  # type: ignore[arg-type]
