"""Every admin page under ``/admin``, gathered like ``webapi/routes.py``: the public ones (the
login) and those behind a session (``admin``: ``session.provide_admin``; without a valid session
the browser is sent to ``/admin/login``). Every unsafe request under ``/admin`` carries the CSRF
token (Litestar's ``CSRFMiddleware``: a ``_csrf_token`` form field or the ``x-csrftoken`` header
matching the ``csrftoken`` cookie), else 403."""

from __future__ import annotations

from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware

from webapi.admin import pages
from webapi.admin.session import NoSession, provide_admin, to_login

PREFIX = "/admin"


def router(secret: str) -> Router:
    csrf = CSRFConfig(
        secret=secret,
        cookie_path=PREFIX,
        cookie_httponly=True,
        cookie_samesite="strict",
    )
    return Router(
        path=PREFIX,
        route_handlers=[
            Router(path="/", route_handlers=pages.PUBLIC),
            Router(
                path="/",
                route_handlers=pages.PAGES,
                dependencies={"admin": Provide(provide_admin, sync_to_thread=True)},
                exception_handlers={NoSession: to_login},
            ),
        ],
        middleware=[DefineMiddleware(CSRFMiddleware, config=csrf)],
        include_in_schema=False,
    )
