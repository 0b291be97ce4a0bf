"""Every route of the two APIs, gathered from the feature modules: ``/api/mp/v1`` (the
mini-program, a customer's token) and ``/api/sales/v1`` (salespeople and admins, a staff token).

Each feature module (``signin``, ``customers``, ``addresses``, ``catalog``, ``orders``,
``inquiries``) lists its handlers as ``MP_PUBLIC`` / ``MP`` / ``SALES_PUBLIC`` / ``SALES``; the
public ones need no token. Here every handler gets the documented error answers and a one-line
description (the first paragraph of its docstring) in the OpenAPI document.
"""

from __future__ import annotations

from inspect import cleandoc

from litestar import Router
from litestar.di import Provide

from webapi import addresses, catalog, customers, inquiries, notifications, orders, signin
from webapi.auth import provide_customer, provide_staff

FEATURES = (signin, customers, addresses, catalog, orders, inquiries, notifications)

MP_PREFIX = "/api/mp/v1"
SALES_PREFIX = "/api/sales/v1"


def _gather(name: str) -> list:
    return [handler for module in FEATURES for handler in getattr(module, name, [])]


MP_PUBLIC = _gather("MP_PUBLIC")
MP = _gather("MP")
SALES_PUBLIC = _gather("SALES_PUBLIC")
SALES = _gather("SALES")


def _one_line(handler) -> str | None:
    doc = handler.fn.__doc__
    if not doc:
        return None
    return " ".join(cleandoc(doc).split("\n\n")[0].split())


def routers(error_responses: dict) -> list[Router]:
    for handler in MP_PUBLIC + MP + SALES_PUBLIC + SALES:
        handler.responses = {**error_responses, **(handler.responses or {})}
        if handler.description is None:
            handler.description = _one_line(handler)
    return [
        Router(path=MP_PREFIX, route_handlers=MP_PUBLIC),
        Router(
            path=MP_PREFIX,
            route_handlers=MP,
            dependencies={"me": Provide(provide_customer, sync_to_thread=False)},
            security=[{"bearer": []}],
        ),
        Router(path=SALES_PREFIX, route_handlers=SALES_PUBLIC),
        Router(
            path=SALES_PREFIX,
            route_handlers=SALES,
            dependencies={"staff": Provide(provide_staff, sync_to_thread=True)},
            security=[{"bearer": []}],
        ),
    ]
