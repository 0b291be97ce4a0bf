"""Orders, both APIs: the mini-program places, lists, follows, cancels and confirms receipt of the
caller's own orders (C5–C9, C13); staff list their customers' orders, release type-2 orders once
paid, cancel, and write notes (A1, A6).

The rules are ``bridge.orders`` (placement, reading) and ``bridge.statemachine`` (every move and
what the reader may do now); who sees which order is ``bridge.scope``.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.params import HeaderParameter, JSONBody, Parameter

from bridge import customers, orders, reorder, scope
from bridge.db import read_scope, session_scope
from bridge.models import Order, OrderStatus
from bridge.orders import LineRequest, OrderRequest, order_details, order_page, prepare_order, submit_order

from webapi import fields, views
from webapi.auth import Me, Principal, Staff, runtime, signed_in, wake_dispatcher

Page = Annotated[int, Parameter(ge=1, le=10000)]
StatusFilter = Annotated[
    str | None,
    Parameter(required=False, pattern="^(pending|in_production|awaiting_shipment|shipped|completed|cancelled)$"),
]


class OrderLineBody(msgspec.Struct):
    product_id: fields.Id
    quantity: Annotated[int, msgspec.Meta(ge=1, le=fields.MAX_ID)]
    qr_payload: fields.token(0, 512) | None = None
    """The packaging code this line was scanned from (``/scan``)."""
    marking: fields.line(128) | None = None


class OrderBody(msgspec.Struct):
    """The documented limits of ``lines``, ``remark`` and ``quantity`` are the configured ones
    (``[orders]``, written into the OpenAPI document by ``webapi.app.document_limits``)."""

    lines: Annotated[list[OrderLineBody], msgspec.Meta(min_length=1, max_length=500)]
    address_id: fields.Id
    remark: fields.text(5000) = ""


class CancelBody(msgspec.Struct):
    reason: fields.text(500) | None = None


class NoteBody(msgspec.Struct):
    body: fields.text(2000, required=True)


def _status(value: str | None) -> OrderStatus | None:
    return OrderStatus(value) if value else None


# --------------------------------------------------------------------------- the mini-program


@post("/orders", sync_to_thread=True, operation_id="mpPlaceOrder", tags=["mp orders"])
def place(
    request: Request,
    data: JSONBody[OrderBody],
    me: Me,
    idempotency_key: Annotated[str, HeaderParameter(name="Idempotency-Key", min_length=8, max_length=128)],
) -> views.PlacedOrder:
    """Submit an order without payment (C5); the same ``Idempotency-Key`` returns the same order,
    and the initial status comes from the stock check (C7)."""
    rt = runtime(request)
    lines = [
        LineRequest(
            quantity=line.quantity, product_id=line.product_id, qr_payload=line.qr_payload, marking=line.marking
        )
        for line in data.lines
    ]
    req = OrderRequest(lines=lines, idempotency_key=idempotency_key, address_id=data.address_id, remark=data.remark)
    with read_scope(rt.engine) as session:
        who = signed_in(session, me)
        prepared = prepare_order(session, who.customer.id, req)
    placed = submit_order(
        rt.engine,
        request.app.state.stock,
        who.actor,
        who.customer.id,
        req,
        rt.config,
        account_id=who.account.id,
        prepared=prepared,
    )
    if placed.created:
        request.app.state.metrics.orders_placed.inc()
        wake_dispatcher(request)
    return views.placed_order_view(placed.details, placed.created)


@get("/orders", sync_to_thread=True, operation_id="mpOrders", tags=["mp orders"])
def my_orders(request: Request, me: Me, status: StatusFilter = None, page: Page = 1) -> views.OrderPage:
    """Order history, newest first, optionally by status (C6, C13)."""
    with read_scope(runtime(request).engine) as session:
        who = signed_in(session, me)
        return views.order_page(
            order_page(session, who.actor, status=_status(status), customer=who.customer, page=page)
        )


@get("/orders/{order_no:str}", sync_to_thread=True, operation_id="mpOrder", tags=["mp orders"])
def my_order(request: Request, order_no: fields.OrderNo, me: Me) -> views.CustomerOrderView:
    """One order with its lines, timeline, shipments, couriers and tracking numbers (C8)."""
    with read_scope(runtime(request).engine) as session:
        who = signed_in(session, me)
        return views.customer_order_view(
            order_details(session, who.actor, scope.order_for(session, who.actor, order_no))
        )


@get("/orders/{order_no:str}/reorder", sync_to_thread=True, operation_id="mpReorder", tags=["mp orders"])
def reorder_lines(request: Request, order_no: fields.OrderNo, me: Me) -> views.ReorderView:
    """A past order's lines to order again (C14): those still offered to me at today's prices,
    and those left out with the reason. Nothing is ordered: confirm the cart through ``POST
    /orders`` with a new ``Idempotency-Key``."""
    with read_scope(runtime(request).engine) as session:
        who = signed_in(session, me)
        return views.reorder_view(reorder.reorder(session, who.actor, order_no))


def _move_own_order(request: Request, order_no: str, me: Principal, to: OrderStatus) -> views.CustomerOrderView:
    """The customer moves their own order (``orders.move_own_order``); a repeat answers it as it is."""
    with session_scope(runtime(request).engine) as session:
        who = signed_in(session, me)
        done = orders.move_own_order(session, who.actor, order_no, to)
        answer = views.customer_order_view(done.details)
    if done.changed:
        wake_dispatcher(request)
    return answer


@post(
    "/orders/{order_no:str}/cancel",
    sync_to_thread=True,
    operation_id="mpCancelOrder",
    tags=["mp orders"],
    status_code=200,
)
def cancel_my_order(request: Request, order_no: fields.OrderNo, me: Me) -> views.CustomerOrderView:
    """Cancel an order not yet released to production (C13); the ERP is told. Cancelling again an
    order this customer cancelled answers it as it is (200)."""
    return _move_own_order(request, order_no, me, OrderStatus.CANCELLED)


@post(
    "/orders/{order_no:str}/receipt",
    sync_to_thread=True,
    operation_id="mpConfirmReceipt",
    tags=["mp orders"],
    status_code=200,
)
def confirm_receipt(request: Request, order_no: fields.OrderNo, me: Me) -> views.CustomerOrderView:
    """Confirm receipt of a shipped order → 已完成 (C9); the ERP is told. Confirming again an order
    this customer confirmed answers it as it is (200)."""
    return _move_own_order(request, order_no, me, OrderStatus.COMPLETED)


# --------------------------------------------------------------------------- staff


def _staff_detail(session, staff: Principal, order: Order) -> views.StaffOrderView:
    return views.staff_order_view(order_details(session, staff.actor, order))


@get("/orders", sync_to_thread=True, operation_id="salesOrders", tags=["sales orders"])
def staff_orders(
    request: Request,
    staff: Staff,
    status: StatusFilter = None,
    awaiting_payment: Annotated[bool, Parameter(required=False)] = False,
    unassigned: Annotated[bool, Parameter(required=False)] = False,
    customer_id: Annotated[int | None, Parameter(required=False, ge=1, le=fields.MAX_ID)] = None,
    page: Page = 1,
) -> views.StaffOrderPage:
    """My customers' orders, newest first; ``awaiting_payment=true``: the ones waiting for my
    payment confirmation (A6); ``unassigned=true`` (admins): those of customers no active
    salesperson follows, the queue nobody else sees (A10)."""
    with read_scope(runtime(request).engine) as session:
        customer = customers.customer_for(session, staff.actor, customer_id) if customer_id is not None else None
        found = order_page(
            session,
            staff.actor,
            status=_status(status),
            awaiting_payment=awaiting_payment,
            unassigned=unassigned,
            customer=customer,
            page=page,
        )
        return views.staff_order_page(found)


@get("/orders/{order_no:str}", sync_to_thread=True, operation_id="salesOrder", tags=["sales orders"])
def staff_order(request: Request, order_no: fields.OrderNo, staff: Staff) -> views.StaffOrderView:
    """One order with its lines, timeline, shipments and notes, and what I may do with it now."""
    with read_scope(runtime(request).engine) as session:
        return _staff_detail(session, staff, scope.order_for(session, staff.actor, order_no))


@post(
    "/orders/{order_no:str}/release",
    sync_to_thread=True,
    operation_id="salesReleaseOrder",
    tags=["sales orders"],
    status_code=200,
)
def release_order(request: Request, order_no: fields.OrderNo, staff: Staff) -> views.StaffOrderView:
    """Payment confirmed: release a type-2 order to production (A1, A6) and tell the ERP;
    releasing a released order again changes nothing."""
    with session_scope(runtime(request).engine) as session:
        done = orders.release_order(session, staff.actor, order_no)
        answer = views.staff_order_view(done.details)
    if done.changed:
        wake_dispatcher(request)
    return answer


@post(
    "/orders/{order_no:str}/cancel",
    sync_to_thread=True,
    operation_id="salesCancelOrder",
    tags=["sales orders"],
    status_code=200,
)
def staff_cancel_order(
    request: Request, order_no: fields.OrderNo, staff: Staff, data: JSONBody[CancelBody | None] = None
) -> views.StaffOrderView:
    """Cancel an order that has not shipped; the ERP and the customer are told."""
    reason = ((data.reason if data else None) or "").strip() or None
    with session_scope(runtime(request).engine) as session:
        answer = views.staff_order_view(orders.cancel_order(session, staff.actor, order_no, reason).details)
    wake_dispatcher(request)
    return answer


@post("/orders/{order_no:str}/notes", sync_to_thread=True, operation_id="salesOrderNote", tags=["sales orders"])
def order_note(request: Request, order_no: fields.OrderNo, data: JSONBody[NoteBody], staff: Staff) -> views.NoteOut:
    """Write a follow-up note on an order (A6)."""
    with session_scope(runtime(request).engine) as session:
        return views.note_view(orders.note_order(session, staff.actor, order_no, data.body))


MP = [place, my_orders, my_order, reorder_lines, cancel_my_order, confirm_receipt]
SALES = [staff_orders, staff_order, release_order, staff_cancel_order, order_note]
