"""The documents the bridge sends to the ERP: plain, versioned dicts (the connector contract).

One builder per document, used by every caller (placement, merge, the preview command later),
so what is previewed is what is sent. Decimals travel as strings so no connector rounds them.
Control characters are stripped from every text (``bridge.text.clean_strings``): input refuses
them today, but older rows may hold one, and no ERP's XML, database or spreadsheet should get it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from bridge.models import Customer, Order, OrderLine, StaffUser
from bridge.text import clean_strings

ORDER_SCHEMA = "jht.order/1"
CUSTOMER_SCHEMA = "jht.customer/1"
COMMAND_SCHEMA = "jht.order_command/1"
MERGE_SCHEMA = "jht.customer_merge/1"


def _clean(build):
    """The document ``build`` makes, with control characters stripped from its texts."""
    import functools

    @functools.wraps(build)
    def wrapper(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return clean_strings(build(*args, **kwargs))

    return wrapper


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def customer_ref(customer: Customer) -> dict[str, Any]:
    return {"id": customer.id, "erp_code": customer.erp_code, "name": customer.name}


@_clean
def customer_document(session: Session, customer: Customer) -> dict[str, Any]:
    """``customer.upsert``: what the ERP customer master needs (E4)."""
    sales = session.get(StaffUser, customer.salesperson_id) if customer.salesperson_id else None
    aliases = session.exec(select(Customer.id).where(Customer.merged_into_id == customer.id)).all()
    return {
        "schema": CUSTOMER_SCHEMA,
        **customer_ref(customer),
        "type": customer.type,
        "contact_name": customer.contact_name,
        "phone": customer.phone,
        "salesperson": {"username": sales.username, "name": sales.display_name} if sales else None,
        "merged_ids": sorted(aliases),
        "updated_at": _iso(customer.updated_at),
    }


@_clean
def order_document(
    session: Session, order: Order, *, customer: Customer | None = None, lines: list[OrderLine] | None = None
) -> dict[str, Any]:
    """``order.create``: the sales order with its lines (E1). ``customer`` and ``lines`` may be
    passed when the caller has them in hand (order placement), saving the queries."""
    customer = customer or session.get(Customer, order.customer_id)
    if lines is None:
        lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)).all()
    return {
        "schema": ORDER_SCHEMA,
        "order_no": order.order_no,
        "customer": customer_ref(customer),
        "customer_type": customer.type,
        "released": order.released,
        "status": order.status.value,
        "stock_check": order.stock_check.value,
        "placed_at": _iso(order.created_at),
        "ship_to": order.ship_to,
        "remark": order.remark,
        "total_amount": str(order.total_amount),
        "lines": [
            {
                "line_no": line.line_no,
                "sku": line.sku,
                "erp_item_code": line.erp_item_code,
                "name": line.name,
                "spec": line.spec,
                "marking": line.marking,
                "quantity": line.quantity,
                "unit": line.unit,
                "unit_price": str(line.unit_price),
                "amount": str(line.amount),
            }
            for line in lines
        ],
    }


@_clean
def command_document(order: Order, command: str, at: datetime) -> dict[str, Any]:
    """``order.release`` / ``order.cancel`` / ``order.complete`` (E5)."""
    return {"schema": COMMAND_SCHEMA, "order_no": order.order_no, "command": command, "at": _iso(at)}


@_clean
def merge_document(survivor: Customer, absorbed: Customer, at: datetime) -> dict[str, Any]:
    """``customer.merge``: the ERP should fold the absorbed customer record into the survivor (A2)."""
    return {
        "schema": MERGE_SCHEMA,
        "survivor": customer_ref(survivor),
        "absorbed": customer_ref(absorbed),
        "at": _iso(at),
    }
