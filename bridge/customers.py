"""Customers (客户): the buying companies, their type, and merging duplicates into one.

A customer is a company; it orders through one or more accounts (WeChat users, bound phone
numbers). Its *type* (A1) decides what happens to a new order: 类型一 goes to production at
once, 类型二 waits until the salesperson confirms payment. Every new or changed customer is
told to the ERP's customer master through the outbox (``customer.upsert``, E4).

When one company registered twice (two phones, two WeChat users), an admin *merges* the
duplicate (the absorbed customer) into the one that stays (the survivor), A2. Everything the
absorbed customer had follows the survivor in the caller's single transaction; the absorbed
row stays as an *alias* (``merged_into_id``) so every old reference — an order link, an ERP
event, a salesperson's bookmark — still resolves through ``resolve_customer``. Aliases always
point straight at a root: merging a customer that has aliases re-points them too.

Domain functions take a ``Session`` and an ``Actor`` and never commit.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bridge.actors import Actor, audit
from bridge.addresses import list_addresses
from bridge.bindings import bind_customer_code
from bridge.db import Page, paginate
from bridge.notes import NoteView, notes_on, staff_names
from bridge.statemachine import OPEN, awaiting_payment
from bridge.documents import customer_document, merge_document, order_document
from bridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from bridge.models import (
    Account,
    ActorKind,
    Address,
    Customer,
    CustomerPrice,
    ErpBinding,
    Inquiry,
    Note,
    Order,
    OutboxMessage,
    OutboxStatus,
    ProductGrant,
    ProductHide,
    StaffRole,
    StaffUser,
)
from bridge.outbox import customer_key, enqueue
from bridge.scope import customers_and_aliases_of, customers_of, may_act_on, may_manage, unassigned, unassigned_queue
from bridge.text import LIKE_ESCAPE, check_text, like_pattern
from bridge.types import utcnow

NAME_MAX = 128
PHONE_MAX = 32
CONTACT_MAX = 64

_UNSET: Any = object()


# --------------------------------------------------------------------------- phone numbers

_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_PHONE = re.compile(r"\+?[0-9]{3,20}")
_MAINLAND_MOBILE = re.compile(r"\+?86(1[0-9]{10})")


def normalize_phone(value: str) -> str:
    """One way to write a phone number, so the same number always compares equal: full-width
    digits made plain, spaces / dashes / brackets / dots dropped, ``00`` written ``+``, and a
    mainland mobile with the country code (``+86 138 0013 8000``) as its 11 digits, the form
    WeChat's phone-number API gives. Raises InvalidInput for anything that is not a number."""
    text = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", value).strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    if mobile := _MAINLAND_MOBILE.fullmatch(text):
        text = mobile.group(1)
    if not _PHONE.fullmatch(text):
        raise InvalidInput(
            "电话号码格式不正确（只能包含数字，可带 + 国际区号）", f"not a phone number: {value!r}", field="phone"
        )
    return text


def phone_holder(session: Session, phone: str, *, other_than: int | None = None) -> Customer | None:
    """The customer ``phone`` (normalised) belongs to, if any: the one registered with it, or the
    one with an account bound to it (S3: a phone number belongs to at most one customer)."""
    registered = select(Customer).where(Customer.phone == phone, Customer.merged_into_id.is_(None))
    if other_than is not None:
        registered = registered.where(Customer.id != other_than)
    found = session.exec(registered).first()
    if found is not None:
        return found
    account = session.exec(select(Account).where(Account.phone == phone, Account.unbound_at.is_(None))).first()
    if account is not None:
        owner = resolve_customer(session, account.customer_id)
        if owner.id != other_than:
            return owner
    return None


def _check_phone(session: Session, value: str | None, customer_id: int | None) -> str | None:
    phone = _check_text(value, PHONE_MAX, "电话", "phone")
    if phone is None:
        return None
    phone = normalize_phone(phone)
    holder = phone_holder(session, phone, other_than=customer_id)
    if holder is not None:
        raise Conflict(
            f"手机号 {phone} 已属于客户 {holder.id}（{holder.name}）；同一手机号只能属于一个客户，"
            "如是同一家公司请由管理员合并客户",
            f"phone {phone} already belongs to customer {holder.id} ({holder.name}); merge the customers or use another number",
            field="phone",
            customer_id=holder.id,
        )
    return phone


# --------------------------------------------------------------------------- lookup


def customer_for(session: Session, actor: Actor, customer_id: int) -> Customer:
    """The customer ``customer_id`` (an alias left by a merge leads to its survivor) if ``actor``
    may see it (``bridge.scope``); else the same NotFound as a customer that does not exist."""
    try:
        target = resolve_customer(session, customer_id)
    except NotFound:
        target = None
    if target is None or not may_act_on(actor, target):
        raise NotFound("客户不存在", f"customer {customer_id} not found for {actor}")
    return target


def resolve_customer(session: Session, customer_id: int) -> Customer:
    """The customer ``customer_id`` stands for today: itself, or the survivor it was merged into."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"客户 {customer_id} 不存在", f"customer {customer_id} does not exist")
    seen = {customer.id}
    while customer.merged_into_id is not None:
        customer = session.get(Customer, customer.merged_into_id)
        if customer is None or customer.id in seen:  # only a hand-edited database gets here
            raise Conflict(
                f"客户 {customer_id} 的合并记录有误，请联系管理员",
                f"customer {customer_id}: broken merged_into chain at {sorted(seen)}",
            )
        seen.add(customer.id)
    return customer


def _get(session: Session, customer_id: int, *, lock: bool = False) -> Customer:
    # FOR UPDATE on PostgreSQL so two admins merging the same customers queue up; SQLite
    # already serialises writers (BEGIN IMMEDIATE) and SQLAlchemy omits the clause there.
    customer = session.get(Customer, customer_id, with_for_update=lock or None, populate_existing=lock)
    if customer is None:
        raise NotFound(f"客户 {customer_id} 不存在", f"customer {customer_id} does not exist")
    return customer


def bound(customer_id: int) -> sa.ColumnElement[bool]:
    """SQL condition on ``Account``: the accounts of ``customer_id`` that are still bound."""
    return sa.and_(Account.customer_id == customer_id, Account.unbound_at.is_(None))


def bound_accounts(session: Session, customer_id: int) -> list[Account]:
    return list(session.exec(select(Account).where(bound(customer_id)).order_by(Account.id)).all())


@dataclass(frozen=True)
class CustomerOverview:
    """A customer as staff read it: who they are, how to reach them, what is going on."""

    customer: Customer
    salesperson: str | None
    accounts: list[Account]
    addresses: list[Address]
    open_orders: int
    awaiting_payment_orders: int
    notes: list[NoteView]


def customer_overview(session: Session, actor: Actor, customer: Customer) -> CustomerOverview:
    """The overview of ``customer`` (staff within their scope)."""
    if not may_manage(actor, customer):
        raise NotFound("客户不存在", f"customer {customer.id} not found for {actor}")

    def count(*where) -> int:
        return session.exec(
            select(sa.func.count()).select_from(Order).where(Order.customer_id == customer.id, *where)
        ).one()

    return CustomerOverview(
        customer=customer,
        salesperson=staff_names(session, {customer.salesperson_id}).get(customer.salesperson_id),
        accounts=bound_accounts(session, customer.id),
        addresses=list_addresses(session, actor, customer),
        open_orders=count(Order.status.in_(OPEN)),
        awaiting_payment_orders=count(awaiting_payment()),
        notes=notes_on(session, customer=customer),
    )


@dataclass
class CustomerRow:
    """One line of the customer list (CLI, admin pages)."""

    customer: Customer
    salesperson: str | None
    accounts: int
    orders: int


def _customer_rows(search: str | None, include_merged: bool, only_unassigned: bool = False):
    """The select behind the customer list: customers by id with their salesperson's name and
    their account and order counts; ``search`` matches the name, contact, phone, ERP code, a
    bound account's phone or the exact id; ``only_unassigned``: those nobody follows
    (``scope.unassigned``)."""
    accounts = (
        select(sa.func.count())
        .select_from(Account)
        .where(Account.customer_id == Customer.id, Account.unbound_at.is_(None))
        .scalar_subquery()
    )
    orders = select(sa.func.count()).select_from(Order).where(Order.customer_id == Customer.id).scalar_subquery()
    stmt = (
        select(Customer, StaffUser.display_name, accounts, orders)
        .outerjoin(StaffUser, StaffUser.id == Customer.salesperson_id)
        .order_by(Customer.id)
    )
    if not include_merged:
        stmt = stmt.where(Customer.merged_into_id.is_(None))
    if only_unassigned:
        stmt = stmt.where(unassigned())
    if search and search.strip():
        text = search.strip()
        like = like_pattern(text)
        matches = [
            column.ilike(like, escape=LIKE_ESCAPE)
            for column in (Customer.name, Customer.contact_name, Customer.phone, Customer.erp_code)
        ]
        matches.append(
            Customer.id.in_(select(Account.customer_id).where(Account.phone.ilike(like, escape=LIKE_ESCAPE)))
        )
        if text.isdigit() and int(text) <= 2**31 - 1:  # a phone number is not an id (and overflows one)
            matches.append(Customer.id == int(text))
        try:
            phone = normalize_phone(text)
        except InvalidInput:
            pass
        else:  # "138 0013 8000" finds 13800138000
            matches.append(Customer.phone == phone)
            matches.append(Customer.id.in_(select(Account.customer_id).where(Account.phone == phone)))
        stmt = stmt.where(sa.or_(*matches))
    return stmt


def list_customers(
    session: Session, *, search: str | None = None, include_merged: bool = False, unassigned: bool = False
) -> list[CustomerRow]:
    """Every customer (the CLI, an admin's export), with the counts of ``_customer_rows``;
    ``unassigned``: only those nobody follows (A10)."""
    return [CustomerRow(*row) for row in session.exec(_customer_rows(search, include_merged, unassigned)).all()]


def customer_page(
    session: Session,
    actor: Actor,
    *,
    search: str | None = None,
    unassigned: bool = False,
    include_merged: bool = False,
    exclude: int | None = None,
    page: int = 1,
) -> Page[CustomerRow]:
    """One page of the customers ``actor`` may see (``bridge.scope``), searched and counted in SQL;
    ``unassigned``: the admins' queue of customers nobody follows (A10; admins only);
    ``include_merged``: the aliases left by merges too (admins only); ``exclude``: leave out
    that customer (the one a duplicate is being chosen for)."""
    scope = customers_and_aliases_of(actor) if include_merged else customers_of(actor)
    stmt = _customer_rows(search, include_merged).where(scope)
    if exclude is not None:
        stmt = stmt.where(Customer.id != exclude)
    if unassigned:
        stmt = stmt.where(unassigned_queue(actor))
    found = paginate(session, stmt, page)
    return Page([CustomerRow(*row) for row in found.items], found.total, found.page, found.page_size)


def count_unassigned(session: Session) -> int:
    """How many customers nobody follows wait in the admins' queue (A10; ``scope.unassigned``)."""
    return session.exec(
        select(sa.func.count()).select_from(Customer).where(Customer.merged_into_id.is_(None), unassigned())
    ).one()


# --------------------------------------------------------------------------- validation


def check_name(name: Any) -> str:
    """A customer's name as typed or imported: trimmed, one line, at most ``NAME_MAX`` characters."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("客户名称不能为空", "customer name must not be empty", field="name")
    name = check_text(name.strip(), "name", "客户名称", multiline=False)
    if len(name) > NAME_MAX:
        raise InvalidInput(
            f"客户名称不能超过 {NAME_MAX} 个字", f"customer name longer than {NAME_MAX} characters", field="name"
        )
    return name


def _check_type(value: Any) -> int:
    # bool is an int in Python: True would pass as type 1 without this guard.
    if isinstance(value, bool) or not isinstance(value, int) or int(value) not in (1, 2):
        raise InvalidInput(
            "客户类型只能是 1（类型一）或 2（类型二）", f"customer type must be 1 or 2, not {value!r}", field="type"
        )
    return int(value)


def _check_text(value: str | None, max_len: int, label: str, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{label}格式不对", f"{what} must be text, not {value!r}", field=what.replace(" ", "_"))
    value = (value or "").strip() or None
    if value is not None:
        check_text(value, what.replace(" ", "_"), label, multiline=False)
    if value is not None and len(value) > max_len:
        raise InvalidInput(
            f"{label}不能超过 {max_len} 个字", f"{what} longer than {max_len} characters", field=what.replace(" ", "_")
        )
    return value


ASSIGNABLE_ROLES = (StaffRole.SALES, StaffRole.ADMIN)
"""Who may follow a customer as its salesperson (an active user of one of these roles)."""


def _check_salesperson(session: Session, staff_id: int | None) -> int | None:
    if staff_id is None:
        return None
    user = session.get(StaffUser, staff_id)
    if user is None:
        raise InvalidInput(
            f"业务员 {staff_id} 不存在", f"salesperson {staff_id} does not exist", field="salesperson_id"
        )
    if not user.active:
        raise InvalidInput(
            f"业务员 {user.display_name} 已停用，请另选业务员",
            f"salesperson {staff_id} ({user.username}) is inactive",
            field="salesperson_id",
        )
    if user.role not in ASSIGNABLE_ROLES:
        raise InvalidInput(
            f"{user.display_name} 不是业务员",
            f"staff user {staff_id} is neither sales nor admin",
            field="salesperson_id",
        )
    return user.id


def salesperson_choices(session: Session) -> list[StaffUser]:
    """The staff users a customer may be given as its salesperson (the rule of
    ``_check_salesperson``), by role (salespeople first) and name: the admin pages' choice."""
    stmt = (
        select(StaffUser)
        .where(StaffUser.active.is_(True), StaffUser.role.in_(ASSIGNABLE_ROLES))
        .order_by(StaffUser.role.desc(), StaffUser.display_name, StaffUser.id)
    )
    return list(session.exec(stmt).all())


def _upsert(session: Session, customer: Customer) -> OutboxMessage:
    """Tell the ERP customer master about this customer (E4), after everything it refers to."""
    session.flush()  # the document reads aliases and the salesperson from the database
    return enqueue(
        session,
        kind="customer.upsert",
        ordering_key=customer_key(customer.id),
        aggregate_type="customer",
        aggregate_id=customer.id,
        payload=customer_document(session, customer),
    )


# --------------------------------------------------------------------------- create / update


def create_customer(
    session: Session,
    actor: Actor,
    *,
    name: str,
    type: int,
    salesperson_id: int | None = None,
    phone: str | None = None,
    contact_name: str | None = None,
    erp_code: str | None = None,
    connector: str | None = None,
) -> Customer:
    """Create a customer (A7) and queue its ``customer.upsert`` to the ERP (E4).

    Admins, salespeople and the system (a first mini-program login) may create customers; a
    salesperson who names no salesperson becomes the customer's own. ``erp_code`` (admins only,
    with the ``connector`` it is bound for) makes it the shop's side of a customer the ERP
    already has (A11): the ERP's first word about it then carries its code."""
    if actor.kind not in (ActorKind.ADMIN, ActorKind.SALES, ActorKind.SYSTEM):
        raise Forbidden("没有创建客户的权限", f"{actor} may not create customers")
    if actor.kind == ActorKind.SALES:
        # A salesperson's new customer is their own; only an admin names another salesperson.
        own = int(actor.id) if actor.id and actor.id.isdigit() else None
        if salesperson_id not in (None, own):
            raise Forbidden("只有管理员可以为客户指定其他业务员", "salespeople create customers for themselves only")
        salesperson_id = own
    customer = Customer(
        name=check_name(name),
        type=_check_type(type),
        salesperson_id=_check_salesperson(session, salesperson_id),
        phone=_check_phone(session, phone, None),
        contact_name=_check_text(contact_name, CONTACT_MAX, "联系人", "contact name"),
    )
    session.add(customer)
    _flush_phone(session, customer)
    if erp_code is not None:
        if actor.kind != ActorKind.ADMIN or connector is None:
            raise Forbidden("只有管理员可以设置 ERP 客户编码", f"{actor} may not set ERP codes (admin only)")
        bind_customer_code(session, connector, customer, check_erp_code(erp_code))  # CodeTaken names the holder
    audit(
        session,
        actor,
        "customer.create",
        "customer",
        customer.id,
        {"name": customer.name, "type": customer.type, "salesperson_id": customer.salesperson_id}
        | ({"erp_code": customer.erp_code} if customer.erp_code else {}),
    )
    _upsert(session, customer)
    return customer


def update_customer(
    session: Session,
    actor: Actor,
    customer_id: int,
    *,
    name: str = _UNSET,
    phone: str | None = _UNSET,
    contact_name: str | None = _UNSET,
    salesperson_id: int | None = _UNSET,
) -> Customer:
    """Change a customer's name, phone, contact or salesperson; only the fields given.

    ``None`` clears phone / contact / salesperson. An alias id updates its survivor. Admins and
    the customer's own salesperson may do it. Nothing changed → no audit row, no outbox row."""
    customer = resolve_customer(session, customer_id)
    if actor.kind != ActorKind.SYSTEM and not may_manage(actor, customer):
        raise Forbidden(
            "只有管理员或该客户的业务员可以修改客户资料",
            f"{actor} may not update customer {customer.id}",
        )
    wanted: dict[str, Any] = {}
    if name is not _UNSET:
        wanted["name"] = check_name(name)
    if phone is not _UNSET:
        wanted["phone"] = _check_phone(session, phone, customer.id)
    if contact_name is not _UNSET:
        wanted["contact_name"] = _check_text(contact_name, CONTACT_MAX, "联系人", "contact name")
    if salesperson_id is not _UNSET:
        if actor.kind not in (ActorKind.ADMIN, ActorKind.SYSTEM):
            raise Forbidden("只有管理员可以更换客户的业务员", "only admins reassign customers")
        wanted["salesperson_id"] = _check_salesperson(session, salesperson_id)
    changes = {k: [getattr(customer, k), v] for k, v in wanted.items() if getattr(customer, k) != v}
    if not changes:
        return customer
    for key, (_, new) in changes.items():
        setattr(customer, key, new)
    customer.updated_at = utcnow()
    _flush_phone(session, customer)
    audit(session, actor, "customer.update", "customer", customer.id, changes)
    _upsert(session, customer)
    return customer


def _flush_phone(session: Session, customer: Customer) -> None:
    """Flush, turning the database's "phone already taken" (a customer saved with it at this
    very moment by another request) into the same refusal ``_check_phone`` gives."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        if customer.phone and "phone" in str(exc.orig).lower():
            raise Conflict(
                f"手机号 {customer.phone} 已属于另一个客户；同一手机号只能属于一个客户",
                f"phone {customer.phone} was just registered for another customer",
                field="phone",
            ) from None
        raise


# --------------------------------------------------------------------------- type (A1)


@dataclass(frozen=True)
class TypeChange:
    """What ``set_customer_type`` did, and what the person who asked should be told."""

    customer_id: int
    old_type: int
    new_type: int
    changed: bool
    unreleased_open_orders: int
    """Open orders not yet released: they keep the rule they were placed under."""

    @property
    def notice(self) -> str | None:
        if not self.unreleased_open_orders:
            return None
        return f"还有 {self.unreleased_open_orders} 个未放行的订单需要业务员确认收款"


def set_customer_type(session: Session, actor: Actor, customer_id: int, new_type: int) -> TypeChange:
    """Make the customer 类型一 or 类型二 (A1). Admins and the customer's own salesperson only.

    The type applies to new orders: orders already placed are not touched (an unreleased
    type-2 order still waits for its payment confirmation), and the result counts them so the
    caller can say so. Unchanged type → nothing written."""
    new_type = _check_type(new_type)
    customer = resolve_customer(session, customer_id)
    if not may_manage(actor, customer):
        raise Forbidden(
            "只有管理员或该客户的业务员可以修改客户类型",
            f"{actor} may not change the type of customer {customer.id}",
        )
    waiting = session.exec(
        select(sa.func.count()).select_from(Order).where(Order.customer_id == customer.id, awaiting_payment())
    ).one()
    old_type = customer.type
    if old_type != new_type:
        customer.type = new_type
        customer.updated_at = utcnow()
        audit(session, actor, "customer.type", "customer", customer.id, {"old": old_type, "new": new_type})
        _upsert(session, customer)
    return TypeChange(customer.id, old_type, new_type, old_type != new_type, waiting)


# --------------------------------------------------------------------------- ERP code (A11)

ERP_CODE_MAX = 64
"""``Customer.erp_code``'s length."""


@dataclass(frozen=True)
class ErpCodeChange:
    """What ``set_erp_code`` did."""

    customer_id: int
    previous: str | None
    code: str
    changed: bool


def check_erp_code(value: Any) -> str:
    """An ERP customer code as a person typed or imported it: trimmed, one line, not empty, at
    most ``ERP_CODE_MAX`` characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("ERP 客户编码不能为空", "ERP customer code must not be empty", field="erp_code")
    code = check_text(value.strip(), "erp_code", "ERP 客户编码", multiline=False)
    if len(code) > ERP_CODE_MAX:
        raise InvalidInput(
            f"ERP 客户编码不能超过 {ERP_CODE_MAX} 个字符",
            f"ERP customer code longer than {ERP_CODE_MAX} characters",
            field="erp_code",
        )
    return code


def set_erp_code(session: Session, actor: Actor, customer_id: int, code: str, *, connector: str) -> ErpCodeChange:
    """Link customer ``customer_id`` (an alias: its survivor) to the customer the ERP behind
    ``connector`` already has under ``code`` (A11), admins only.

    The code is recorded where the dispatcher and the inbox record the ERP's own answers
    (``bridge.bindings``), by the same rule: a code another customer holds is refused
    (``CodeTaken``, a Conflict naming that customer) and nothing is written. A changed code is
    audited and told to the ERP: the customer's messages still waiting are rebuilt to carry it
    (an upsert without it would make the ERP create the customer a second time), and a fresh
    ``customer.upsert`` follows. The same code again changes nothing."""
    if actor.kind != ActorKind.ADMIN:
        raise Forbidden("只有管理员可以设置 ERP 客户编码", f"{actor} may not set ERP codes (admin only)")
    code = check_erp_code(code)
    customer = _get(session, resolve_customer(session, customer_id).id, lock=True)
    previous = customer.erp_code
    bind_customer_code(session, connector, customer, code)
    if previous == code:
        return ErpCodeChange(customer.id, previous, code, False)
    customer.updated_at = utcnow()
    audit(session, actor, "customer.erp_code", "customer", customer.id, {"old": previous, "new": code})
    _rebuild_pending(session, customer)
    _upsert(session, customer)
    return ErpCodeChange(customer.id, previous, code, True)


def _rebuild_pending(session: Session, customer: Customer) -> None:
    """The customer's upserts and orders still waiting for the ERP, rebuilt as they read now;
    in place, so they keep their order (the customer before its orders)."""
    session.flush()
    pending = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.ordering_key == customer_key(customer.id), OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(OutboxMessage.id)
    ).all()
    for row in pending:
        if row.kind == "customer.upsert":
            row.payload = customer_document(session, customer)
        elif row.kind == "order.create":
            row.payload = _rebuilt_payload(session, row, customer)
        session.add(row)


# --------------------------------------------------------------------------- the whole form


@dataclass(frozen=True)
class CustomerEdit:
    """What ``edit_customer`` did: the customer as it is now, its type change, its ERP code change."""

    customer: Customer
    type_change: TypeChange
    erp_code_change: ErpCodeChange | None


def edit_customer(
    session: Session,
    actor: Actor,
    customer_id: int,
    *,
    type: int,
    erp_code: str | None = None,
    connector: str | None = None,
    **fields: Any,
) -> CustomerEdit:
    """A customer's form saved at once (the admin pages): ``fields`` (name, phone, contact_name,
    salesperson_id) by ``update_customer``, the type by ``set_customer_type`` and, when
    ``erp_code`` is given and differs from the customer's, the link by ``set_erp_code`` (admins
    only). Each keeps its own rule and audit row; a refusal of any leaves all unsaved (the
    caller's transaction). A customer outside ``actor``'s scope is NotFound."""
    customer = update_customer(session, actor, customer_for(session, actor, customer_id).id, **fields)
    type_change = set_customer_type(session, actor, customer.id, type)
    erp_change = None
    if erp_code is not None and erp_code.strip() != (customer.erp_code or ""):
        erp_change = set_erp_code(session, actor, customer.id, erp_code, connector=connector or "")
    return CustomerEdit(customer, type_change, erp_change)


# --------------------------------------------------------------------------- merge (A2)


@dataclass
class MergeResult:
    """What a merge moved to the survivor and what it dropped (also in the audit row)."""

    survivor_id: int
    absorbed_id: int
    already_merged: bool = False
    moved: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, list] = field(default_factory=dict)
    erp_code: str | None = None
    """The survivor's ERP code after the merge."""


@dataclass
class MergePreview:
    """What ``merge_customers`` would move, for a confirmation prompt; changes nothing."""

    survivor: Customer
    absorbed: Customer
    already_merged: bool
    rows: dict[str, int]


def _check_merge(
    session: Session, survivor_id: int, absorbed_id: int, *, lock: bool
) -> tuple[Customer, Customer, bool]:
    """The merge's refusals, shared by the preview and the merge: (survivor, absorbed, already)."""
    if survivor_id == absorbed_id:
        raise InvalidInput("不能把客户合并到它自己", f"cannot merge customer {survivor_id} into itself")
    # Lock in id order so two concurrent merges of the same pair cannot deadlock.
    first, second = sorted((survivor_id, absorbed_id))
    rows = {first: _get(session, first, lock=lock), second: _get(session, second, lock=lock)}
    survivor, absorbed = rows[survivor_id], rows[absorbed_id]
    if survivor.merged_into_id is not None:
        root = resolve_customer(session, survivor.id)
        raise Conflict(
            f"客户 {survivor.id}（{survivor.name}）已合并到客户 {root.id}（{root.name}），请把客户合并到 {root.id}",
            f"customer {survivor.id} is itself merged into customer {root.id}; merge into {root.id} instead",
            survivor_id=root.id,
        )
    if absorbed.merged_into_id is not None:
        root = resolve_customer(session, absorbed.id)
        if root.id == survivor.id:
            return survivor, absorbed, True
        raise Conflict(
            f"客户 {absorbed.id}（{absorbed.name}）已合并到客户 {root.id}（{root.name}），"
            f"不能再合并到客户 {survivor.id}",
            f"customer {absorbed.id} is already merged into customer {root.id}, not into {survivor.id}",
            merged_into_id=root.id,
        )
    return survivor, absorbed, False


def _owned(model, customer_id: int, *where):
    return select(sa.func.count()).select_from(model).where(model.customer_id == customer_id, *where)


def _check_merger(actor: Actor) -> None:
    if actor.kind != ActorKind.ADMIN:
        raise Forbidden("只有管理员可以合并客户", f"{actor} may not merge customers (admin only)")


def merge_candidates(
    session: Session, actor: Actor, survivor_id: int, *, search: str | None = None, page: int = 1
) -> tuple[Customer, Page[CustomerRow]]:
    """The customer that stays (an alias: its survivor) and one page of the customers that could
    be merged into it, searched like the customer list (admins only)."""
    _check_merger(actor)
    survivor = customer_for(session, actor, survivor_id)
    return survivor, customer_page(session, actor, search=search, exclude=survivor.id, page=page)


def merge_preview(session: Session, actor: Actor, survivor_id: int, absorbed_id: int) -> MergePreview:
    """Check a merge (admins only) and count what it would move, without changing anything."""
    _check_merger(actor)
    survivor, absorbed, already = _check_merge(session, survivor_id, absorbed_id, lock=False)
    a = absorbed.id
    counts = {
        "accounts": _owned(Account, a),
        "orders": _owned(Order, a),
        "addresses": _owned(Address, a),
        "notes": _owned(Note, a),
        "inquiries": _owned(Inquiry, a),
        "grants": _owned(ProductGrant, a),
        "prices": _owned(CustomerPrice, a),
        "hides": _owned(ProductHide, a),
        "outbox": select(sa.func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.ordering_key == customer_key(a), OutboxMessage.status == OutboxStatus.PENDING),
        "aliases": select(sa.func.count()).select_from(Customer).where(Customer.merged_into_id == a),
    }
    rows = {} if already else {k: session.exec(q).one() for k, q in counts.items()}
    return MergePreview(survivor, absorbed, already, rows)


def merge_customers(session: Session, actor: Actor, survivor_id: int, absorbed_id: int) -> MergeResult:
    """Merge customer ``absorbed_id`` into ``survivor_id`` (A2), admins only, in the caller's
    transaction.

    Accounts, orders, addresses, notes, inquiries, grants, prices, pending outbox rows and the
    ERP code follow the survivor; the absorbed customer stays as an alias. Merging again into
    the same survivor is a no-op flagged ``already_merged``. See the module docstring."""
    _check_merger(actor)
    survivor, absorbed, already = _check_merge(session, survivor_id, absorbed_id, lock=True)
    result = MergeResult(survivor.id, absorbed.id, already_merged=already, erp_code=survivor.erp_code)
    if already:
        return result
    s, a = survivor.id, absorbed.id
    now = utcnow()
    # The ERP knows the absorbed customer by the code it has *before* the merge hands it over.
    absorbed_before = Customer(id=a, name=absorbed.name, erp_code=absorbed.erp_code)
    codes = {"survivor_before": survivor.erp_code, "absorbed_before": absorbed.erp_code}
    moved, dropped, adjusted = result.moved, result.dropped, {}

    # Who the survivor is comes first, so the order documents rebuilt below carry its final
    # ERP code.
    if not survivor.erp_code and absorbed.erp_code:
        # erp_code is unique: free it on the absorbed row before the survivor takes it.
        code, absorbed.erp_code = absorbed.erp_code, None
        session.flush()
        survivor.erp_code = code
    # The absorbed customer becomes an alias before the survivor takes its phone: a phone is
    # unique among customers that are not aliases.
    absorbed.merged_into_id, absorbed.merged_at, absorbed.updated_at = s, now, now
    session.flush()
    filled = [
        k for k in ("phone", "contact_name", "salesperson_id") if not getattr(survivor, k) and getattr(absorbed, k)
    ]
    for key in filled:
        setattr(survivor, key, getattr(absorbed, key))
    survivor.updated_at = now
    session.flush()
    # Aliases of the absorbed now point straight at the survivor: chains never form.
    moved["aliases"] = session.exec(
        sa.update(Customer).where(Customer.merged_into_id == a).values(merged_into_id=s)
    ).rowcount

    adjusted["idempotency_keys"] = _free_idempotency_keys(session, s, a)
    adjusted["default_addresses"] = _keep_one_default_address(session, s, a)
    for name, model in (
        ("accounts", Account),
        ("orders", Order),
        ("addresses", Address),
        ("notes", Note),
        ("inquiries", Inquiry),
    ):
        moved[name] = _reassign(session, model, a, s)
    moved["grants"], dropped["grants"] = _merge_grants(session, s, a)
    moved["prices"], dropped["prices"] = _merge_prices(session, s, a)
    moved["hides_kept"], dropped["hides"] = _merge_hides(session, s, a)
    moved["erp_bindings"] = _move_erp_bindings(session, s, a)
    codes["survivor_after"] = result.erp_code = survivor.erp_code

    audit(
        session,
        actor,
        "customer.merge",
        "customer",
        s,
        {
            "survivor": {"id": s, "name": survivor.name, "type": survivor.type},
            "absorbed": {"id": a, "name": absorbed.name, "type": absorbed.type},
            "erp_code": codes,
            "filled": filled,
            "moved": moved,
            "dropped": dropped,
            "adjusted": adjusted,
        },
    )
    # Merge first, then the survivor's fresh upsert (which lists the absorbed among merged_ids).
    enqueue(
        session,
        kind="customer.merge",
        ordering_key=customer_key(s),
        aggregate_type="customer",
        aggregate_id=s,
        payload=merge_document(survivor, absorbed_before, now),
    )
    _upsert(session, survivor)
    # The absorbed customer's pending messages are queued again *behind* the merge and the
    # survivor's upsert: delivery is by id per customer, so the ERP knows the customer before
    # it gets the orders.
    moved["outbox"], dropped["outbox_superseded"] = _move_outbox(session, survivor, a)
    return result


def _reassign(session: Session, model, absorbed_id: int, survivor_id: int, *where) -> int:
    stmt = sa.update(model).where(model.customer_id == absorbed_id, *where).values(customer_id=survivor_id)
    return session.exec(stmt).rowcount


def _free_idempotency_keys(session: Session, s: int, a: int) -> list[int]:
    """Orders are unique on (customer, idempotency key): an absorbed order whose key the
    survivor already used gets a new key instead of failing the merge (ids returned)."""
    survivor_keys = select(Order.idempotency_key).where(Order.customer_id == s)
    clashing = session.exec(select(Order).where(Order.customer_id == a, Order.idempotency_key.in_(survivor_keys))).all()
    for order in clashing:
        # A retry of that old request can no longer be matched; the order itself is kept.
        order.idempotency_key = f"merged:{a}:{order.id}"
    session.flush()
    return [o.id for o in clashing]


def _keep_one_default_address(session: Session, s: int, a: int) -> int:
    """The survivor's default address stays the default; the absorbed one's becomes ordinary."""
    has_default = session.exec(_owned(Address, s, Address.is_default.is_(True), Address.deleted.is_(False))).one()
    if not has_default:
        return 0
    stmt = sa.update(Address).where(Address.customer_id == a, Address.is_default.is_(True)).values(is_default=False)
    return session.exec(stmt).rowcount


def _merge_grants(session: Session, s: int, a: int) -> tuple[int, list]:
    """Per-customer grants: the survivor gets the absorbed one's custom products; a product it
    already has granted is not granted twice (unique per product and customer)."""
    mine = select(ProductGrant.product_id).where(ProductGrant.customer_id == s)
    theirs = ProductGrant.customer_id == a
    duplicate = sorted(
        session.exec(select(ProductGrant.product_id).where(theirs, ProductGrant.product_id.in_(mine))).all()
    )
    if duplicate:
        session.exec(sa.delete(ProductGrant).where(theirs, ProductGrant.product_id.in_(duplicate)))
    dropped = [{"product_id": p, "reason": "survivor already granted"} for p in duplicate]
    return _reassign(session, ProductGrant, a, s), dropped


def _merge_prices(session: Session, s: int, a: int) -> tuple[int, list]:
    """Customer prices: the survivor's own price wins; the absorbed one's is dropped (recorded)."""
    mine = select(CustomerPrice.product_id).where(CustomerPrice.customer_id == s)
    losing = session.exec(
        select(CustomerPrice)
        .where(CustomerPrice.customer_id == a, CustomerPrice.product_id.in_(mine))
        .order_by(CustomerPrice.product_id)
    ).all()
    dropped = [
        {"product_id": p.product_id, "price": str(p.price), "reason": "survivor has its own price"} for p in losing
    ]
    for price in losing:
        session.delete(price)
    session.flush()
    return _reassign(session, CustomerPrice, a, s), dropped


def _merge_hides(session: Session, s: int, a: int) -> tuple[int, list]:
    """The merged customer sees what either customer saw: only a product hidden from both stays
    hidden (on the survivor); every other hide is dropped and recorded."""
    hides = session.exec(select(ProductHide).where(ProductHide.customer_id.in_((s, a))).order_by(ProductHide.id)).all()
    by_customer: dict[int, set[int]] = {s: set(), a: set()}
    for hide in hides:
        by_customer[hide.customer_id].add(hide.product_id)
    both = by_customer[s] & by_customer[a]
    dropped = []
    for hide in hides:
        if hide.product_id not in both:
            dropped.append(
                {"product_id": hide.product_id, "customer_id": hide.customer_id, "reason": "the other customer saw it"}
            )
        if hide.customer_id == a or hide.product_id not in both:  # a shared hide stays once, on the survivor
            session.delete(hide)
    session.flush()
    return len(both), dropped


def _move_outbox(session: Session, survivor: Customer, a: int) -> tuple[int, list]:
    """Pending messages of the absorbed customer move to the survivor's queue, in their order,
    as new rows after everything queued so far; the old rows are marked superseded and point
    at their copy. Its own pending upserts are superseded by the survivor's, not copied."""
    s = survivor.id
    pending = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.ordering_key == customer_key(a), OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(OutboxMessage.id)
    ).all()
    moved, superseded = 0, []
    for row in pending:
        row.status = OutboxStatus.SUPERSEDED
        if row.kind == "customer.upsert":
            row.last_error = f"superseded: customer {a} was merged into customer {s}, whose own upsert follows"
            row.result = {"superseded_by": "customer.merge", "survivor_id": s}
            superseded.append(row.id)
            continue
        copy = enqueue(
            session,
            target=row.target,
            kind=row.kind,
            ordering_key=customer_key(s),
            aggregate_type=row.aggregate_type,
            aggregate_id=row.aggregate_id,
            payload=_rebuilt_payload(session, row, survivor),
        )
        session.flush()
        row.last_error = f"moved: customer {a} was merged into customer {s}; re-queued as outbox #{copy.id}"
        row.result = {"moved_to": copy.id, "survivor_id": s}
        moved += 1
    session.flush()
    return moved, superseded


def _rebuilt_payload(session: Session, row: OutboxMessage, survivor: Customer) -> dict:
    """The message as it must read now that its order belongs to the survivor."""
    if row.aggregate_type == "order" and row.kind == "order.create":
        order = _order_of(session, row.aggregate_id)
        if order is not None:
            return order_document(session, order)
    if "customer_id" in row.payload:  # notifications name the customer and its salesperson
        payload = dict(row.payload, customer_id=survivor.id)
        if "salesperson_id" in payload:
            payload["salesperson_id"] = survivor.salesperson_id
        return payload
    return row.payload


def _order_of(session: Session, aggregate_id: str) -> Order | None:
    # Order messages name their order by order number (bridge.orders); accept an id too.
    order = session.exec(select(Order).where(Order.order_no == aggregate_id)).first()
    if order is None and aggregate_id.isdigit():
        order = session.get(Order, int(aggregate_id))
    return order


def _move_erp_bindings(session: Session, s: int, a: int) -> int:
    """Same rule as the ERP code: the survivor takes the absorbed one's binding for a connector
    where it has none; otherwise the binding stays on the alias, which still resolves."""
    bound = select(ErpBinding.connector).where(ErpBinding.entity == "customer", ErpBinding.internal_id == s)
    stmt = (
        sa.update(ErpBinding)
        .where(ErpBinding.entity == "customer", ErpBinding.internal_id == a, ErpBinding.connector.not_in(bound))
        .values(internal_id=s)
    )
    return session.exec(stmt).rowcount
