"""Domain exceptions; kbservice.http.problems maps each to an RFC 9457 problem response."""

from __future__ import annotations


class KBServiceError(Exception):
    """Base of every error the domain raises on purpose."""

    status = 400
    title = "Bad request"
    headers: dict[str, str] = {}  # noqa: RUF012  (read-only per class)

    def __init__(self, detail: str, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class NotFound(KBServiceError):
    """The named resource does not exist."""

    status = 404
    title = "Not found"


class ValidationFailed(KBServiceError):
    """Input is well-formed JSON but its values are wrong; `errors` names each field."""

    status = 422
    title = "Validation failed"


class Conflict(KBServiceError):
    """The write conflicts with existing state (e.g. the KB number is taken)."""

    status = 409
    title = "Conflict"


class PreconditionFailed(KBServiceError):
    """The If-Match ETag is not the article's current revision."""

    status = 412
    title = "Precondition failed"


class PreconditionRequired(KBServiceError):
    """A write to an existing article came without If-Match."""

    status = 428
    title = "Precondition required"


class TooLarge(KBServiceError):
    """The request asks for more than the configured limit."""

    status = 413
    title = "Content too large"
