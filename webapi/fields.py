"""Field types of the request bodies and parameters both APIs take.

Text fields carry the rules of ``bridge.text`` as a schema ``pattern``: msgspec refuses a control
character (or, in a one-line field, a tab or line break; in a required field, nothing but white
space) with a 400 naming the field, before any handler runs, and the OpenAPI document says so —
a client generated from it never sends what the server refuses.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar.params import Parameter, PathParameter

from bridge.text import LINE_NONBLANK_PATTERN, LINE_PATTERN, TEXT_NONBLANK_PATTERN, TEXT_PATTERN

MAX_ID = 2**31 - 1
"""Ids fit a 32-bit column: a bigger one is bad input (400), not a database error."""
Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
PathId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
OrderNo = Annotated[str, PathParameter(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
"""An order number in a path (JHT-20261125-0001); anything else is bad input."""
Search = Annotated[str | None, Parameter(max_length=64, pattern=LINE_PATTERN, required=False)]
"""A search text in a query (``q``)."""


def line(max_length: int, *, required: bool = False) -> Any:
    """One-line text (a name, a code, a phone) of at most ``max_length`` characters;
    ``required``: at least one visible character."""
    if required:
        return Annotated[str, msgspec.Meta(min_length=1, max_length=max_length, pattern=LINE_NONBLANK_PATTERN)]
    return Annotated[str, msgspec.Meta(max_length=max_length, pattern=LINE_PATTERN)]


def text(max_length: int, *, required: bool = False) -> Any:
    """Text that may run over several lines (a remark, a note, an inquiry)."""
    if required:
        return Annotated[str, msgspec.Meta(min_length=1, max_length=max_length, pattern=TEXT_NONBLANK_PATTERN)]
    return Annotated[str, msgspec.Meta(max_length=max_length, pattern=TEXT_PATTERN)]


def token(min_length: int, max_length: int) -> Any:
    """An opaque value handed back as it was given (a login code, a refresh token, a password):
    no control characters, nothing else assumed."""
    return Annotated[str, msgspec.Meta(min_length=min_length, max_length=max_length, pattern=LINE_PATTERN)]
