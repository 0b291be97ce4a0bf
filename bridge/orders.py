"""Order placement (C5, C7, E1): validate, check visibility, snapshot prices, store the order
and its outbox message in one transaction.

The bridge never waits on the ERP to accept an order: the order and an ``order.create``
outbox row are written together and the customer gets an answer at once; the dispatcher
delivers later. The stock check happens *before* placement (the caller asks the ERP with a
deadline, outside any transaction) and its answer is passed in as a ``StockAnswer``;
``submit_order`` does both steps, the way every front end places an order.

The same idempotency key from the same customer returns the same order, so double taps and
network retries never create two orders; the same key with a different order is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bridge import addresses, shipments, statemachine, users
from bridge.actors import Actor
from bridge.addresses import SHIP_TO_FIELDS
from bridge.config import Config, OrdersSection
from bridge.customers import resolve_customer
from bridge.db import insert_row, insert_rows, read_scope, session_scope
from bridge.documents import order_document
from bridge.errors import Conflict, Forbidden, InvalidInput, NotFound, TooMany
from bridge.models import (
    ActorKind,
    Customer,
    CustomerType,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    ProductQR,
    OrderEvent,
    Sequence,
    Shipment,
    ShipmentLine,
    StaffUser,
    StockCheck,
)
from bridge.outbox import customer_key, enqueue_all, message_row, notice_row
from bridge.db import Page, paginate
from bridge.notes import NoteView, add_note, notes_on, staff_names
from bridge.scope import customers_of, may_act_on, order_for, unassigned_queue
from bridge.timeline import record
from bridge.text import LIKE_ESCAPE, check_text, like_pattern
from bridge.types import local_midnight, utcnow
from bridge.visibility import get_priced_product

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")


@dataclass(frozen=True)
class LineRequest:
    quantity: int
    product_id: int | None = None
    sku: str | None = None
    qr_payload: str | None = None
    """The scanned packaging code this line came from (C4), if any."""
    marking: str | None = None


@dataclass(frozen=True)
class OrderRequest:
    lines: list[LineRequest]
    idempotency_key: str
    address_id: int | None = None
    ship_to: dict[str, str] | None = None
    remark: str = ""


@dataclass(frozen=True)
class StockAnswer:
    """Stock figures from the ERP for the order's items, and where they came from."""

    quantities: dict[str, Decimal]
    source: Literal["live", "snapshot"] = "live"


class StockSource(Protocol):
    """What placement asks for stock (``bridge.stock.StockChecker``: the ERP with a deadline,
    outside any transaction, then its answer merged with the snapshot in the order's)."""

    def ask(self, skus: list[str]) -> Any: ...

    def answer(self, session: Session, asked: Any) -> StockAnswer | None: ...


@dataclass
class Placement:
    order: Order
    created: bool
    """False when the idempotency key matched an order placed before."""
    lines: list[OrderLine] = field(default_factory=list)
    customer: Customer | None = None
    """The customer the new order is for (merged-away customers resolved)."""
    events: list[OrderEvent] = field(default_factory=list)
    """The new order's timeline (its ``placed`` line)."""
    details: OrderDetails | None = None
    """The order as its placer reads it (``submit_order`` fills it in)."""


def stock_verdict(lines: list[tuple[str, int]], stock: StockAnswer | None) -> StockCheck:
    """C7: sufficient only when every item's figure covers the order's total for it."""
    if stock is None:
        return StockCheck.UNKNOWN
    wanted: dict[str, int] = defaultdict(int)
    for sku, qty in lines:
        wanted[sku] += qty
    if any(sku not in stock.quantities for sku in wanted):
        return StockCheck.UNKNOWN
    return (
        StockCheck.SUFFICIENT if all(stock.quantities[s] >= q for s, q in wanted.items()) else StockCheck.INSUFFICIENT
    )


def request_hash(request: OrderRequest) -> str:
    canonical = json.dumps(asdict(request) | {"idempotency_key": None}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_request(request: OrderRequest, limits: OrdersSection) -> None:
    """Shape checks that need no database; every message names the problem."""
    if not IDEMPOTENCY_KEY.match(request.idempotency_key or ""):
        raise InvalidInput("请求缺少有效的幂等键", "idempotency key must be 8-128 characters of A-Z a-z 0-9 . _ : -")
    if not request.lines:
        raise InvalidInput("订单至少需要一个商品", "an order needs at least one line")
    if len(request.lines) > limits.max_lines:
        raise InvalidInput(f"一个订单最多 {limits.max_lines} 个商品", f"at most {limits.max_lines} lines per order")
    for n, line in enumerate(request.lines, 1):
        if (
            isinstance(line.quantity, bool)
            or not isinstance(line.quantity, int)
            or not 1 <= line.quantity <= limits.max_quantity
        ):
            raise InvalidInput(
                f"第 {n} 行数量须为 1 到 {limits.max_quantity} 之间的整数",
                f"line {n}: quantity must be an integer from 1 to {limits.max_quantity}",
                line=n,
            )
        if line.product_id is None and not line.sku:
            raise InvalidInput(f"第 {n} 行缺少商品", f"line {n}: product_id or sku is required", line=n)
        if line.marking is not None and len(line.marking) > 128:
            raise InvalidInput(f"第 {n} 行标记过长", f"line {n}: marking longer than 128 characters", line=n)
    if len(request.remark or "") > limits.remark_max_length:
        raise InvalidInput(f"备注最多 {limits.remark_max_length} 字", f"remark longer than {limits.remark_max_length}")
    if request.address_id is None and request.ship_to is None:
        raise InvalidInput("请选择收货地址", "address_id or ship_to is required")
    if request.ship_to is not None:
        _clean_ship_to(request.ship_to)


def _clean_ship_to(raw: dict[str, Any]) -> dict[str, str]:
    unknown = set(raw) - set(SHIP_TO_FIELDS)
    if unknown:
        raise InvalidInput("收货信息包含未知字段", f"ship_to: unknown fields {sorted(unknown)}")
    clean = {k: str(raw.get(k) or "").strip() for k in SHIP_TO_FIELDS}
    for key in ("recipient", "phone", "detail"):
        if not clean[key]:
            raise InvalidInput("收货人、电话和详细地址不能为空", f"ship_to.{key} is required")
    for key, limit in SHIP_TO_FIELDS.items():
        if len(clean[key]) > limit:
            raise InvalidInput("收货信息过长", f"ship_to.{key} longer than {limit}")
    return clean


def next_order_no(session: Session, prefix: str, tz: str, now: datetime | None = None) -> str:
    """JHT-20261125-0001: prefix, the local date, a per-day counter (atomic on both databases).

    SQLite: counted in the caller's transaction (its writers queue anyway), so the numbers have
    no gaps. PostgreSQL: counted in a transaction of its own, committed at once; in the caller's,
    the counter's row would stay locked until that commit and every placement of the day would
    queue on it. A placement that fails after this step leaves its number unused (a gap)."""
    day = (now or utcnow()).astimezone(ZoneInfo(tz)).strftime("%Y%m%d")
    params = {"name": f"order_no:{prefix}:{day}"}
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        with bind.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as own:
            value = own.execute(_NEXT_VALUE[True], params).scalar_one()
    else:
        value = session.connection().execute(_NEXT_VALUE[False], params).scalar_one()
    return f"{prefix}-{day}-{value:04d}"


def _next_value(insert) -> sa.Executable:
    table = Sequence.__table__
    return (
        insert(table)
        .values(name=sa.bindparam("name"), value=1)
        .on_conflict_do_update(index_elements=[table.c.name], set_={"value": table.c.value + 1})
        .returning(table.c.value)
    )


_NEXT_VALUE = {False: _next_value(sqlite_insert), True: _next_value(pg_insert)}
"""The counter's upsert (SQLite's, PostgreSQL's), built once."""


def _replay(order: Order, digest: str) -> Placement:
    if order.request_hash != digest:
        raise Conflict(
            "该请求已用于另一个订单，请刷新后重试",
            f"idempotency key already used for order {order.order_no} with different content",
            order_no=order.order_no,
        )
    return Placement(order=order, created=False)


def _ship_to(session: Session, customer: Customer, request: OrderRequest) -> tuple[dict[str, str], int | None]:
    if request.address_id is None:
        return _clean_ship_to(request.ship_to or {}), None
    return addresses.ship_to(session, customer, request.address_id), request.address_id


def spec_text(product: Product) -> str:
    """The wheel spec on one line, e.g. "1 400×50×127 WA 60 K V 35m/s"."""
    size = "×".join(
        f"{v.normalize():f}"
        for v in (product.outer_diameter_mm, product.thickness_mm, product.bore_mm)
        if v is not None
    )
    speed = f"{product.max_speed_ms.normalize():f}m/s" if product.max_speed_ms is not None else None
    parts = [product.shape, size, product.abrasive, product.grit, product.hardness, product.bond, speed]
    return " ".join(p for p in parts if p)


def place_order(
    session: Session,
    actor: Actor,
    customer_id: int,
    request: OrderRequest,
    *,
    limits: OrdersSection,
    timezone: str = "Asia/Shanghai",
    stock: StockAnswer | None = None,
    account_id: int | None = None,
) -> Placement:
    """Store a new order (or return the one this idempotency key made before).

    ``actor`` is the customer themselves, their salesperson, or an admin. Raises InvalidInput,
    NotFound (a product the customer may not see is reported as not existing), Forbidden or
    Conflict; never writes anything partially.
    """
    validate_request(request, limits)
    customer = _locked_customer(session, customer_id)
    _check_actor(actor, customer, customer_id)

    digest = request_hash(request)
    now = utcnow()
    # The key's order and the customer's recent orders in one statement, read with the
    # customer's placements held off (see below); a replay is never refused by the rate limit.
    known, *recent = (
        session.connection()
        .execute(
            _KEY_AND_RECENT,
            {
                "customer_id": customer.id,
                "key": request.idempotency_key,
                "minute_ago": now - RATE_SPANS[0][0],
                "day_ago": now - RATE_SPANS[1][0],
            },
        )
        .one()
    )
    if known is not None:
        return _replay(session.get(Order, known), digest)
    _check_order_rate(session, customer.id, limits, now, recent)
    ship_to, address_id = _ship_to(session, customer, request)
    rows: list[dict[str, Any]] = []
    for n, line in enumerate(request.lines, 1):
        try:
            product, unit_price = get_priced_product(session, customer, line.product_id, sku=line.sku)
        except NotFound as exc:
            raise NotFound(f"第 {n} 行：{exc.message}", f"line {n}: {exc.detail}", line=n) from None
        marking = line.marking
        if line.qr_payload is not None:
            qr = session.exec(select(ProductQR).where(ProductQR.payload == line.qr_payload)).first()
            if qr is None or qr.product_id != product.id:
                raise InvalidInput(
                    f"第 {n} 行：二维码与商品不符", f"line {n}: QR payload does not belong to {product.sku}", line=n
                )
            marking = marking or qr.marking
        rows.append(
            dict(
                line_no=n,
                product_id=product.id,
                sku=product.sku,
                erp_item_code=product.erp_item_code,
                name=product.name,
                spec=spec_text(product)[:255],
                marking=marking or product.marking,
                unit=product.unit,
                quantity=line.quantity,
                unit_price=unit_price,
                amount=unit_price * line.quantity,
                qr_payload=line.qr_payload,
            )
        )

    verdict = stock_verdict([(row["sku"], row["quantity"]) for row in rows], stock)
    total = sum((row["amount"] for row in rows), Decimal("0.00"))
    # Above the review amount an order waits for the salesperson whatever the customer's type.
    held = limits.review_above_amount is not None and total > limits.review_above_amount
    released = customer.type == CustomerType.TYPE_1 and not held
    # Written with one statement per table (bridge.db.insert_rows), no unit of work (issue #16).
    order = insert_row(
        session,
        Order,
        order_no=next_order_no(session, limits.number_prefix, timezone, now),
        customer_id=customer.id,
        account_id=account_id,
        placed_by_staff_id=int(actor.id)
        if actor.kind in (ActorKind.SALES, ActorKind.ADMIN) and (actor.id or "").isdigit()
        else None,
        status=OrderStatus.AWAITING_SHIPMENT if verdict == StockCheck.SUFFICIENT else OrderStatus.PENDING,
        released=released,
        released_at=now if released else None,
        stock_check=verdict,
        stock_source=stock.source if stock is not None else "none",
        idempotency_key=request.idempotency_key,
        request_hash=digest,
        ship_to=ship_to,
        address_id=address_id,
        remark=(request.remark or "").strip(),
        total_amount=total,
        created_at=now,
        updated_at=now,
    )
    # No other placement for this customer ran since _KEY_AND_RECENT (SQLite: BEGIN IMMEDIATE;
    # PostgreSQL: the customer's row lock), so the key cannot race in.
    lines = insert_rows(session, OrderLine, [row | {"order_id": order.id} for row in rows])
    placed = record(
        session,
        order,
        actor,
        "placed",
        to_status=order.status,
        data={"stock_check": verdict.value, "stock_source": order.stock_source, "released": order.released}
        | ({"held_for_review": True, "review_above_amount": str(limits.review_above_amount)} if held else {}),
        at=now,
    )
    enqueue_all(
        session,
        [
            message_row(
                kind="order.create",
                ordering_key=customer_key(customer.id),
                aggregate_type="order",
                aggregate_id=order.order_no,
                payload=order_document(session, order, customer=customer, lines=lines),
            ),
            # A5: the salesperson hears of every new order (type 2: they must confirm payment).
            notice_row(
                "new_order",
                customer_id=customer.id,
                order_no=order.order_no,
                salesperson_id=customer.salesperson_id,
                needs_payment_confirmation=not order.released,
                held_for_review=held,
            ),
        ],
    )
    return Placement(order=order, created=True, lines=lines, customer=customer, events=[placed])


_orders = Order.__table__
_keyed = _orders.alias("keyed")
_KEY_AND_RECENT = sa.select(
    sa.select(_keyed.c.id)
    .where(_keyed.c.customer_id == sa.bindparam("customer_id"), _keyed.c.idempotency_key == sa.bindparam("key"))
    .scalar_subquery(),
    sa.func.count(sa.case((_orders.c.created_at > sa.bindparam("minute_ago", type_=_orders.c.created_at.type), 1))),
    sa.func.count(),
).where(_orders.c.customer_id == sa.bindparam("customer_id"), _orders.c.created_at > sa.bindparam("day_ago"))
"""The order the idempotency key made (its id, or NULL), and how many orders the customer
placed in the last minute and in the last day (``RATE_SPANS``)."""

RATE_SPANS = ((timedelta(minutes=1), "每分钟"), (timedelta(days=1), "每天"))


def _check_order_rate(session: Session, customer_id: int, limits: OrdersSection, now, counts) -> None:
    """TooMany when the customer placed ``per_customer_per_minute`` new orders in the last minute
    or ``per_customer_per_day`` in the last 24 hours (``counts``: how many in each of
    ``RATE_SPANS``). Runs with the customer's row held, so two requests at once cannot both pass
    the last place."""
    spans = (
        (RATE_SPANS[0][0], limits.per_customer_per_minute, RATE_SPANS[0][1]),
        (RATE_SPANS[1][0], limits.per_customer_per_day, RATE_SPANS[1][1]),
    )
    # Which order to wait for is asked only at the limit.
    for (span, most, zh), placed in zip(spans, counts):
        if placed < most:
            continue
        t = Order.__table__
        oldest = session.execute(
            sa.select(t.c.created_at)
            .where(t.c.customer_id == customer_id, t.c.created_at > now - span)
            .order_by(t.c.created_at.desc())
            .offset(most - 1)
            .limit(1)
        ).scalar_one()
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
        wait = max(1, int((oldest + span - now).total_seconds()) + 1)
        raise TooMany(
            f"下单过于频繁：{zh}最多 {most} 单，请稍后再试",
            f"customer {customer_id} placed {most} orders within {span}: limit reached",
            retry_after_s=wait,
        )


def _locked_customer(session: Session, customer_id: int) -> Customer:
    """The customer the order is for (a merged-away customer's orders go to its survivor).
    PostgreSQL: its row is held FOR NO KEY UPDATE until the commit, so the customer's
    placements (and a merge) take turns: an idempotency key looked up after that lock cannot
    race in from a second request, and a merge running now finishes before the order is stored
    or waits for it; rows that merely refer to the customer are not held up. (SQLite serialises
    writers already.)"""
    if session.get_bind().dialect.name == "sqlite":
        return resolve_customer(session, customer_id)  # BEGIN IMMEDIATE: no other writer beside us
    lock = {"key_share": True}  # FOR NO KEY UPDATE
    locked = session.get(Customer, customer_id, with_for_update=lock, populate_existing=True)
    if locked is None:
        return resolve_customer(session, customer_id)  # says which customer does not exist
    while locked.merged_into_id is not None:
        survivor = resolve_customer(session, locked.merged_into_id)
        locked = session.get(Customer, survivor.id, with_for_update=lock, populate_existing=True)
    return locked


def _check_actor(actor: Actor, customer: Customer, requested_id: int) -> None:
    """Orders are placed by people (the customer, its salesperson, an admin) within their
    scope (bridge.scope); this only picks the words of the refusal."""
    if actor.kind not in (ActorKind.CUSTOMER, ActorKind.SALES, ActorKind.ADMIN):
        raise Forbidden("无权下单", f"{actor.kind.value} cannot place orders")
    if not may_act_on(actor, customer, named_as=requested_id):
        raise Forbidden(
            "只能为自己的客户下单" if actor.kind == ActorKind.SALES else "无权为其他客户下单",
            f"{actor} may not order for customer {customer.id}",
        )


_ONE_ROW = sa.select(sa.literal(1).label("one")).subquery("one_row")
_PREPARE = sa.select(
    sa.select(_keyed.c.id)
    .where(_keyed.c.customer_id == sa.bindparam("customer_id"), _keyed.c.idempotency_key == sa.bindparam("key"))
    .scalar_subquery(),
    Product.sku,
).select_from(_ONE_ROW.outerjoin(Product, Product.id.in_(sa.bindparam("ids", expanding=True))))
"""The order the idempotency key made (its id, or NULL) on every row, and the SKUs of the
products ``ids`` (one row with a NULL SKU when none is found): both questions in one statement."""


@dataclass(frozen=True)
class Prepared:
    """What placement asks before its transaction (``prepare_order``)."""

    known: bool
    """The idempotency key made an order already: no stock question, the order is replayed."""
    skus: list[str]
    """The SKUs to ask the ERP's stock of."""


def prepare_order(session: Session, customer_id: int, request: OrderRequest) -> Prepared:
    """Read before placing, in the caller's read session (the API's, with the sign-in check):
    whether the key is known, and which SKUs the lines name."""
    ids = [line.product_id for line in request.lines if line.product_id is not None]
    rows = (
        session.connection()
        .execute(_PREPARE, {"customer_id": customer_id, "key": request.idempotency_key, "ids": ids})
        .all()
    )
    known = rows[0][0] is not None
    skus = {line.sku for line in request.lines if line.sku}
    if not known:
        skus |= {sku for _, sku in rows if sku is not None}
    return Prepared(known, sorted(skus))


def submit_order(
    engine: Engine,
    checker: StockSource,
    actor: Actor,
    customer_id: int,
    request: OrderRequest,
    config: Config,
    *,
    account_id: int | None = None,
    prepared: Prepared | None = None,
) -> Placement:
    """Place an order the way the API does: the ERP asked for stock first (outside any
    transaction), then its answer, the order and its outbox rows in one transaction, and the
    order as ``actor`` reads it (``Placement.details``). A repeated idempotency key skips the
    stock question and returns the order it made. ``prepared``: ``prepare_order``'s answer when
    the caller read it already."""
    if prepared is None:
        with read_scope(engine) as session:
            prepared = prepare_order(session, customer_id, request)
    asked = None if prepared.known else checker.ask(prepared.skus)
    with session_scope(engine) as session:
        placed = place_order(
            session,
            actor,
            customer_id,
            request,
            limits=config.orders,
            timezone=config.bridge.timezone,
            stock=checker.answer(session, asked) if asked is not None else None,
            account_id=account_id,
        )
        placed.details = (
            _new_order_details(session, actor, placed)
            if placed.created
            else order_details(session, actor, placed.order)
        )
        return placed


# --------------------------------------------------------------------------- reading orders


@dataclass(frozen=True)
class ShipmentView:
    shipment: Shipment
    lines: list[ShipmentLine]


@dataclass(frozen=True)
class OrderDetails:
    """An order as a person reads it, and what the reader may do with it now (asked of the state
    machine, so a button never offers what the rule would refuse)."""

    order: Order
    customer: Customer
    lines: list[OrderLine]
    shipments: list[ShipmentView]
    shipped: dict[int, int]
    """Order line id → how many of it the shipments so far hold (``shipments.shipped_per_line``)."""
    events: list[OrderEvent]
    """The timeline, oldest first, without the ERP reports the bridge ignored."""
    notes: list[NoteView]
    """Staff notes on the order: staff readers only (a customer never sees them)."""
    can_cancel: bool
    can_confirm_receipt: bool
    can_release: bool
    awaiting_payment: bool = False
    """Waiting for the salesperson's payment confirmation (``statemachine.awaits_payment``)."""
    staff: dict[int, str] = field(default_factory=dict)
    """Staff readers only: the display names of the staff users on the timeline (by id)."""


def order_details(session: Session, actor: Actor, order: Order) -> OrderDetails:
    """The details of ``order`` (found in the actor's scope, ``scope.order_for``)."""
    lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)).all()
    recorded = session.exec(select(Shipment).where(Shipment.order_id == order.id).order_by(Shipment.id)).all()
    events = session.exec(
        select(OrderEvent)
        .where(OrderEvent.order_id == order.id, OrderEvent.action != "ignored")
        .order_by(OrderEvent.id)
    ).all()
    views = [
        ShipmentView(
            s,
            list(session.exec(select(ShipmentLine).where(ShipmentLine.shipment_id == s.id).order_by(ShipmentLine.id))),
        )
        for s in recorded
    ]
    staff = actor.kind in (ActorKind.ADMIN, ActorKind.SALES)
    may_do = statemachine.actions(order, actor)
    return OrderDetails(
        order=order,
        customer=session.get(Customer, order.customer_id),
        lines=list(lines),
        shipments=views,
        shipped=shipments.shipped_per_line(lines, shipments.shipped_by_sku(session, order.id)),
        events=list(events),
        notes=notes_on(session, order=order) if staff else [],
        can_cancel=statemachine.CANCEL in may_do,
        can_confirm_receipt=statemachine.CONFIRM_RECEIPT in may_do,
        can_release=statemachine.RELEASE in may_do,
        awaiting_payment=statemachine.awaits_payment(order),
        staff=staff_names(session, {int(e.actor_id) for e in events if _by_staff(e)}) if staff else {},
    )


def _new_order_details(session: Session, actor: Actor, placed: Placement) -> OrderDetails:
    """``order_details`` of an order ``place_order`` made just now, from what it holds: no
    shipments, no notes, its one timeline line (the same answer, without reading it back)."""
    order = placed.order
    staff = actor.kind in (ActorKind.ADMIN, ActorKind.SALES)
    may_do = statemachine.actions(order, actor)
    return OrderDetails(
        order=order,
        customer=placed.customer,
        lines=list(placed.lines),
        shipments=[],
        shipped=shipments.shipped_per_line(placed.lines, {}),
        events=list(placed.events),
        notes=[],
        can_cancel=statemachine.CANCEL in may_do,
        can_confirm_receipt=statemachine.CONFIRM_RECEIPT in may_do,
        can_release=statemachine.RELEASE in may_do,
        awaiting_payment=statemachine.awaits_payment(order),
        staff=staff_names(session, {int(e.actor_id) for e in placed.events if _by_staff(e)}) if staff else {},
    )


def _by_staff(event: OrderEvent) -> bool:
    return event.actor_kind in (ActorKind.ADMIN, ActorKind.SALES) and (event.actor_id or "").isdigit()


# --------------------------------------------------------------------------- staff actions
# What a salesperson or an admin does to an order (the sales API and the admin pages alike): find
# it in their scope, ask the state machine or the notes, answer the order as it is now.

MAX_CANCEL_REASON = 500
"""As long as a timeline note may be (``OrderEvent.note``)."""


@dataclass(frozen=True)
class OrderAction:
    details: OrderDetails
    """The order after the action, as ``order_details`` reads it."""
    changed: bool
    """False when there was nothing to do (released before, or a customer's repeat): nothing new
    for the ERP."""


def release_order(session: Session, actor: Actor, order_no: str) -> OrderAction:
    """Payment confirmed: release the type-2 order ``order_no`` (A1, A6; ``statemachine.release``:
    the ERP gets ``order.release``); releasing a released order again changes nothing."""
    order = order_for(session, actor, order_no)
    done = statemachine.release(session, order, actor)
    session.flush()
    return OrderAction(order_details(session, actor, order), done is not None)


def cancel_order(session: Session, actor: Actor, order_no: str, reason: str | None = None) -> OrderAction:
    """Cancel ``order_no`` for a staff user, ``reason`` on its timeline (blank: none); the ERP and
    the customer are told (``statemachine.transition``)."""
    text = check_text((reason or "").strip(), "reason", "取消原因")
    if len(text) > MAX_CANCEL_REASON:
        raise InvalidInput(
            f"取消原因不能超过 {MAX_CANCEL_REASON} 个字", f"reason longer than {MAX_CANCEL_REASON}", field="reason"
        )
    order = order_for(session, actor, order_no)
    statemachine.transition(session, order, OrderStatus.CANCELLED, actor, note=text or None)
    session.flush()
    return OrderAction(order_details(session, actor, order), True)


def move_own_order(session: Session, actor: Actor, order_no: str, to: OrderStatus) -> OrderAction:
    """The customer cancels (C13) or confirms receipt of (C9) their own order ``order_no``
    through the state machine, which tells the ERP. Asking again what this customer already did
    (the mini-program retries on a flaky network) changes nothing and answers the order as it is
    (``statemachine.repeated``); anything else the state machine refuses is refused."""
    order = order_for(session, actor, order_no)
    if statemachine.repeated(session, order, to, actor):
        return OrderAction(order_details(session, actor, order), False)
    statemachine.transition(session, order, to, actor)
    session.flush()
    return OrderAction(order_details(session, actor, order), True)


def note_order(session: Session, actor: Actor, order_no: str, body: str) -> NoteView:
    """Write a follow-up note on ``order_no`` (A6; ``notes.add_note``)."""
    order = order_for(session, actor, order_no)
    return add_note(session, actor, body, session.get(Customer, order.customer_id), order)


def order_page(
    session: Session,
    actor: Actor,
    *,
    status: OrderStatus | None = None,
    awaiting_payment: bool = False,
    unassigned: bool = False,
    customer: Customer | None = None,
    search: str | None = None,
    salesperson_id: int | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    timezone: str = "Asia/Shanghai",
    page: int = 1,
) -> Page[tuple[Order, Customer]]:
    """The orders of the customers ``actor`` may see (or of ``customer``, one of them), newest
    first; ``awaiting_payment``: only those waiting for a payment confirmation (A6);
    ``unassigned``: only those of customers nobody follows, the admins' queue (A10);
    ``search``: the order number or the customer's name contains it; ``salesperson_id``: of the
    customers that staff user follows (within the scope: a salesperson's own, or nothing);
    ``created_from`` / ``created_to``: placed on those days or between them (both included), as
    days of ``timezone`` (``[bridge] timezone``)."""
    stmt = select(Order, Customer).join(Customer, Customer.id == Order.customer_id).where(customers_of(actor))
    if unassigned:
        stmt = stmt.where(unassigned_queue(actor))
    if customer is not None:
        stmt = stmt.where(Order.customer_id == customer.id)
    if status is not None:
        stmt = stmt.where(Order.status == status)
    if awaiting_payment:
        stmt = stmt.where(statemachine.awaiting_payment())
    if search and search.strip():
        like = like_pattern(search.strip())
        stmt = stmt.where(
            sa.or_(Order.order_no.ilike(like, escape=LIKE_ESCAPE), Customer.name.ilike(like, escape=LIKE_ESCAPE))
        )
    if salesperson_id is not None:
        stmt = stmt.where(Customer.salesperson_id == salesperson_id)
    if created_from is not None:
        stmt = stmt.where(Order.created_at >= local_midnight(created_from, timezone))
    if created_to is not None:
        stmt = stmt.where(Order.created_at < local_midnight(created_to + timedelta(days=1), timezone))
    found = paginate(session, stmt.order_by(Order.id.desc()), page)
    return Page([tuple(row) for row in found.items], found.total, found.page, found.page_size)


@dataclass(frozen=True)
class OrderRow:
    """One line of the staff's order list (the admin pages)."""

    order: Order
    customer: Customer
    salesperson: str | None
    """The display name of the customer's salesperson (None: nobody follows it)."""
    line_count: int
    first_line: str | None
    """The first line's product name, for a summary such as "平形砂轮 等 3 种"."""
    awaiting_payment: bool


def order_rows(session: Session, actor: Actor, **filters: Any) -> Page[OrderRow]:
    """``order_page`` (same ``filters``, same scope) with what a list row shows besides the order:
    the salesperson's name, the number of lines and the first line's product."""
    found = order_page(session, actor, **filters)
    ids = [o.id for o, _ in found.items]
    counts: dict[int, int] = {}
    first: dict[int, str] = {}
    if ids:
        counts = dict(
            session.exec(
                select(OrderLine.order_id, sa.func.count())
                .where(OrderLine.order_id.in_(ids))
                .group_by(OrderLine.order_id)
            ).all()
        )
        for order_id, name in session.exec(
            select(OrderLine.order_id, OrderLine.name).where(OrderLine.order_id.in_(ids), OrderLine.line_no == 1)
        ).all():
            first[order_id] = name
    names = staff_names(session, {c.salesperson_id for _, c in found.items})
    rows = [
        OrderRow(
            order=o,
            customer=c,
            salesperson=names.get(c.salesperson_id),
            line_count=counts.get(o.id, 0),
            first_line=first.get(o.id),
            awaiting_payment=statemachine.awaits_payment(o),
        )
        for o, c in found.items
    ]
    return Page(rows, found.total, found.page, found.page_size)


@dataclass(frozen=True)
class OrderListing:
    """What the staff's order list shows: a page of rows and, for an admin, whom to filter by."""

    rows: Page[OrderRow]
    salespeople: list[StaffUser]
    """For an admin: ``users.salespeople``; empty for a salesperson (they see their own only)."""


def order_listing(session: Session, actor: Actor, **filters: Any) -> OrderListing:
    """``order_rows`` for ``actor`` with ``filters``, and the salespeople an admin may filter by."""
    choices = users.salespeople(session) if actor.kind == ActorKind.ADMIN else []
    return OrderListing(order_rows(session, actor, **filters), choices)
