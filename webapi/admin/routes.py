"""Every admin page under ``/admin``, gathered like ``webapi/routes.py``: the public ones (the
login) and those behind a session (``admin``: ``session.provide_admin``; without a valid session
the browser is sent to ``/admin/login``). Every unsafe request under ``/admin`` carries the CSRF
token (Litestar's ``CSRFMiddleware``: a ``_csrf_token`` form field or the ``x-csrftoken`` header
matching the ``csrftoken`` cookie; htmx sends the header, see base.html), else 403.

One module per concept (``orders``, ``customers`` …), each with its ``PAGES``; ``pages`` holds the
login, the logout, the 工作台 and the catch-all 页面不存在, which stays last."""

from __future__ import annotations

from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware

from bridge.errors import DomainError
from webapi.admin import audit, customers, inquiries, notifications, orders, pages, products, qr, staff, sync
from webapi.admin.common import admin_error
from webapi.admin.session import NoSession, provide_admin, to_login

PREFIX = "/admin"

MODULES: list = [orders, customers, products, qr, inquiries, notifications, sync, staff, audit]
"""The page modules, each with a ``PAGES`` list of handlers (added as they are written)."""


def router(secret: str) -> Router:
    csrf = CSRFConfig(
        secret=secret,
        cookie_path=PREFIX,
        cookie_httponly=True,
        cookie_samesite="strict",
    )
    behind_login = [handler for module in MODULES for handler in module.PAGES]
    return Router(
        path=PREFIX,
        route_handlers=[
            Router(path="/", route_handlers=pages.PUBLIC),
            Router(
                path="/",
                route_handlers=[*behind_login, *pages.PAGES],
                dependencies={"admin": Provide(provide_admin, sync_to_thread=True)},
                exception_handlers={NoSession: to_login},
            ),
        ],
        middleware=[DefineMiddleware(CSRFMiddleware, config=csrf)],
        # ValidationException named too: else the API's JSON answer (the app's own handler for it) wins
        exception_handlers={DomainError: admin_error, HTTPException: admin_error, ValidationException: admin_error},
        include_in_schema=False,
    )
