"""Text that crosses an edge: the rules every front end, import, export and connector shares.

- **Control characters.** NUL and the other C0 control characters (tab, line feed and carriage
  return aside), DEL and lone surrogates have no place in a name, an address or a remark: PostgreSQL
  refuses NUL, XML (SOAP, XLSX) cannot hold any of them, and a terminal or a spreadsheet shows them as
  garbage or worse. Input carrying one is refused with the field's name (``check_text``); text the
  bridge writes out from older data has them removed (``strip_control``).
- **Formula-like cells.** A spreadsheet cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return is run as a formula when a person opens the file in Excel or WPS (OWASP, "CSV
  injection"). Every CSV the bridge writes for people neutralises such a text cell by putting an
  apostrophe in front of it (``neutralise_cell``); ``restore_cell`` takes exactly that apostrophe
  away again, so a file read back gives the original text. Plain numbers (``-5``, ``+3.20``) are
  left as they are. XLSX cells are written as text cells instead (``catalog``), which needs no
  apostrophe.
- **JSON nesting.** No document the bridge takes in (a request body, an ERP file) needs more than a
  few levels; deeper than ``MAX_JSON_DEPTH`` is refused before a parser recurses into it
  (``json_too_deep``), so a small hostile file or body cannot exhaust the stack.
- **LIKE patterns.** A search text becomes a ``LIKE`` pattern with ``%``, ``_`` and ``\\`` escaped
  (``like_pattern``; use it with ``escape="\\\\"``).
- **Documents for people.** ``readable_json``: a document as the CLI and the admin pages show it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bridge.errors import DomainError, InvalidInput

CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
"""Characters no text field may hold: C0 controls except tab, LF and CR; DEL; lone surrogates."""

LINE_BREAKS = re.compile("[\t\n\r]")
"""Allowed in multi-line text (remarks, notes, inquiries), not in a one-line field (a name)."""

# The same rules as regular expressions for request schemas (OpenAPI / msgspec ``pattern``, which
# searches): the API's field types (webapi.fields) say in their documentation what they refuse.
# Written with \x escapes, not the characters themselves, so the published schema (and its viewer
# at /schema) shows readable text; Python's and JavaScript's regular expressions read them alike.
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
# Not blank either: leading white space, one visible character, then anything allowed (the
# classes do not overlap, so matching stays linear on hostile input).
TEXT_NONBLANK_PATTERN = r"^[^\S\x0b\x0c\x1c-\x1f]*[^\s\x00-\x1f\x7f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
LINE_NONBLANK_PATTERN = r"^[^\S\x09-\x0d\x1c-\x1f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"


class BadText(DomainError):
    """Input text with a character it may not hold (answered 400, naming the field)."""

    status = 400
    code = "invalid_input"


def has_control(value: str) -> bool:
    return CONTROL.search(value) is not None


def describe(char: str) -> str:
    """``U+0000`` for a character, as a person can look it up."""
    return f"U+{ord(char):04X}"


def check_text(value: str, field: str, label: str | None = None, *, multiline: bool = True) -> str:
    """``value`` if it holds no control character (nor, when not ``multiline``, a tab or line
    break); else ``BadText`` naming ``field`` (``label`` is its Chinese name, for the message)."""
    found = CONTROL.search(value) or (None if multiline else LINE_BREAKS.search(value))
    if found is None:
        return value
    name = label or field
    raise BadText(
        f"{name}含有不允许的控制字符（{describe(found.group())}），请删除后重试",
        f"{field}: contains the control character {describe(found.group())} at position {found.start()}",
        field=field,
    )


def strip_control(value: str) -> str:
    """``value`` without the characters ``CONTROL`` matches (for text written out of older data)."""
    return CONTROL.sub("", value)


def clean_strings(value: Any) -> Any:
    """A document (dicts, lists, scalars) with ``strip_control`` applied to every string."""
    if isinstance(value, str):
        return strip_control(value) if CONTROL.search(value) else value
    if isinstance(value, dict):
        return {k: clean_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_strings(v) for v in value]
    return value


# --------------------------------------------------------------------------- spreadsheet cells

_FORMULA_START = re.compile("^'*[=+\\-@\t\r]")
_ESCAPED = re.compile("^'+[=+\\-@\t\r]")
_PLAIN_NUMBER = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")


def neutralise_cell(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula: an apostrophe is put in front of text
    that starts with ``= + - @``, a tab or a carriage return (after any apostrophes already there,
    so ``restore_cell`` can tell them apart). Plain numbers stay as they are."""
    if _FORMULA_START.match(value) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def restore_cell(value: str) -> str:
    """The text ``neutralise_cell`` was given: one leading apostrophe is taken away where it had
    put one. ``restore_cell(neutralise_cell(x)) == x`` for every text ``x``."""
    return value[1:] if _ESCAPED.match(value) else value


def is_formula_like(value: str) -> bool:
    """Would a spreadsheet run this text as a formula?"""
    return bool(_FORMULA_START.match(value)) and not value.startswith("'") and not _PLAIN_NUMBER.match(value)


# --------------------------------------------------------------------------- JSON nesting

MAX_JSON_DEPTH = 32
"""How deeply arrays and objects may nest in JSON the bridge reads (API bodies, ERP files)."""

# A string (escapes included, an unterminated one up to the end) or one bracket: brackets inside
# strings are text, not nesting.
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.S)
_JSON_TOKENS_B = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.S)


def json_too_deep(data: str | bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Does this JSON text nest arrays and objects more than ``limit`` levels deep? It reads the
    text without decoding it (no recursion, linear time), so it runs before any parser does.
    Text that is not JSON gets an answer too: the parser then says what is wrong with it."""
    if isinstance(data, str):
        if data.count("[") + data.count("{") <= limit:
            return False
        tokens, opening, closing = _JSON_TOKENS, ("[", "{"), ("]", "}")
    else:
        if data.count(b"[") + data.count(b"{") <= limit:
            return False
        tokens, opening, closing = _JSON_TOKENS_B, (b"[", b"{"), (b"]", b"}")
    depth = 0
    for match in tokens.finditer(data):
        token = match.group()
        if token in opening:
            depth += 1
            if depth > limit:
                return True
        elif token in closing:
            depth -= 1
    return False


# --------------------------------------------------------------------------- SQL LIKE

LIKE_ESCAPE = "\\"


def required_text(value: str | None, field: str, label: str, max_length: int, *, multiline: bool = True) -> str:
    """``value`` stripped, if it is not blank, not longer than ``max_length`` and holds no control
    character (``check_text``); else InvalidInput naming ``field`` (``label``: its Chinese name)."""
    text = check_text((value or "").strip(), field, label, multiline=multiline)
    if not text:
        raise InvalidInput(f"{label}不能为空", f"{field} is blank", field=field)
    if len(text) > max_length:
        raise InvalidInput(f"{label}不能超过 {max_length} 个字", f"{field} longer than {max_length}", field=field)
    return text


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE's own characters escaped (``column.ilike(p, escape=LIKE_ESCAPE)``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def readable_json(value: Any) -> str:
    """A document as people read it (``outbox preview``, the 同步 page): indented JSON with Chinese
    as it is, times and decimals as text."""
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)
