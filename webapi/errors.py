"""The API's error answer: one body for every error, documented on every operation.

Its own module (not ``webapi.app``) because the route modules need it to document their
operations while ``webapi.app`` imports the route modules: arrows point one way.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec


class ErrorBody(msgspec.Struct, omit_defaults=True):
    """Every error the API answers: a stable English ``code`` and a Chinese ``message`` the
    mini-program shows as it is; ``detail`` says more (in English) for developers."""

    code: str
    message: str
    detail: Any = None
    errors: list[Any] | None = None
    line: int | None = None
    order_no: str | None = None
    retry_after_s: int | None = None
    field: str | None = None


ERROR_RESPONSES = {
    status: ResponseSpec(data_container=ErrorBody, description=text)
    for status, text in (
        (400, "Bad input (invalid_input): the request does not match this document (the field is named)"),
        (401, "Not logged in, or the token expired / is invalid"),
        (403, "Not allowed"),
        (404, "Does not exist — or is not visible to the caller, which answers the same"),
        (409, "Conflicts with the current state (order cannot be cancelled, key reused…)"),
        (413, "Request body too large"),
        (422, "Refused by a business rule, or a WeChat code that cannot be used (wechat_code_invalid)"),
        (429, "Too many attempts"),
        (503, "WeChat or the ERP is not available right now"),
    )
}
