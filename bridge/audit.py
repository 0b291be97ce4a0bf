"""Reading the audit log (A12): who did what to which record, and when, for the admins' 审计日志
page. Rows are written by the services themselves (``bridge.actors.audit``, in the transaction of
the change); this module only reads them, admins only.

Who acted is named as a person reads it: a staff user by their name, the command line as 命令行,
a customer by the customer their account belongs to, the ERP by its connector. The filters are
the actor (a kind, or one staff user), the action, the entity (and its id) and a range of days
in the bridge's time zone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from bridge.actors import CLI_ADMIN, Actor
from bridge.db import Page, paginate
from bridge.errors import Forbidden, InvalidInput
from bridge.labels import ACTOR_LABELS, AUDIT_ACTION_LABELS, AUDIT_ENTITY_LABELS, CLI_ACTOR_LABEL, STAFF_ROLE_LABELS
from bridge.models import Account, ActorKind, AuditLog, Customer, StaffUser
from bridge.text import check_text

STAFF_PREFIX = "staff-"
"""``who`` naming one staff user: ``staff-<id>``; else ``who`` is an actor kind (``admin``…)."""


@dataclass(frozen=True)
class AuditEntry:
    row: AuditLog
    who: str
    """Who acted, in Chinese: ``管理员 王五``, ``命令行``, ``客户 华东磨具``, ``生产管理软件 filedrop``."""
    action_label: str
    """The action's Chinese label (``bridge.labels.AUDIT_ACTION_LABELS``), else its code."""
    entity_label: str
    detail_text: str
    """The detail as compact JSON (Chinese kept readable), '' when there is none."""


@dataclass(frozen=True)
class AuditLogPage:
    entries: Page[AuditEntry]
    actions: list[tuple[str, str]]
    """Every action the log holds, as (code, label): the choices of the action filter."""
    entities: list[tuple[str, str]]
    """Every entity the log holds, as (code, label)."""
    actors: list[tuple[str, str]]
    """The choices of the actor filter (``who``): the actor kinds, the command line, then every
    staff user as (``staff-<id>``, name and role)."""


def _day(value: str | None, field: str, label: str) -> date | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{label}格式应为 年-月-日，例如 2024-05-01", f"{field}: not a date: {text!r}", field=field)


def _local_midnight(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(), ZoneInfo(tz)).astimezone(ZoneInfo("UTC"))


def _who_condition(who: str) -> sa.ColumnElement[bool]:
    if who.startswith(STAFF_PREFIX) and who[len(STAFF_PREFIX) :].isdigit():
        staff_id = who[len(STAFF_PREFIX) :]
        return sa.and_(AuditLog.actor_kind.in_((ActorKind.ADMIN, ActorKind.SALES)), AuditLog.actor_id == staff_id)
    if who == "cli":
        return sa.and_(AuditLog.actor_kind == CLI_ADMIN.kind, AuditLog.actor_id == CLI_ADMIN.id)
    try:
        return AuditLog.actor_kind == ActorKind(who)
    except ValueError:
        raise InvalidInput("请从列表中选择操作者", f"who: unknown actor {who!r}", field="who") from None


def audit_log(
    session: Session,
    actor: Actor,
    *,
    tz: str,
    who: str | None = None,
    action: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    since: str | None = None,
    until: str | None = None,
    page: int = 1,
) -> AuditLogPage:
    """One page of the audit log, newest first, and the filters' choices. Admins only.

    ``who``: an actor kind (``admin``, ``sales``, ``customer``, ``erp``, ``system``), ``cli`` (the
    command line) or ``staff-<id>``; ``action`` and ``entity``: codes as stored; ``entity_id``: the
    record's id; ``since`` / ``until``: days (``YYYY-MM-DD``, both included) in the time zone
    ``tz``. A malformed filter is refused (InvalidInput) naming its field."""
    if actor.kind != ActorKind.ADMIN:
        raise Forbidden("只有管理员可以查看审计日志", f"{actor} may not read the audit log (admins only)")
    start = _day(since, "since", "开始日期")
    end = _day(until, "until", "结束日期")
    stmt = select(AuditLog)
    if who:
        stmt = stmt.where(_who_condition(who.strip()))
    for column, value, field in ((AuditLog.action, action, "action"), (AuditLog.entity, entity, "entity")):
        if value and value.strip():
            stmt = stmt.where(column == check_text(value.strip(), field, multiline=False))
    if entity_id and entity_id.strip():
        stmt = stmt.where(AuditLog.entity_id == check_text(entity_id.strip(), "entity_id", "对象编号", multiline=False))
    if start is not None:
        stmt = stmt.where(AuditLog.at >= _local_midnight(start, tz))
    if end is not None:
        stmt = stmt.where(AuditLog.at < _local_midnight(end + timedelta(days=1), tz))
    found = paginate(session, stmt.order_by(AuditLog.id.desc()), page)
    return AuditLogPage(
        entries=Page(_entries(session, found.items), found.total, found.page, found.page_size),
        actions=_choices(session, AuditLog.action, AUDIT_ACTION_LABELS),
        entities=_choices(session, AuditLog.entity, AUDIT_ENTITY_LABELS),
        actors=_actor_choices(session),
    )


def _choices(session: Session, column, labels: dict[str, str]) -> list[tuple[str, str]]:
    codes = session.exec(select(column).distinct()).all()
    return sorted(((code, labels.get(code, code)) for code in codes), key=lambda choice: choice[0])


def _actor_choices(session: Session) -> list[tuple[str, str]]:
    users = session.exec(select(StaffUser).order_by(StaffUser.id)).all()
    return [
        *ACTOR_LABELS.items(),
        ("cli", CLI_ACTOR_LABEL),
        *((f"{STAFF_PREFIX}{u.id}", f"{u.display_name}（{STAFF_ROLE_LABELS[u.role]}）") for u in users),
    ]


def _entries(session: Session, rows: list[AuditLog]) -> list[AuditEntry]:
    staff_ids = {
        int(r.actor_id)
        for r in rows
        if r.actor_kind in (ActorKind.ADMIN, ActorKind.SALES) and r.actor_id and r.actor_id.isdigit()
    }
    staff = dict(session.exec(select(StaffUser.id, StaffUser.display_name).where(StaffUser.id.in_(staff_ids))).all())
    account_ids = {int(r.actor_id) for r in rows if r.actor_kind == ActorKind.CUSTOMER and (r.actor_id or "").isdigit()}
    customers = dict(
        session.exec(
            select(Account.id, Customer.name)
            .join(Customer, Customer.id == Account.customer_id)
            .where(Account.id.in_(account_ids))
        ).all()
    )
    return [
        AuditEntry(
            row=r,
            who=_who(r, staff, customers),
            action_label=AUDIT_ACTION_LABELS.get(r.action, r.action),
            entity_label=AUDIT_ENTITY_LABELS.get(r.entity, r.entity),
            detail_text=json.dumps(r.detail, ensure_ascii=False, separators=(", ", ": ")) if r.detail else "",
        )
        for r in rows
    ]


def _who(row: AuditLog, staff: dict[int, str], customers: dict[int, str]) -> str:
    kind = ACTOR_LABELS.get(row.actor_kind.value, row.actor_kind.value)
    ident = row.actor_id
    if row.actor_kind == CLI_ADMIN.kind and ident == CLI_ADMIN.id:
        return CLI_ACTOR_LABEL
    if row.actor_kind in (ActorKind.ADMIN, ActorKind.SALES) and ident and ident.isdigit():
        return f"{kind} {staff.get(int(ident), f'#{ident}')}"
    if row.actor_kind == ActorKind.CUSTOMER and ident and ident.isdigit():
        return f"{kind} {customers.get(int(ident), f'账号 #{ident}')}"
    return f"{kind} {ident}" if ident else kind
