"""The inbox: changes from the ERP, applied exactly once in effect.

Events are pulled from the connector after a persisted cursor (``SyncCursor``), kept once per
(connector, event id) in the ``inbox`` table, and each is applied in ONE transaction together
with the cursor advance — so a crash anywhere means the event is either fully applied and
remembered, or read again and applied then. After the commit the connector is told
(``ack``), so the file drop can move the file away.

What an event can come to (``InboxStatus``):
- applied: it changed the order / stock / customer;
- ignored: recorded, changed nothing (the same shipment again, a status the order already
  has, a move backwards — the ERP may send late or twice);
- parked: it names an order the bridge does not know (yet): tried again every
  ``park_retry_s``, ``park_max_attempts`` times, then dead;
- dead: it cannot be applied without a person (an ERP status word not in the mapping table,
  a transition the state machine refuses);
- quarantined: it could not be read at all (bad JSON, wrong encoding, missing fields), or it
  does not fit the order it names (a shipment of a SKU not on the order, or of more than is
  still unshipped: ``bridge.shipments``). A quarantined event changed nothing: when the ERP
  sends it again (the same event id, corrected or not) it is taken again, its new content
  replacing the stored one.

Nothing is dropped silently and nothing stops the loop: every outcome has its reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import structlog
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bridge import shipments
from bridge.text import CONTROL, describe
from bridge.actors import Actor, audit
from bridge.bindings import bind_customer_code, bind_order_ref, root_customer
from bridge.config import DEFAULT_STATUS_MAP, InboxSection
from bridge.connector import Connector, ErpEvent
from bridge.db import Page, paginate, session_scope
from bridge.errors import DomainError, InvalidInput, NotFound, TransitionRefused
from bridge.logs import get_logger
from bridge.models import (
    InboxEvent,
    InboxStatus,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    ShipmentLine,
    StockSnapshot,
    SyncCursor,
)
from bridge.outbox import enqueue_notice
from bridge.statemachine import apply_erp_status, release
from bridge.syncstate import admins_only
from bridge.timeline import record
from bridge.types import utcnow

STREAM = "events"


class _Reason(Exception):
    """A reason in English (``str``, kept on the inbox row) and, for the ERP's people, in
    Chinese (``zh``: the file drop's error note shows it)."""

    def __init__(self, detail: str, zh: str | None = None):
        super().__init__(detail)
        self.zh = zh


class Unreadable(_Reason):
    """The event's data is malformed: quarantine it with this reason."""


class Park(_Reason):
    """The event names something the bridge does not know yet."""


class Refuse(_Reason):
    """The event cannot be applied without a person: dead letter with this reason."""


class Ignore(Exception):
    """The event changes nothing: record it as ignored with this reason."""


def load_cursor(session: Session, connector: str) -> str | None:
    row = session.get(SyncCursor, (connector, STREAM))
    return row.value if row else None


def save_cursor(session: Session, connector: str, value: str | None) -> None:
    if value is None:
        return
    table = SyncCursor.__table__
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    session.execute(
        insert(table)
        .values(connector=connector, stream=STREAM, value=value, updated_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.connector, table.c.stream], set_={"value": value, "updated_at": now}
        )
    )


class InboxPoller:
    """Pulls the connector's events and applies them (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        connector: Connector,
        *,
        settings: InboxSection | None = None,
        status_map: dict[str, str] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.engine = engine
        self.connector = connector
        self.name = connector.name
        self.settings = settings or InboxSection()
        self.status_map = dict(DEFAULT_STATUS_MAP if status_map is None else status_map)
        self.clock = clock
        self.actor = Actor.erp(self.name)
        self.log = get_logger("bridge.inbox").bind(connector=self.name)

    def run_once(self) -> int:
        """Pull one batch and apply it, then retry parked events that are due.
        Returns how many events were handled (new and retried)."""
        with session_scope(self.engine) as session:
            cursor = load_cursor(session, self.name)
        events, next_cursor = self.connector.pull_events(cursor, self.settings.batch_size)
        for event in events:
            self.handle(event)
        if next_cursor is not None and next_cursor != cursor and not events:
            with session_scope(self.engine) as session:
                save_cursor(session, self.name, next_cursor)
        return len(events) + self.retry_parked()

    def drain(self, max_rounds: int = 10_000) -> int:
        total = 0
        for _ in range(max_rounds):
            n = self.run_once()
            if n == 0:
                break
            total += n
        return total

    # -- one event --------------------------------------------------------------------------

    def handle(self, event: ErpEvent) -> InboxStatus:
        """Record and apply one event with its cursor in one transaction, then ack it.

        An event id already recorded is a duplicate (see ``_takes_again`` for when it is taken
        again instead): applied or ignored before, it is ignored now; still parked or dead, the
        connector hears that status and its reason again, so the refusal stays in sight."""
        reason_zh = None
        with structlog.contextvars.bound_contextvars(event_id=event.event_id, kind=event.kind):
            with session_scope(self.engine) as session:
                existing = session.exec(
                    select(InboxEvent)
                    .where(InboxEvent.connector == self.name, InboxEvent.event_id == event.event_id)
                    .with_for_update()
                ).first()
                if existing is not None and not _takes_again(existing, event):
                    seen = f"already received (inbox #{existing.id}, {existing.status.value})"
                    if existing.status in (InboxStatus.APPLIED, InboxStatus.IGNORED):
                        status, reason = InboxStatus.IGNORED, seen
                    else:
                        status, reason = existing.status, f"{seen}: {existing.error}"
                else:
                    row = existing or InboxEvent(connector=self.name, event_id=event.event_id[:128])
                    if existing is not None:
                        self.log.info(
                            "event received again: its new copy replaces the one not applied",
                            inbox_id=existing.id,
                            was=existing.status.value,
                            reason=existing.error,
                        )
                        row.attempts, row.applied_at, row.next_attempt_at = 0, None, None
                    row.kind = event.kind[:32]
                    row.payload = _payload(event)
                    row.status, row.error = InboxStatus.QUARANTINED, None
                    row.source = (event.source or "")[:255] or None
                    row.received_at = self.clock()
                    if event.problem:
                        row.error = event.problem[:4000]
                    else:
                        reason_zh = self._apply(session, row)
                    session.add(row)
                    status, reason = row.status, row.error
                save_cursor(session, self.name, event.cursor)
            self._log(status, reason)
        self.connector.ack(event, status.value, reason, reason_zh=reason_zh)
        return status

    def _apply(self, session: Session, row: InboxEvent) -> str | None:
        """Apply ``row`` inside a savepoint; set its status and reason whatever happens. Returns
        the reason in Chinese when the event was refused (quarantined or dead) and one is known."""
        zh = None
        row.attempts += 1
        now = self.clock()
        try:
            with session.begin_nested():
                outcome = APPLIERS.get(row.kind, _unknown_kind)(self, session, row.payload)
            row.status, row.error = InboxStatus.APPLIED, outcome
            row.applied_at = now
            row.next_attempt_at = None
        except Ignore as exc:
            row.status, row.error, row.applied_at, row.next_attempt_at = InboxStatus.IGNORED, str(exc), now, None
        except Park as exc:
            if row.attempts >= self.settings.park_max_attempts:
                row.status, row.next_attempt_at = InboxStatus.DEAD, None
                row.error = f"{exc} (gave up after {row.attempts} attempts)"
                zh = exc.zh and f"{exc.zh}（已重试 {row.attempts} 次）"
            else:
                row.status, row.error = InboxStatus.PARKED, str(exc)
                row.next_attempt_at = now + timedelta(seconds=self.settings.park_retry_s)
        except Refuse as exc:
            row.status, row.error, row.next_attempt_at, zh = InboxStatus.DEAD, str(exc), None, exc.zh
        except Unreadable as exc:
            row.status, row.error, row.next_attempt_at, zh = InboxStatus.QUARANTINED, str(exc), None, exc.zh
        except DomainError as exc:
            row.status, row.error, row.next_attempt_at, zh = InboxStatus.DEAD, exc.detail, None, exc.message
        except Exception as exc:  # a bug: keep the event with the reason, never stop the loop
            self.log.exception("event could not be applied", event_id=row.event_id)
            row.status, row.error, row.next_attempt_at = (
                InboxStatus.DEAD,
                f"unexpected {type(exc).__name__}: {exc}",
                None,
            )
            zh = "桥接程序处理此事件时出错（程序缺陷），请联系桥接程序的维护人员"
        if row.error:
            row.error = row.error[:4000]
        return zh

    def retry_parked(self) -> int:
        """Apply parked events whose retry time has come; each in its own transaction."""
        now = self.clock()
        with session_scope(self.engine) as session:
            ids = session.exec(
                select(InboxEvent.id)
                .where(
                    InboxEvent.connector == self.name,
                    InboxEvent.status == InboxStatus.PARKED,
                    InboxEvent.next_attempt_at <= now,
                )
                .order_by(InboxEvent.id)
                .limit(self.settings.batch_size)
            ).all()
        for inbox_id in ids:
            self.replay(inbox_id)
        return len(ids)

    def replay(self, inbox_id: int, actor: Actor | None = None) -> InboxStatus:
        """Apply a stored event again: a parked one, a dead one after its cause was fixed (a
        status word added to the map), a quarantined one after an upgrade that reads it. One the
        connector could not read at all (a broken file: no kind the bridge applies) is left as it
        is — only a corrected copy from the ERP, with the same event id, replaces it (``handle``).

        ``actor``: the person who asked (admins only), written to the audit log with what became
        of the event; None for the bridge's own retry of parked events."""
        with session_scope(self.engine) as session:
            if actor is not None:
                admins_only(actor)
            row = session.get(InboxEvent, inbox_id, with_for_update=True)
            if row is None:
                raise LookupError(f"inbox event {inbox_id} does not exist")
            if not replayable(row):
                return row.status
            was = row.status
            self._apply(session, row)
            session.add(row)
            status, reason = row.status, row.error
            if actor is not None:
                detail = {"event_id": row.event_id, "from": was.value, "to": status.value, "reason": reason}
                audit(session, actor, "inbox.replay", "inbox", inbox_id, detail)
        self._log(status, reason, inbox_id=inbox_id)
        return status

    def _log(self, status: InboxStatus, reason: str | None, **kw: Any) -> None:
        if status in (InboxStatus.APPLIED, InboxStatus.IGNORED):
            self.log.info(f"event {status.value}", reason=reason, **kw)
        else:
            self.log.warning(f"event {status.value}", reason=reason, **kw)

    # -- the kinds of events ----------------------------------------------------------------

    def bridge_status(self, word: Any) -> OrderStatus:
        mapped = self.status_map.get(str(word).strip()) if word is not None else None
        if mapped is None:
            raise Refuse(
                f"unknown ERP status {word!r}: add it to [sync.status_map] in the config",
                f"桥接程序不认识 ERP 状态「{word}」：需在桥接程序配置的 [sync.status_map] 中加入",
            )
        return OrderStatus(mapped)


def _payload(event: ErpEvent) -> dict[str, Any]:
    return event.data if isinstance(event.data, dict) else {"raw": event.data}


def _takes_again(row: InboxEvent, event: ErpEvent) -> bool:
    """Is the recorded ``row`` to be replaced by ``event``, which came with the same id? A row
    that was applied or ignored never is (the ERP sent it twice). One that changed nothing is
    when it was quarantined (the ERP person corrected the file; or the bridge now reads what it
    could not), or parked or dead and the new copy differs from it (corrected at the source)."""
    if row.status in (InboxStatus.APPLIED, InboxStatus.IGNORED):
        return False
    if row.status == InboxStatus.QUARANTINED:
        return True
    return _canonical(row.kind, row.payload) != _canonical(event.kind[:32], _payload(event))


def _canonical(kind: str, payload: Any) -> str:
    return json.dumps([kind, payload], sort_keys=True, ensure_ascii=False, default=str)


def _order(session: Session, data: dict[str, Any]) -> Order:
    order_no = _text(data, "order_no")
    order = session.exec(select(Order).where(Order.order_no == order_no).with_for_update()).first()
    if order is None:
        raise Park(f"order {order_no} is not known to the bridge (yet)", f"桥接程序中没有订单 {order_no}")
    return order


def _text(data: dict[str, Any], key: str, *, required: bool = True, limit: int = 64) -> str | None:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Unreadable(f"{key} is missing", f"缺少 {key}")
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise Unreadable(f"{key} must be text, got {type(value).__name__}", f"{key} 应为文本")
    value = str(value).strip()
    if len(value) > limit:
        raise Unreadable(f"{key} is longer than {limit} characters", f"{key} 超过 {limit} 个字符")
    if found := CONTROL.search(value):
        raise Unreadable(
            f"{key} contains the control character {describe(found.group())}",
            f"{key} 含有控制字符 {describe(found.group())}",
        )
    return value


def _set_erp_ref(poller: InboxPoller, session: Session, order: Order, data: dict[str, Any]) -> bool:
    return bind_order_ref(session, order, _text(data, "erp_ref", required=False), poller.actor)


def _apply_status(poller: InboxPoller, session: Session, order: Order, word: Any, note: str | None, data: dict) -> str:
    target = poller.bridge_status(word)
    try:
        event = apply_erp_status(session, order, target, poller.actor, note=note, data=data)
    except TransitionRefused as exc:
        raise Refuse(exc.detail, exc.message) from None
    if event is None:
        raise Ignore(f"order {order.order_no} is already {target.value}")
    if event.action == "ignored":
        raise Ignore(event.note)
    return f"order {order.order_no}: {event.from_status.value} → {target.value}"


def apply_order_status(poller: InboxPoller, session: Session, data: dict[str, Any]) -> str:
    order = _order(session, data)
    ref_changed = _set_erp_ref(poller, session, order, data)
    note = _text(data, "note", required=False, limit=500)
    try:
        return _apply_status(poller, session, order, data.get("status"), note, {"erp_status": data.get("status")})
    except Ignore:
        if ref_changed:
            return f"order {order.order_no}: ERP reference {order.erp_ref}"
        raise


def apply_order_accepted(poller: InboxPoller, session: Session, data: dict[str, Any]) -> str:
    order = _order(session, data)
    _text(data, "erp_ref")
    if not _set_erp_ref(poller, session, order, data):
        raise Ignore(f"order {order.order_no} already has ERP reference {order.erp_ref}")
    return f"order {order.order_no}: ERP reference {order.erp_ref}"


def apply_order_released(poller: InboxPoller, session: Session, data: dict[str, Any]) -> str:
    order = _order(session, data)
    try:
        event = release(session, order, poller.actor, note="payment confirmed in the ERP")
    except TransitionRefused as exc:
        raise Refuse(exc.detail, exc.message) from None
    if event is None:
        raise Ignore(f"order {order.order_no} is already released")
    return f"order {order.order_no}: released in the ERP"


def apply_shipment(poller: InboxPoller, session: Session, data: dict[str, Any]) -> str:
    _text(data, "order_no")
    shipment_id = _text(data, "shipment_id")
    courier = _text(data, "courier", required=False)
    tracking_no = _text(data, "tracking_no", required=False)
    lines = data.get("lines") or []
    if not isinstance(lines, list):
        raise Unreadable("lines must be a list", "lines 应为列表")
    parsed = []
    for n, line in enumerate(lines, 1):
        if not isinstance(line, dict):
            raise Unreadable(f"lines[{n}] must be an object", f"lines[{n}] 应为对象")
        qty = line.get("quantity")
        if isinstance(qty, bool) or not isinstance(qty, (int, str)) or not str(qty).isdigit() or int(qty) <= 0:
            raise Unreadable(f"lines[{n}].quantity must be a positive whole number", f"lines[{n}].quantity 应为正整数")
        parsed.append((_text(line, "sku"), int(qty)))
    shipped_at = _time(data.get("shipped_at")) or poller.clock()
    order = _order(session, data)  # the data is read first: a malformed event is never parked
    if order.status in (OrderStatus.CANCELLED,):
        raise Refuse(
            f"order {order.order_no} is cancelled but the ERP reports shipment {shipment_id}",
            f"订单 {order.order_no} 已取消，但 ERP 报告了发货 {shipment_id}",
        )
    exists = session.exec(
        select(Shipment).where(Shipment.order_id == order.id, Shipment.erp_shipment_id == shipment_id)
    ).first()
    if exists is not None:
        raise Ignore(f"shipment {shipment_id} of order {order.order_no} is already recorded")
    order_lines = list(session.exec(select(OrderLine).where(OrderLine.order_id == order.id)))
    shipped = shipments.shipped_by_sku(session, order.id)
    if problem := shipments.refusal(order, order_lines, shipped, parsed):
        raise Unreadable(f"shipment {shipment_id}: {problem}", f"发货 {shipment_id} 的商品或数量与订单不符")
    shipment = Shipment(
        order_id=order.id, erp_shipment_id=shipment_id, courier=courier, tracking_no=tracking_no, shipped_at=shipped_at
    )
    session.add(shipment)
    session.flush()
    for sku, qty in parsed:
        line_id = shipments.line_for(order_lines, shipped, sku)
        session.add(ShipmentLine(shipment_id=shipment.id, order_line_id=line_id, sku=sku, quantity=qty))
        shipped[sku] = shipped.get(sku, 0) + qty
    record(
        session,
        order,
        poller.actor,
        "shipment",
        note=" ".join(p for p in (courier, tracking_no) if p) or None,
        data={
            "shipment_id": shipment_id,
            "courier": courier,
            "tracking_no": tracking_no,
            "lines": [{"sku": s, "quantity": q} for s, q in parsed],
        },
    )
    # C12: the customer hears of each shipment with its courier and tracking number.
    enqueue_notice(
        session,
        "shipment",
        customer_id=order.customer_id,
        order_no=order.order_no,
        shipment_id=shipment_id,
        courier=courier,
        tracking_no=tracking_no,
    )
    outcome = f"order {order.order_no}: shipment {shipment_id} ({courier or '-'} {tracking_no or '-'})"
    if data.get("order_status") is not None:
        try:
            outcome += "; " + _apply_status(
                poller, session, order, data["order_status"], None, {"shipment_id": shipment_id}
            )
        except Ignore:
            pass
    return outcome


def apply_stock(poller: InboxPoller, session: Session, data: dict[str, Any]) -> str:
    items = data.get("items")
    if not isinstance(items, dict) or not items:
        raise Unreadable("items must be an object {sku: quantity}", "items 应为对象 {sku: 数量}")
    clean: dict[str, Decimal] = {}
    for sku, qty in items.items():
        try:
            value = Decimal(str(qty))
        except InvalidOperation:
            raise Unreadable(f"items[{sku!r}] is not a number", f"items[{sku}] 不是数字") from None
        if not value.is_finite() or value < 0 or len(str(sku)) > 64:
            raise Unreadable(
                f"items[{sku!r}] must be a number ≥ 0 for a code of at most 64 characters",
                f"items[{sku}] 应为不小于 0 的数字（编码最多 64 个字符）",
            )
        clean[str(sku)] = value
    save_stock(session, clean, _time(data.get("as_of")) or poller.clock())
    return f"stock of {len(clean)} item(s)"


def save_stock(session: Session, quantities: dict[str, Decimal], as_of: datetime) -> None:
    """Refresh the stock snapshot (also used by the live stock check)."""
    if not quantities:
        return
    table = StockSnapshot.__table__
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table).values([{"sku": k, "quantity": v, "as_of": as_of} for k, v in quantities.items()])
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.sku],
            set_={"quantity": stmt.excluded.quantity, "as_of": stmt.excluded.as_of},
            where=table.c.as_of <= stmt.excluded.as_of,
        )
    )


def apply_customer_code(poller: InboxPoller, session: Session, data: dict[str, Any]) -> str:
    raw_id = data.get("customer_id")
    if isinstance(raw_id, bool) or not str(raw_id or "").isdigit():
        raise Unreadable("customer_id must be a whole number", "customer_id 应为整数")
    code = _text(data, "erp_code")
    customer = root_customer(session, int(raw_id))
    if customer is None:
        raise Park(f"customer {raw_id} is not known to the bridge", f"桥接程序中没有客户 {raw_id}")
    change = bind_customer_code(session, poller.name, customer, code)  # CodeTaken: a dead letter
    if change is None:
        raise Ignore(f"customer {customer.id} already has ERP code {code}")
    return f"customer {customer.id}: ERP code {change.previous or '-'} → {code}"


def _unknown_kind(poller: InboxPoller, session: Session, data: dict[str, Any]) -> str:
    raise Unreadable("unknown event kind (see bridge.connector.EVENT_KINDS)", "未知的事件类型（kind）")


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise Unreadable(f"{value!r} is not an ISO 8601 time", f"{value} 不是 ISO 8601 时间") from None
    if parsed.tzinfo is None:
        raise Unreadable(
            f"{value!r} has no time zone (write e.g. 2026-11-25T10:00:00+08:00)",
            f"{value} 缺少时区（例如写成 2026-11-25T10:00:00+08:00）",
        )
    return parsed


APPLIERS: dict[str, Callable[[InboxPoller, Session, dict[str, Any]], str]] = {
    "order.status": apply_order_status,
    "order.accepted": apply_order_accepted,
    "order.released": apply_order_released,
    "order.shipment": apply_shipment,
    "stock": apply_stock,
    "customer.code": apply_customer_code,
}


def replayable(row: InboxEvent) -> bool:
    """Would ``InboxPoller.replay`` try ``row`` again? Not when it was applied or ignored, nor
    when it is quarantined with no kind the bridge applies (only a corrected copy replaces it)."""
    if row.status in (InboxStatus.APPLIED, InboxStatus.IGNORED):
        return False
    return row.status != InboxStatus.QUARANTINED or row.kind in APPLIERS


NEEDS_A_PERSON = (InboxStatus.PARKED, InboxStatus.QUARANTINED, InboxStatus.DEAD)
"""The events the 同步 page lists unless told otherwise: not (yet) applied, each with its reason."""


def event_page(session: Session, actor: Actor, *, status: str | None = None, page: int = 1) -> Page[InboxEvent]:
    """One page of the events received from the ERP for the 同步 page, newest first (admins only):
    those in ``status`` (an ``InboxStatus`` value), ``all``, or by default those that need a
    person (``NEEDS_A_PERSON``). An unknown status is InvalidInput."""
    admins_only(actor)
    stmt = select(InboxEvent).order_by(InboxEvent.id.desc())
    if not status:
        stmt = stmt.where(InboxEvent.status.in_(NEEDS_A_PERSON))
    elif status != "all":
        try:
            stmt = stmt.where(InboxEvent.status == InboxStatus(status))
        except ValueError:
            raise InvalidInput("没有这种状态", f"unknown inbox status {status!r}", field="status") from None
    return paginate(session, stmt, page)


def event_for(session: Session, actor: Actor, inbox_id: int) -> InboxEvent:
    """Inbox event ``inbox_id`` (admins only); NotFound when there is none."""
    admins_only(actor)
    row = session.get(InboxEvent, inbox_id)
    if row is None:
        raise NotFound("事件不存在", f"inbox event {inbox_id} does not exist")
    return row


def list_events(session: Session, *, status: InboxStatus | None = None, limit: int = 50) -> list[InboxEvent]:
    """Events received from the ERP, newest first, at most ``limit``: all, or only those in
    ``status``."""
    stmt = select(InboxEvent).order_by(InboxEvent.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(InboxEvent.status == status)
    return list(session.exec(stmt).all())
