"""Errors the domain raises, each with a stable code and a message a person can act on.

``message`` is Chinese, for the customer / salesperson / admin who will read it in the
mini-program or the admin pages; ``detail`` is English, for logs and the CLI. The API maps
``status`` to the HTTP status; the CLI prints ``detail`` (or ``message``) and exits non-zero.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, detail: str | None = None, *, code: str | None = None, **data: Any):
        self.message = message
        self.detail = detail or message
        if code:
            self.code = code
        self.data = data
        super().__init__(self.detail)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "detail": self.detail, **self.data}


class InvalidInput(DomainError):
    status = 422
    code = "invalid_input"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class TransitionRefused(Conflict):
    """The state machine refused a change; ``detail`` says why."""

    code = "transition_refused"


class NotSignedIn(DomainError):
    """No valid sign-in: a token that is missing, expired, or whose session has ended."""

    status = 401
    code = "unauthorized"


class TooMany(DomainError):
    """Too many attempts or requests in a while; ``retry_after_s`` says when to try again."""

    status = 429
    code = "rate_limited"
