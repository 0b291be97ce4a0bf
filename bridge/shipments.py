"""What has been shipped of an order: the ERP's shipments held against the order's lines (C8).

An order may ship in several parts. Each shipment line names a SKU and a quantity; it must be a
SKU of the order, and together with the earlier shipments no more of it than was ordered. Where
an order has several lines of one SKU (the same wheel with two markings), what was shipped of
that SKU fills them in line order. The inbox asks ``refusal`` before it records a shipment,
from whichever connector it came; the order detail shows ``shipped_per_line``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlmodel import Session, select

from bridge.models import Order, OrderLine, Shipment, ShipmentLine


def shipped_by_sku(session: Session, order_id: int) -> dict[str, int]:
    """How many of each SKU the recorded shipments of the order hold, together."""
    totals: dict[str, int] = defaultdict(int)
    rows = session.exec(
        select(ShipmentLine.sku, ShipmentLine.quantity)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .where(Shipment.order_id == order_id)
    )
    for sku, quantity in rows:
        totals[sku] += quantity
    return dict(totals)


def shipped_per_line(lines: Sequence[OrderLine], shipped: dict[str, int]) -> dict[int, int]:
    """Order line id → how many of it were shipped: each SKU's shipped total fills the order's
    lines of that SKU in line order (what exceeds them — recorded before this rule — is left out)."""
    left = dict(shipped)
    per_line: dict[int, int] = {}
    for line in sorted(lines, key=lambda x: x.line_no):
        taken = min(line.quantity, max(0, left.get(line.sku, 0)))
        per_line[line.id] = taken
        left[line.sku] = left.get(line.sku, 0) - taken
    return per_line


def refusal(
    order: Order, lines: Sequence[OrderLine], shipped: dict[str, int], new: list[tuple[str, int]]
) -> str | None:
    """Why the shipment lines ``new`` ((sku, quantity), numbered from 1 as the ERP sent them)
    cannot be shipped against ``order`` with ``lines`` after ``shipped`` (``shipped_by_sku``),
    naming the line and the SKU; None when every line fits."""
    ordered: dict[str, int] = defaultdict(int)
    for line in lines:
        ordered[line.sku] += line.quantity
    above: dict[str, int] = defaultdict(int)
    for n, (sku, quantity) in enumerate(new, 1):
        if sku not in ordered:
            return f"lines[{n}]: SKU {sku!r} is not on order {order.order_no}"
        before = shipped.get(sku, 0)
        left = max(0, ordered[sku] - before - above[sku])
        if quantity > left:
            also = f", {above[sku]} in the lines above" if above[sku] else ""
            return (
                f"lines[{n}]: {quantity} × {sku} is more than is still unshipped of order {order.order_no} "
                f"(ordered {ordered[sku]}, {before} shipped before{also}: {left} left)"
            )
        above[sku] += quantity
    return None


def line_for(lines: Sequence[OrderLine], shipped: dict[str, int], sku: str) -> int | None:
    """The id of the order line a shipment line of ``sku`` goes to after ``shipped``: the first
    of that SKU not fully shipped (else its last one)."""
    per_line = shipped_per_line(lines, shipped)
    of_sku = [line for line in sorted(lines, key=lambda x: x.line_no) if line.sku == sku]
    for line in of_sku:
        if per_line[line.id] < line.quantity:
            return line.id
    return of_sku[-1].id if of_sku else None
