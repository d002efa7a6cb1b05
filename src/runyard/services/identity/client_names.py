"""How the audit log names the client an OAuth request claimed to be: a client id of the form the
server issues, else not at all (a secret pasted into the id field must not be recorded)."""

from __future__ import annotations

from runyard.domain.identity import CLIENT_ID_PREFIX
from runyard.domain.oauth import CLI_CLIENT_ID


def describe_client(client_id: str) -> str:
    if client_id == CLI_CLIENT_ID or (
        client_id.startswith(CLIENT_ID_PREFIX) and len(client_id) <= 64 and client_id.isascii()
    ):
        return f"client {client_id}"
    return "client (not a client id)"
