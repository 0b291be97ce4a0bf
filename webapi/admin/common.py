"""What every admin page module shares: the signed-in user, the database scopes, rendering,
form errors and paging. Page modules (``orders``, ``customers`` …) import from here; the rules
they apply are in ``bridge``.

- ``Admin``: a handler parameter ``admin``, the signed-in staff user (``session.provide_admin``).
- ``reading(request)`` / ``writing(request)``: a read-only session, or one that commits at the end
  (``bridge.db.read_scope`` / ``session_scope``) — a page handler opens one and calls services.
- ``page(name, admin, nav=…, **context)``: the Template of a page (``nav`` marks the menu entry).
- ``field_errors(exc)``: a service's ``DomainError`` as ``{field: message}`` for a form (the
  service names the field in ``exc.data["field"]``; a message with no field goes under ``""``).
- ``page_number(value)``: the ``page`` query parameter, 1 when missing or not a number.
- Errors a handler does not catch (``DomainError``: not found, forbidden, refused …) become the
  error page, or for an htmx request an alert swapped into ``#flash`` (``admin_error``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import pass_context

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from sqlmodel import Session

from bridge import labels
from bridge.db import read_scope, session_scope
from bridge.errors import DomainError, NotFound
from bridge.text import readable_json
from webapi.admin.session import AdminUser
from webapi.auth import runtime

Admin = NamedDependency[AdminUser]
"""A handler parameter ``admin``: the signed-in staff user (``session.provide_admin``)."""


@contextmanager
def reading(request: Request) -> Iterator[Session]:
    with read_scope(runtime(request).engine) as session:
        yield session


@contextmanager
def writing(request: Request) -> Iterator[Session]:
    """A session that commits when the block ends without an error (and rolls back otherwise)."""
    with session_scope(runtime(request).engine) as session:
        yield session


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def page(name: str, admin: AdminUser | None, *, nav: str = "", status_code: int = 200, **context: Any) -> Template:
    """The page ``name`` (a template under admin/templates) for ``admin``; ``nav`` is the menu
    entry to mark (``home``, ``orders``, ``customers``, ``products``, ``inquiries``, ``sync``,
    ``staff``, ``audit``)."""
    return Template(name, context={"admin": admin, "nav": nav, **context}, status_code=status_code)


def field_errors(exc: DomainError) -> dict[str, str]:
    """``exc`` as the errors of a form: ``{field: message}`` (``""``: the form as a whole)."""
    return {str(exc.data.get("field") or ""): exc.message}


def page_number(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), 100_000)


def query_with(request: Request, **changes: Any) -> str:
    """This page's query string with ``changes`` applied (None removes a key): for pager links
    and filters that keep the other filters."""
    params = {k: v for k, v in request.query_params.items()}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + urlencode(params) if params else "?"


MESSAGES = {
    400: "请求数据有误",
    403: "没有权限",
    404: "页面不存在",
    405: "不支持的请求方式",
    413: "上传的内容过大",
    429: "操作过于频繁，请稍后再试",
}


def admin_error(request: Request, exc: Exception) -> Template:
    """A ``DomainError`` or HTTP error under /admin as a page a person reads: the error page, or
    for an htmx request an alert in ``#flash`` (htmx swaps it there: ``HX-Retarget``). Out-of-scope
    and missing things alike read 页面不存在 (nothing about another salesperson's data leaks)."""
    if isinstance(exc, DomainError):
        status = exc.status
        message = MESSAGES[404] if isinstance(exc, NotFound) else exc.message
    elif isinstance(exc, NotFoundException):
        status, message = 404, MESSAGES[404]
    elif isinstance(exc, ValidationException):
        status, message = 400, MESSAGES[400]
    elif isinstance(exc, HTTPException):
        status = exc.status_code
        message = MESSAGES.get(status, "请求未能完成")
    else:  # pragma: no cover - the router only routes the types above here
        raise exc
    admin = request.scope.get("jht_admin")
    if is_htmx(request):
        template = Template("_flash.html", context={"error": message}, status_code=status)
        template.headers.update({"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
        return template
    return page("error.html", admin, status_code=status, status=status, message=message)


def _local(context: Any, value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC datetime in the bridge's time zone (``[bridge] timezone``), '' for None."""
    if value is None:
        return ""
    zone = ZoneInfo(runtime(context["request"]).config.bridge.timezone)
    return value.astimezone(zone).strftime(fmt)


def _money(value: Any) -> str:
    """A price in yuan: ``¥1,234.50``; '' for None."""
    if value is None:
        return ""
    return f"¥{Decimal(value):,.2f}"


def setup_templates(engine: JinjaTemplateEngine) -> None:
    """The globals and filters every admin template may use: ``query_with(request, page=2)``,
    ``labels`` (``bridge.labels``: the Chinese names of statuses, kinds, types …),
    ``value | local`` (a time in the bridge's zone), ``value | money`` and ``document | json``
    (indented, Chinese as it is: ``bridge.text.readable_json``)."""
    env = engine.engine
    env.globals.update(query_with=query_with, labels=labels)
    env.filters.update(local=pass_context(_local), money=_money, json=readable_json)
