"""The S3 client the artifact backend uses, and what its failures mean to an MLflow client.

The endpoint, region and credentials come from boto3's own resolution: `AWS_ENDPOINT_URL` (or
`AWS_ENDPOINT_URL_S3`), `AWS_DEFAULT_REGION`/`AWS_REGION`, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`,
`AWS_PROFILE` and the shared config and credentials files, instance and container roles.  Nothing
here reads those settings by hand.

botocore's errors become :class:`MlflowError` with messages that name the bucket and S3's error
code, never a credential: a missing key is 404, a refused part or etag 400, a missing bucket, refused
access or absent credentials a deterministic `INVALID_STATE` (the client must not retry a
misconfiguration for minutes), an unreachable or throttling endpoint `TEMPORARILY_UNAVAILABLE`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Final

from runyard.domain.errors import INVALID_STATE, RESOURCE_DOES_NOT_EXIST, TEMPORARILY_UNAVAILABLE, MlflowError, invalid

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

__all__ = ["S3Client", "check_bucket", "describe_failure", "new_client", "shared_client", "translate"]

# Threads that may talk to S3 at once in one process (uploads' parts, downloads, listings).
MAX_POOL_CONNECTIONS: Final = 32

_MISSING_KEY: Final = frozenset({"NoSuchKey", "404", "NotFound"})
_MISSING_BUCKET: Final = frozenset({"NoSuchBucket"})
_DENIED: Final = frozenset(
    {
        "AccessDenied",
        "403",
        "Forbidden",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AllAccessDisabled",
        "ExpiredToken",
        "InvalidToken",
        "AccountProblem",
    }
)
_BAD_PART: Final = frozenset({"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "EntityTooLarge", "InvalidArgument"})
_BUSY: Final = frozenset({"SlowDown", "ServiceUnavailable", "503", "InternalError", "500", "RequestTimeout"})

_lock = threading.Lock()
_shared: S3Client | None = None


def new_client() -> S3Client:
    """A client configured by the standard AWS environment and config files."""
    import boto3
    from botocore.config import Config

    config = Config(max_pool_connections=MAX_POOL_CONNECTIONS, retries={"mode": "standard"})
    return boto3.session.Session().client("s3", config=config)


def shared_client() -> S3Client:
    """One client per process (boto3 clients are thread-safe; building one costs tens of milliseconds)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = new_client()
        return _shared


def _error_code(exc: BaseException) -> str | None:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or "")
    return None


def describe_failure(exc: BaseException, bucket: str) -> str | None:
    """One line on why talking to `bucket` failed, for a misconfiguration; None for another failure."""
    from botocore.exceptions import (
        ConnectionError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    code = _error_code(exc)
    if code in _MISSING_BUCKET:
        return f"S3 bucket '{bucket}' does not exist (NoSuchBucket)"
    if code in _DENIED:
        return f"access to S3 bucket '{bucket}' was denied ({code}): check the server's AWS credentials and policy"
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return (
            f"no usable AWS credentials to reach S3 bucket '{bucket}' (set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run with an IAM role)"
        )
    if isinstance(exc, EndpointConnectionError | ConnectionError):
        return f"the S3 endpoint for bucket '{bucket}' is unreachable ({type(exc).__name__})"
    return None


def translate(exc: BaseException, bucket: str, what: str) -> MlflowError | None:
    """The MLflow error a botocore failure during `what` (e.g. "artifact 'a/b'") stands for, or None
    when `exc` is not a botocore failure (the caller re-raises it)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if not isinstance(exc, BotoCoreError | ClientError):
        return None
    code = _error_code(exc)
    if code in _MISSING_KEY:
        return MlflowError(f"No such artifact: {what}", RESOURCE_DOES_NOT_EXIST)
    if code == "NoSuchUpload":
        return MlflowError(f"No such multipart upload: {what}", RESOURCE_DOES_NOT_EXIST)
    if code == "EntityTooSmall":
        return invalid(f"Cannot complete {what}: every part but the last must be at least 5 MiB (EntityTooSmall)")
    if code in _BAD_PART:
        return invalid(f"Cannot complete {what}: a part was not uploaded or its etag does not match ({code})")
    setup = describe_failure(exc, bucket)
    if setup is not None:
        from botocore.exceptions import ConnectionError, EndpointConnectionError

        code_name = (
            TEMPORARILY_UNAVAILABLE if isinstance(exc, EndpointConnectionError | ConnectionError) else INVALID_STATE
        )
        return MlflowError(f"The artifact store cannot be used: {setup}", code_name)
    if code in _BUSY or isinstance(exc, BotoCoreError):
        label = code or type(exc).__name__
        return MlflowError(
            f"The artifact store (S3 bucket '{bucket}') is unavailable now ({label}); try again",
            TEMPORARILY_UNAVAILABLE,
        )
    return MlflowError(f"The artifact store (S3 bucket '{bucket}') refused {what} ({code})", INVALID_STATE)


def check_bucket(client: S3Client, bucket: str) -> str | None:
    """None when `bucket` can be reached with the server's credentials, else one line saying why not."""
    try:
        client.head_bucket(Bucket=bucket)
    except Exception as exc:
        if _error_code(exc) in ("404", "NotFound"):  # HEAD answers carry no error code of their own
            return f"S3 bucket '{bucket}' does not exist"
        reason = describe_failure(exc, bucket)
        if reason is None:
            code = _error_code(exc) or type(exc).__name__
            reason = f"S3 bucket '{bucket}' cannot be reached ({code})"
        return reason
    return None
