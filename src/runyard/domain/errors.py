"""The MLflow error vocabulary: error codes, their HTTP statuses, and the exception services raise."""

from __future__ import annotations

from typing import Final

INVALID_PARAMETER_VALUE: Final = "INVALID_PARAMETER_VALUE"
RESOURCE_ALREADY_EXISTS: Final = "RESOURCE_ALREADY_EXISTS"
RESOURCE_DOES_NOT_EXIST: Final = "RESOURCE_DOES_NOT_EXIST"
BAD_REQUEST: Final = "BAD_REQUEST"
ENDPOINT_NOT_FOUND: Final = "ENDPOINT_NOT_FOUND"
PERMISSION_DENIED: Final = "PERMISSION_DENIED"
UNAUTHENTICATED: Final = "UNAUTHENTICATED"
INVALID_STATE: Final = "INVALID_STATE"
INTERNAL_ERROR: Final = "INTERNAL_ERROR"
NOT_IMPLEMENTED: Final = "NOT_IMPLEMENTED"
REQUEST_LIMIT_EXCEEDED: Final = "REQUEST_LIMIT_EXCEEDED"
TEMPORARILY_UNAVAILABLE: Final = "TEMPORARILY_UNAVAILABLE"

# The statuses the reference server answers with for each code (mlflow ERROR_CODE_TO_HTTP_STATUS).
HTTP_STATUS: Final[dict[str, int]] = {
    INVALID_PARAMETER_VALUE: 400,
    RESOURCE_ALREADY_EXISTS: 400,
    BAD_REQUEST: 400,
    RESOURCE_DOES_NOT_EXIST: 404,
    "NOT_FOUND": 404,
    ENDPOINT_NOT_FOUND: 404,
    PERMISSION_DENIED: 403,
    UNAUTHENTICATED: 401,
    "ABORTED": 409,
    "RESOURCE_CONFLICT": 409,
    REQUEST_LIMIT_EXCEEDED: 429,
    "RESOURCE_EXHAUSTED": 429,
    INTERNAL_ERROR: 500,
    INVALID_STATE: 400,  # deterministic: a 5xx would make the client retry for minutes
    NOT_IMPLEMENTED: 501,
    TEMPORARILY_UNAVAILABLE: 503,
}


# What mlflow 3.x servers add to an error body beside `error_code` and `message`: its MlflowException
# derives `sqlstate` and `error_class` from the code (mlflow.error_classification, the client-side
# table). Codes that table does not know get neither field, as there.
CLASSIFICATION: Final[dict[str, tuple[str, str]]] = {
    BAD_REQUEST: ("KAM00", "INVALID_PARAMETER_VALUE"),
    "CUSTOMER_UNAUTHORIZED": ("KAM00", "PERMISSION_DENIED"),
    ENDPOINT_NOT_FOUND: ("KAM00", "RESOURCE_NOT_FOUND"),
    "FEATURE_DISABLED": ("KAM00", "FEATURE_DISABLED"),
    INTERNAL_ERROR: ("XXM00", "CLIENT_INTERNAL_ERROR"),
    INVALID_PARAMETER_VALUE: ("KAM00", "INVALID_PARAMETER_VALUE"),
    INVALID_STATE: ("XXM00", "CLIENT_INTERNAL_ERROR"),
    "NOT_FOUND": ("KAM00", "RESOURCE_NOT_FOUND"),
    PERMISSION_DENIED: ("KAM00", "PERMISSION_DENIED"),
    RESOURCE_ALREADY_EXISTS: ("KAM00", "RESOURCE_ALREADY_EXISTS"),
    RESOURCE_DOES_NOT_EXIST: ("KAM00", "RESOURCE_NOT_FOUND"),
    TEMPORARILY_UNAVAILABLE: ("XXM00", "CLIENT_INTERNAL_ERROR"),
}


def error_body(error_code: str, message: str) -> dict[str, str]:
    """The JSON body of an error answer, shaped as the reference server shapes it."""
    body = {"error_code": error_code, "message": message}
    classified = CLASSIFICATION.get(error_code)
    if classified is not None:
        body["sqlstate"], body["error_class"] = classified
    return body


class MlflowError(Exception):
    """A failure the client should see as `{"error_code": ..., "message": ...}`."""

    def __init__(self, message: str, error_code: str = INVALID_PARAMETER_VALUE) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.error_code, 500)

    @property
    def headers(self) -> dict[str, str]:
        """Response headers the answer must carry (`Retry-After`, `WWW-Authenticate`)."""
        return {}

    def to_json(self) -> dict[str, str]:
        return error_body(self.error_code, self.message)


# How long a client is asked to wait before sending a request the server did not process again.
RETRY_AFTER_SECONDS: Final = 1


class TryAgain(MlflowError):
    """The request was not processed (nothing of it was written) and may be sent again as it is: the
    database was locked or busy, a lock or statement timed out, the server is at its connection or
    pool limit. Answered 429 with `Retry-After`, the one status (with 408) on which MLflow clients
    (3.18) resend writes that are not idempotent; 5xx answers are not resent, since a server may
    answer them after it committed."""

    def __init__(self, message: str, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(message, TEMPORARILY_UNAVAILABLE)
        self.retry_after = retry_after

    @property
    def http_status(self) -> int:
        return 429

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


SIGN_IN_MESSAGE: Final = "You must be signed in: send a password, a personal access token or an access token."


class Unauthenticated(MlflowError):
    """No usable credentials: 401 with a `WWW-Authenticate` challenge naming the schemes accepted."""

    def __init__(
        self, message: str = "You must be signed in: send a password, a personal access token or an access token."
    ) -> None:
        super().__init__(message, UNAUTHENTICATED)

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Basic realm="runyard", charset="UTF-8", Bearer realm="runyard"'}


class TooManyFailures(MlflowError):
    """Repeated failed sign-ins from one address or for one account: 429 with `Retry-After`."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many failed sign-in attempts; try again in {retry_after} seconds.", REQUEST_LIMIT_EXCEEDED
        )
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def permission_denied(message: str) -> MlflowError:
    return MlflowError(message, PERMISSION_DENIED)


def invalid(message: str) -> MlflowError:
    return MlflowError(message, INVALID_PARAMETER_VALUE)


def not_found(message: str) -> MlflowError:
    return MlflowError(message, RESOURCE_DOES_NOT_EXIST)


def already_exists(message: str) -> MlflowError:
    return MlflowError(message, RESOURCE_ALREADY_EXISTS)
