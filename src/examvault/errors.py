"""Every error the API can answer, as one tree.

Each class carries its status and problem type, and its docstring is the title; one
handler in `web/app.py` turns any of them into application/problem+json (RFC 9457).
Routes raise, they never build error responses themselves.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ExamvaultError(Exception):
    """Something went wrong."""

    status: ClassVar[int] = 500
    type: ClassVar[str] = "about:blank"
    headers: ClassVar[dict[str, str]] = {}

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title())
        self.detail = detail or self.title()
        self.extra = extra

    @classmethod
    def title(cls) -> str:
        return (cls.__doc__ or cls.__name__).strip().splitlines()[0]

    def response_headers(self) -> dict[str, str]:
        return dict(self.headers)


class MalformedBody(ExamvaultError):
    """The body cannot be read (not valid JSON, or a broken multipart form)."""

    status = 400
    type = "urn:examvault:malformed"


class InvalidBody(ExamvaultError):
    """The body does not have the expected shape or content."""

    status = 422
    type = "urn:examvault:invalid"

    def __init__(self, errors: list[dict[str, Any]], detail: str | None = None) -> None:
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        where = ".".join(str(p) for p in first.get("loc", []))
        super().__init__(detail or f"{where}: {first.get('msg')}", errors=errors)


class ImportTooComplex(InvalidBody):
    """The file takes more to parse than the server allows; split or simplify it."""

    type = "urn:examvault:too-complex"

    def __init__(self, over: str) -> None:
        why = f"parsing the file takes {over}"
        detail = f"{why}; split or simplify it; nothing was imported"
        super().__init__([{"loc": ["body", "file"], "msg": why}], detail)


class Unauthorized(ExamvaultError):
    """A valid token is required."""

    status = 401
    type = "urn:examvault:unauthorized"
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "Bearer"}


class Forbidden(ExamvaultError):
    """This token may not use this route."""

    status = 403
    type = "urn:examvault:forbidden"


class NotFound(ExamvaultError):
    """Not found."""

    status = 404
    type = "urn:examvault:not-found"


class MethodNotAllowed(ExamvaultError):
    """Method not allowed."""

    status = 405
    type = "urn:examvault:method-not-allowed"


class PayloadTooLarge(ExamvaultError):
    """The body is larger than this route accepts."""

    status = 413
    type = "urn:examvault:too-large"
    headers: ClassVar[dict[str, str]] = {"Connection": "close"}


class UnsupportedMediaType(ExamvaultError):
    """The body must be JSON (Content-Type: application/json)."""

    status = 415
    type = "urn:examvault:unsupported-media-type"


class Conflict(ExamvaultError):
    """The request conflicts with the current state."""

    status = 409
    type = "urn:examvault:conflict"


class ExamClosed(Conflict):
    """The exam is closed."""

    type = "urn:examvault:closed"


class AlreadySubmitted(Conflict):
    """The attempt has been submitted."""

    type = "urn:examvault:submitted"


class AttemptSubmitted(Conflict):
    """The attempt is submitted."""

    type = "urn:examvault:attempt-submitted"


class PastDeadline(Conflict):
    """The attempt's time is over."""

    type = "urn:examvault:past-deadline"


class NotOpen(Conflict):
    """The exam is not open yet."""

    type = "urn:examvault:not-open"


class NotReleased(Conflict):
    """The result is not released yet."""

    type = "urn:examvault:not-released"


class MarksPending(NotReleased):
    """The result waits for marks still to be given."""

    type = "urn:examvault:marks-pending"


class NoReview(Conflict):
    """This exam does not let candidates review their attempt."""

    type = "urn:examvault:no-review"


class ExamInUse(Conflict):
    """The exam has attempts, so its definition can no longer change."""

    type = "urn:examvault:exam-in-use"


class AlreadyRegistered(Conflict):
    """Some candidates are already registered."""

    type = "urn:examvault:already-registered"


class RateLimited(ExamvaultError):
    """Too many requests; retry after the time given."""

    status = 429
    type = "urn:examvault:rate-limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after

    def response_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ClientClosed(ExamvaultError):
    """The client closed the connection before its request was read."""

    # Not an error of ours and never seen by the client (it has gone: the server drops a
    # response to a closed connection). 499 is nginx's "client closed request": a 4xx, so
    # the access log and the latency metric record it without counting a server error.
    status = 499
    type = "urn:examvault:client-closed"


class Unavailable(ExamvaultError):
    """The server is overloaded or its database is unreachable; retry after the time given."""

    status = 503
    type = "urn:examvault:unavailable"

    def __init__(self, detail: str | None = None, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    def response_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
