"""The client commands of `runyard`: `login`, `logout`, `whoami`, `uri`, and (through
`runyard token create --server`) a personal access token for the signed-in user.

A command's URL may be a server base URL (`http(s)://host:port`) or a `runyard://` /
`runyard+http://` URI; left out, it is the last server signed in to, else MLFLOW_TRACKING_URI.
Failures (server unreachable, sign-in denied or expired, no credentials) print one `Error: ...`
line and exit 1. Prompts go to standard error; results to standard output.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from runyard.plugin.chain import Credential, ServerCredentials
    from runyard.plugin.uris import Target

F = TypeVar("F", bound=Callable[..., Any])
URL_ARGUMENT = click.argument("url", required=False)
MS_PER_DAY = 86_400_000


def _clean(fn: F) -> F:
    """The plugin's errors (and a Ctrl+C) become one line and a non-zero exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from runyard.plugin.errors import ClientError
        from runyard.plugin.uris import UriError

        try:
            return fn(*args, **kwargs)
        except (ClientError, UriError) as e:
            raise click.ClickException(str(e)) from None
        except OSError as e:
            raise click.ClickException(f"{type(e).__name__}: {e.strerror or e}") from None
        except KeyboardInterrupt:
            click.echo("Cancelled.", err=True)
            raise SystemExit(130) from None

    return wrapper  # type: ignore[return-value]


def resolve_target(url: str | None) -> Target:
    """The server a command is for: URL, else the last server signed in to, else MLFLOW_TRACKING_URI."""
    from runyard.plugin.login_store import LoginStore
    from runyard.plugin.uris import parse_server

    if url:
        return parse_server(url)
    if last := LoginStore().last_server():
        return parse_server(last)
    if tracking := os.environ.get("MLFLOW_TRACKING_URI"):
        return parse_server(tracking)
    raise click.UsageError(
        "Name a server (e.g. http://127.0.0.1:5000): none was signed in to before and MLFLOW_TRACKING_URI is not set."
    )


def _when(epoch_seconds: float | None) -> str:
    if epoch_seconds is None:
        return "never (a token without a known expiry)"
    stamp = datetime.fromtimestamp(epoch_seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    left = epoch_seconds - time.time()
    if left <= 0:
        return f"{stamp} (expired)"
    return f"{stamp} (in {int(left // 60)} min {int(left % 60)} s)"


def _who(credentials: ServerCredentials, credential: Credential) -> dict[str, Any]:
    """The signed-in principal: the server's userinfo, else (older servers) `users/current`."""
    import requests

    from runyard.plugin.errors import OAuthError, ServerUnreachable
    from runyard.plugin.settings import client_cert, tls_verify

    try:
        info = credentials.client.userinfo(credential.access_token)
        name = info.get("preferred_username") or info.get("name") or info.get("sub")
        return {"user": name, "is_admin": bool(info.get("is_admin"))}
    except OAuthError as e:
        if e.error != "not_supported":
            raise
    url = f"{credentials.base_url}/api/2.0/mlflow/users/current"
    try:
        response = requests.get(
            url,
            headers={"Authorization": f"Bearer {credential.access_token}"},
            timeout=30,
            verify=tls_verify(),
            cert=client_cert(),
        )
    except requests.RequestException:
        raise ServerUnreachable(credentials.base_url, "the request failed") from None
    if response.status_code == 401:
        raise OAuthError("invalid_token", "the server refused the credentials", 401)
    if response.status_code != 200:
        raise OAuthError(f"http_{response.status_code}", "the server could not say who is signed in")
    user = response.json().get("user", {})
    return {"user": user.get("username"), "is_admin": bool(user.get("is_admin"))}


@click.command("login")
@URL_ARGUMENT
@click.option("--device", is_flag=True, help="Sign in with a code on another device (the device code flow).")
@click.option(
    "--no-browser", is_flag=True, help="Print the sign-in URL instead of opening a browser (then wait for it here)."
)
@_clean
def login(url: str | None, device: bool, no_browser: bool) -> None:
    """Sign in to a Runyard server and cache the login for mlflow and these commands."""
    import sys

    from runyard.plugin.chain import BROWSER, DEVICE, NO_BROWSER_LINE, for_server
    from runyard.plugin.errors import ClientError, LoginFailed
    from runyard.plugin.interactive import browser_login, device_login
    from runyard.plugin.login_store import LoginStore

    if device and no_browser:
        raise click.UsageError("--device and --no-browser exclude each other.")
    target = resolve_target(url)
    credentials = for_server(target.base_url)
    method = DEVICE
    tokens = None
    if not device:
        tokens = browser_login(credentials.client, sys.stderr, launch=not no_browser)
        method = BROWSER
        if tokens is None:
            click.echo(NO_BROWSER_LINE, err=True)
    if tokens is None:
        tokens = device_login(credentials.client, sys.stderr)
        method = DEVICE
    if not tokens.refresh_token:
        raise LoginFailed(f"{target.base_url} issued no refresh token, so there is no login to keep.")
    previous = LoginStore().get(target.base_url)
    credential = credentials.adopt(tokens, method)
    if previous is not None:  # the login this one replaces: revoked, so no stale copy stays usable
        with contextlib.suppress(ClientError):
            credentials.client.revoke(previous.refresh_token)
    who = _who(credentials, credential)
    if who.get("user"):
        _remember_user(target.base_url, str(who["user"]))
    click.echo(f"Signed in to {target.base_url} as {who.get('user') or credential.user or 'unknown'}.")
    click.echo(f"Use it from mlflow: export MLFLOW_TRACKING_URI={target.tracking_uri()}", err=True)


def _remember_user(base_url: str, user: str) -> None:
    from dataclasses import replace

    from runyard.plugin.login_store import LoginStore

    store = LoginStore()
    with store.locked():
        stored = store.get(base_url)
        if stored is not None and stored.user != user:
            store.put(replace(stored, user=user))


@click.command("logout")
@URL_ARGUMENT
@_clean
def logout(url: str | None) -> None:
    """Revoke the cached login at the server and delete it from this machine."""
    from runyard.plugin.chain import for_server
    from runyard.plugin.errors import ClientError
    from runyard.plugin.login_store import LoginStore

    target = resolve_target(url)
    store = LoginStore()
    with store.locked():
        stored = store.get(target.base_url)
        if stored is None:
            click.echo(f"Not signed in to {target.base_url}.")
            return
        credentials = for_server(target.base_url)
        failure: ClientError | None = None
        try:
            credentials.client.revoke(stored.refresh_token)
        except ClientError as e:
            failure = e
        store.delete(target.base_url)
        credentials.forget()
    if failure is not None:
        raise click.ClickException(
            f"Deleted the login for {target.base_url} on this machine, but the server did not revoke it ({failure})."
        )
    click.echo(f"Signed out of {target.base_url}.")


@click.command("whoami")
@URL_ARGUMENT
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (JSON).")
@_clean
def whoami(url: str | None, as_json: bool) -> None:
    """Show who the credentials for a server sign in as (exit 1 when none do). Never prompts."""
    from runyard.plugin.chain import for_server
    from runyard.plugin.errors import NoCredentials, OAuthError

    target = resolve_target(url)
    credentials = for_server(target.base_url)
    try:
        credential = credentials.credential(allow_interactive=False)
        who = _who(credentials, credential)
    except NoCredentials as e:
        raise click.ClickException(
            f"Not signed in to {target.base_url}: " + "; ".join(f"{a.method}: {a.outcome}" for a in e.attempts)
        ) from None
    except OAuthError as e:
        raise click.ClickException(
            f"Not signed in to {target.base_url}: the server refused the credentials ({e})."
        ) from None
    workspace = target.workspace or "default"
    if as_json:
        click.echo(
            json.dumps(
                {
                    "server": target.base_url,
                    "user": who.get("user"),
                    "is_admin": who.get("is_admin"),
                    "workspace": workspace,
                    "method": credential.method,
                    "expires_at": credential.expires_at,
                },
                indent=2,
            )
        )
        return
    admin = " (administrator)" if who.get("is_admin") else ""
    click.echo(f"server:     {target.base_url}")
    click.echo(f"user:       {who.get('user') or credential.user or 'unknown'}{admin}")
    click.echo(f"workspace:  {workspace}")
    click.echo(f"signed in:  {credential.method}")
    click.echo(f"expires:    {_when(credential.expires_at)}")


@click.command("uri")
@URL_ARGUMENT
@click.option("--workspace", default=None, help="The workspace (default: the one in URL, else 'default').")
@_clean
def uri(url: str | None, workspace: str | None) -> None:
    """Print the tracking URI to export as MLFLOW_TRACKING_URI."""
    target = resolve_target(url)
    click.echo(target.tracking_uri(workspace))


def create_token_via_api(server: str, label: str, expires_in_ms: int | None, as_json: bool) -> None:
    """`runyard token create --server URL`: a personal access token for the signed-in user."""
    _create_token(server, label, expires_in_ms, as_json)


@_clean
def _create_token(server: str, label: str, expires_in_ms: int | None, as_json: bool) -> None:
    import requests

    from runyard.plugin.chain import for_server
    from runyard.plugin.errors import ServerUnreachable
    from runyard.plugin.settings import client_cert, tls_verify

    target = resolve_target(server)
    credentials = for_server(target.base_url)
    body: dict[str, Any] = {"name": label}
    if expires_in_ms is not None:
        body["expires_in_days"] = expires_in_ms / MS_PER_DAY
    url = f"{target.base_url}/api/2.0/runyard/tokens"
    credential = credentials.credential()
    try:
        response = requests.post(
            url,
            json=body,
            headers={"Authorization": f"Bearer {credential.access_token}"},
            timeout=30,
            verify=tls_verify(),
            cert=client_cert(),
        )
    except requests.RequestException:
        raise ServerUnreachable(target.base_url, "the request failed") from None
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code != 200:
        message = answer.get("message") if isinstance(answer, dict) else None
        raise click.ClickException(
            f"The server refused the token ({response.status_code}): {message or response.reason}"
        )
    if as_json:
        click.echo(
            json.dumps(
                {"id": answer.get("id"), "token": answer.get("token"), "expires_at": answer.get("expires_at")}, indent=2
            )
        )
        return
    expires = answer.get("expires_at")
    stamp = (
        "-"
        if expires is None
        else datetime.fromtimestamp(expires / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    click.echo(f"Created token {answer.get('id')} for the signed-in user on {target.base_url} (expires: {stamp}).")
    click.echo(f"token: {answer.get('token')}")


COMMANDS = [login, logout, whoami, uri]


def register(main: click.Group) -> None:
    for command in COMMANDS:
        main.add_command(command)
