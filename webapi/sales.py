"""The salesperson and admin API, ``/api/sales/v1`` (A1, A2-read, A6, A7, C11): staff login,
my customers, my orders and the ones waiting for my payment confirmation, release and cancel,
notes, inquiries, custom products and their grants.

Who sees what is one rule, ``in_scope``: a salesperson sees their own customers and those
customers' orders and inquiries; an admin sees every customer. Anything outside the caller's
scope answers exactly like something that does not exist (404, same body). Rules are in
``bridge``; handlers only translate HTTP to them.
"""

from __future__ import annotations

import secrets
from functools import cache
from typing import Annotated, Any, Literal

import msgspec
import sqlalchemy as sa
from litestar import Request, Router, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, Parameter
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bridge import scope, sessions
from bridge.accounts import bound_accounts
from bridge.actors import audit
from bridge.catalog import COLUMNS, CellError
from bridge.customers import (
    OPEN_STATUSES,
    create_customer,
    list_customers,
    resolve_customer,
    set_customer_type,
    update_customer,
)
from bridge.db import read_scope, session_scope
from bridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from bridge.models import (
    Address,
    Customer,
    Inquiry,
    InquiryStatus,
    Note,
    Order,
    OrderStatus,
    Product,
    ProductGrant,
    ProductKind,
    StaffUser,
)
from bridge.statemachine import allowed, release, transition
from bridge.types import utcnow
from bridge.users import hash_password, verify_password
from bridge.visibility import is_visible
from webapi import fields
from webapi.app import ERROR_RESPONSES
from webapi.auth import Principal, Unauthorized, bearer, client_address, login_failed
from webapi.mp import PAGE_SIZE, _address, _order_detail, _order_summary, _product, runtime

Staff = NamedDependency[Principal]

# --------------------------------------------------------------------------- request bodies

Id = fields.Id
PathId = fields.PathId
NoteText = fields.text(2000, required=True)
Phone = Annotated[str, msgspec.Meta(pattern=r"^[0-9+\-() ]{3,32}$")]
Decimal_ = Annotated[str, msgspec.Meta(max_length=24, pattern=r"^ *[+-]?[0-9.,]+ *$")]
Money = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
"""Money as a string, never a float: at least 0, at most two decimals."""


class LoginBody(msgspec.Struct):
    username: fields.token(1, 64)
    password: fields.token(1, 256)


class RefreshBody(msgspec.Struct):
    refresh_token: fields.token(10, 2048)


class WechatCodeBody(msgspec.Struct):
    code: fields.token(1, 128)


class CustomerCreateBody(msgspec.Struct):
    name: fields.line(128, required=True)
    type: Literal[1, 2]
    phone: Phone | None = None
    contact_name: fields.line(64) | None = None
    salesperson_id: Id | None = None
    """Admins only; a salesperson's new customer is their own."""


class CustomerUpdateBody(msgspec.Struct):
    """Only the fields given change; ``null`` clears phone / contact / salesperson."""

    name: fields.line(128, required=True) | msgspec.UnsetType = msgspec.UNSET
    phone: Phone | None | msgspec.UnsetType = msgspec.UNSET
    contact_name: fields.line(64) | None | msgspec.UnsetType = msgspec.UNSET
    salesperson_id: Id | None | msgspec.UnsetType = msgspec.UNSET
    """Admins only."""


class CustomerTypeBody(msgspec.Struct):
    type: Literal[1, 2]


class NoteBody(msgspec.Struct):
    body: NoteText


class CancelBody(msgspec.Struct):
    reason: fields.text(500) | None = None


class ProductBody(msgspec.Struct):
    """A new product; text and decimal limits are the catalog's (``bridge.catalog.COLUMNS``)."""

    sku: fields.line(64, required=True)
    name: fields.line(128, required=True)
    price: Money
    kind: Literal["custom", "standard"] = "custom"
    """Salespeople create custom products only."""
    unit: fields.line(16, required=True) = "片"
    erp_item_code: fields.line(64) | None = None
    shape: fields.line(32) | None = None
    outer_diameter_mm: Decimal_ | None = None
    thickness_mm: Decimal_ | None = None
    bore_mm: Decimal_ | None = None
    abrasive: fields.line(32) | None = None
    grit: fields.line(16) | None = None
    hardness: fields.line(8) | None = None
    bond: fields.line(16) | None = None
    max_speed_ms: Decimal_ | None = None
    marking: fields.line(128) | None = None
    description: fields.text(2000) | None = None


class GrantBody(msgspec.Struct):
    customer_id: Id


# --------------------------------------------------------------------------- who is calling


def provide_staff(request: Request) -> Principal:
    """The staff user behind the bearer token, as they are *now*: a customer's token is refused,
    and so is the token of a user deleted or deactivated since it was issued. The role comes from
    the database, so a demoted admin loses admin rights at once."""
    principal = request.app.state.tokens.verify(bearer(request))
    if principal.kind != "staff":
        raise Unauthorized("请使用员工账号登录", "a customer token on a staff endpoint", code="wrong_token")
    with read_scope(runtime(request).engine) as session:
        current = _current(session, principal.staff_id, principal.session_id)
        sessions.check_active(session, principal.session_id, principal.subject)
        return current


def _current(session: Session, staff_id: int | None, session_id: str | None = None) -> Principal:
    user = session.get(StaffUser, staff_id) if staff_id else None
    if user is None:
        raise Unauthorized("登录信息无效，请重新登录", f"staff user {staff_id} no longer exists")
    if not user.active:
        raise Unauthorized("账号已停用，请联系管理员", f"staff user {staff_id} is inactive", code="account_disabled")
    return Principal("staff", staff_id=user.id, role=user.role, session_id=session_id)


# --------------------------------------------------------------------------- scope: the one rule


def in_scope(staff: Principal) -> sa.ColumnElement[bool]:
    """SQL condition on ``Customer``: the customers ``staff`` may see and act on (``bridge.scope``).
    Orders, inquiries and notes are in scope through their customer."""
    return scope.customers_of(staff.actor)


def _my_customer(session: Session, staff: Principal, customer_id: int) -> Customer:
    """The customer (an alias id leads to its survivor) if in scope; else the same 404 as a missing one."""
    try:
        target = resolve_customer(session, customer_id)
        found = session.exec(select(Customer).where(Customer.id == target.id, in_scope(staff))).first()
    except NotFound:
        found = None
    if found is None:
        raise NotFound("客户不存在", f"customer {customer_id} not found")
    return found


def _my_order(session: Session, staff: Principal, order_no: str) -> Order:
    order = session.exec(
        select(Order).join(Customer, Customer.id == Order.customer_id).where(Order.order_no == order_no, in_scope(staff))
    ).first()
    if order is None:
        raise NotFound("订单不存在", f"order {order_no} not found")
    return order


def _my_inquiry(session: Session, staff: Principal, inquiry_id: int) -> Inquiry:
    inquiry = session.exec(
        select(Inquiry).join(Customer, Customer.id == Inquiry.customer_id).where(Inquiry.id == inquiry_id, in_scope(staff))
    ).first()
    if inquiry is None:
        raise NotFound("询价不存在", f"inquiry {inquiry_id} not found")
    return inquiry


# --------------------------------------------------------------------------- answers


def _type_label(type_: int) -> str:
    return "类型一" if type_ == 1 else "类型二"


def _user(user: StaffUser) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "role": user.role.value,
            "phone": user.phone, "wechat_bound": user.wechat_openid is not None}


def _names(session: Session, ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(session.exec(select(StaffUser.id, StaffUser.display_name).where(StaffUser.id.in_(ids))).all())


def _notes(session: Session, *where) -> list[dict[str, Any]]:
    rows = session.exec(select(Note).where(*where).order_by(Note.id.desc())).all()
    authors = _names(session, {n.author_id for n in rows})
    return [{"id": n.id, "body": n.body, "author_id": n.author_id, "author": authors.get(n.author_id),
             "created_at": n.created_at.isoformat()} for n in rows]


def _customer(c: Customer, salesperson: str | None = None) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "type": c.type, "type_label": _type_label(c.type), "phone": c.phone,
            "contact_name": c.contact_name, "erp_code": c.erp_code, "salesperson_id": c.salesperson_id,
            "salesperson": salesperson, "created_at": c.created_at.isoformat()}


def _awaiting_payment() -> sa.ColumnElement[bool]:
    """Orders waiting for a payment confirmation (A6): not released and still on their way.
    Only type-2 orders are ever unreleased (type 1 is released at placement), and an order keeps
    the rule it was placed under when its customer's type changes later."""
    return sa.and_(Order.released.is_(False), Order.status.in_(OPEN_STATUSES))


def _customer_detail(session: Session, c: Customer) -> dict[str, Any]:
    accounts = bound_accounts(session, c.id)
    addresses = session.exec(
        select(Address).where(Address.customer_id == c.id, Address.deleted.is_(False))
        .order_by(Address.is_default.desc(), Address.id)
    ).all()

    def orders(*where) -> int:
        return session.exec(select(sa.func.count()).select_from(Order).where(Order.customer_id == c.id, *where)).one()

    return {
        **_customer(c, _names(session, {c.salesperson_id}).get(c.salesperson_id)),
        "accounts": [{"id": a.id, "phone": a.phone, "wechat_bound": a.openid is not None, "nickname": a.nickname,
                      "last_login_at": a.last_login_at.isoformat() if a.last_login_at else None} for a in accounts],
        "addresses": [_address(a) for a in addresses],
        "open_orders": orders(Order.status.in_(OPEN_STATUSES)),
        "awaiting_payment_orders": orders(_awaiting_payment()),
        "notes": _notes(session, Note.customer_id == c.id),
    }


def _order_row(o: Order, customer: Customer) -> dict[str, Any]:
    return {**_order_summary(o), "customer": {"id": customer.id, "name": customer.name, "type": customer.type},
            "awaiting_payment": not o.released and o.status in OPEN_STATUSES}


def _staff_order_detail(session: Session, staff: Principal, order: Order) -> dict[str, Any]:
    detail = _order_detail(session, order)
    detail.pop("can_confirm_receipt", None)  # the customer's button, not the salesperson's
    customer = session.get(Customer, order.customer_id)
    return {
        **detail,
        **_order_row(order, customer),
        "can_cancel": allowed(order, OrderStatus.CANCELLED, staff.actor) is None,
        "can_release": not order.released and order.status in OPEN_STATUSES,
        "released_at": order.released_at.isoformat() if order.released_at else None,
        "stock_check": order.stock_check.value,
        "placed_by_staff_id": order.placed_by_staff_id,
        "notes": _notes(session, Note.order_id == order.id),
    }


def _inquiry(i: Inquiry, customer: Customer, handlers: dict[int, str]) -> dict[str, Any]:
    return {"id": i.id, "customer": {"id": customer.id, "name": customer.name}, "body": i.body,
            "status": i.status.value, "status_label": "待跟进" if i.status == InquiryStatus.OPEN else "已处理",
            "created_at": i.created_at.isoformat(), "handled_by_id": i.handled_by_id,
            "handled_by": handlers.get(i.handled_by_id), "handled_at": i.handled_at.isoformat() if i.handled_at else None}


def _staff_product(p: Product) -> dict[str, Any]:
    return {**_product(p), "active": p.active, "erp_item_code": p.erp_item_code}


def _page(session: Session, stmt, page: int) -> tuple[int, list]:
    total = session.exec(select(sa.func.count()).select_from(stmt.subquery())).one()
    return total, session.exec(stmt.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()


def _wake(request: Request) -> None:
    wake = getattr(request.app.state, "wake_dispatcher", None)
    if wake:
        wake()


# --------------------------------------------------------------------------- auth

BAD_LOGIN = "用户名或密码错误"


@cache
def _decoy_hash() -> str:
    # Verifying against a throw-away hash when the user does not exist costs the same as a real
    # check, so the answer's timing does not tell which usernames exist either.
    return hash_password(secrets.token_hex(16))


def _issue(request: Request, session: Session, user: StaffUser, auth=None) -> dict[str, Any]:
    """The login answer: tokens of a new session (or of ``auth``, on a refresh) and the user."""
    if auth is None:
        auth = sessions.open_session(session, sessions.Subject(staff_id=user.id),
                                     ttl_s=runtime(request).config.security.refresh_ttl_s, client=client_address(request))
    principal = Principal("staff", staff_id=user.id, role=user.role)
    return {**request.app.state.tokens.issue(principal, auth), "user": _user(user)}


@post("/auth/login", sync_to_thread=True, operation_id="salesLogin", tags=["sales auth"])
def login(request: Request, data: JSONBody[LoginBody]) -> dict[str, Any]:
    """Username and password → tokens. Limited per address, per (username, address) and, more
    slowly, per username from everywhere; a wrong username and a wrong password get the same
    answer. Every failure is logged (without the password)."""
    username = data.username.strip()
    address = client_address(request)
    limiter = request.app.state.login_limiter
    limiter.attempt(address, username)
    with session_scope(runtime(request).engine) as session:
        user = session.exec(select(StaffUser).where(StaffUser.username == username)).first()
        stored = user.password_hash if user is not None else _decoy_hash()
        if not verify_password(stored, data.password) or user is None:
            limiter.failed(address, username)
            login_failed(address, username, "unknown user" if user is None else "wrong password")
            raise Unauthorized(BAD_LOGIN, f"login refused for {username!r}", code="bad_credentials")
        if not user.active:
            login_failed(address, username, "user deactivated")
            raise Unauthorized("账号已停用，请联系管理员", f"staff user {user.id} is inactive", code="account_disabled")
        limiter.succeeded(address, username)
        return _issue(request, session, user)


@post("/auth/refresh", sync_to_thread=True, operation_id="salesRefresh", tags=["sales auth"])
def refresh(request: Request, data: JSONBody[RefreshBody]) -> dict[str, Any]:
    """New tokens for a valid staff refresh token, if the user is still active; the one presented
    is used up, and presenting it again ends the whole session (S1)."""
    principal = request.app.state.tokens.verify(data.refresh_token, "refresh")
    if principal.kind != "staff":
        raise Unauthorized("请使用员工账号登录", "a customer token on a staff endpoint", code="wrong_token")
    with session_scope(runtime(request).engine) as session:
        _current(session, principal.staff_id)
        auth = sessions.rotate(session, principal.session_id, principal.token_id, principal.subject,
                               ttl_s=runtime(request).config.security.refresh_ttl_s)
        answer = None if auth is None else _issue(request, session, session.get(StaffUser, principal.staff_id), auth)
    if answer is None:  # committed: the session is ended
        raise Unauthorized("登录已失效，请重新登录", "refresh token used twice: the session is ended", code="session_ended")
    return answer


@post("/auth/logout", sync_to_thread=True, operation_id="salesLogout", tags=["sales auth"], status_code=200)
def logout(request: Request, staff: Staff) -> dict[str, Any]:
    """End this sign-in: its access and refresh tokens stop working at once."""
    with session_scope(runtime(request).engine) as session:
        sessions.end(session, staff.session_id, "logout")
    return {"logged_out": True}


@post("/auth/wechat/login", sync_to_thread=True, operation_id="salesWechatLogin", tags=["sales auth"])
def wechat_login(request: Request, data: JSONBody[WechatCodeBody]) -> dict[str, Any]:
    """Log in from the phone with the WeChat account bound earlier (``/auth/wechat/bind``)."""
    request.app.state.wechat_limiter.attempt(client_address(request))
    openid = request.app.state.wechat.code2session(data.code).openid
    with session_scope(runtime(request).engine) as session:
        user = session.exec(select(StaffUser).where(StaffUser.wechat_openid == openid)).first()
        if user is None:
            raise Unauthorized("该微信尚未绑定员工账号，请先用用户名和密码登录后绑定", "no staff user bound to this openid",
                               code="wechat_not_bound")
        if not user.active:
            login_failed(client_address(request), user.username, "user deactivated (WeChat login)")
            raise Unauthorized("账号已停用，请联系管理员", f"staff user {user.id} is inactive", code="account_disabled")
        return _issue(request, session, user)


@post("/auth/wechat/bind", sync_to_thread=True, operation_id="salesWechatBind", tags=["sales auth"], status_code=200)
def wechat_bind(request: Request, data: JSONBody[WechatCodeBody], staff: Staff) -> dict[str, Any]:
    """Bind the caller's WeChat account, so later logins from the phone need no password."""
    openid = request.app.state.wechat.code2session(data.code).openid
    with session_scope(runtime(request).engine) as session:
        other = session.exec(select(StaffUser).where(StaffUser.wechat_openid == openid, StaffUser.id != staff.staff_id)).first()
        if other is not None:
            raise Conflict("该微信已绑定其他员工账号", f"openid already bound to staff user {other.id}")
        user = session.get(StaffUser, staff.staff_id)
        if user.wechat_openid != openid:
            user.wechat_openid = openid
            session.add(user)
            audit(session, staff.actor, "user.wechat_bind", "staff_user", user.id)
        return _user(user)


@get("/me", sync_to_thread=True, operation_id="salesMe", tags=["sales auth"])
def me(request: Request, staff: Staff) -> dict[str, Any]:
    """The signed-in staff user."""
    with session_scope(runtime(request).engine) as session:
        return _user(session.get(StaffUser, staff.staff_id))


# --------------------------------------------------------------------------- customers


@get("/customers", sync_to_thread=True, operation_id="salesCustomers", tags=["sales customers"])
def customers(
    request: Request,
    staff: Staff,
    q: fields.Search = None,
    page: Annotated[int, Parameter(ge=1, le=10000)] = 1,
) -> dict[str, Any]:
    """My customers (all, for an admin), searched by name, contact, phone or ERP code."""
    with session_scope(runtime(request).engine) as session:
        mine = set(session.exec(select(Customer.id).where(in_scope(staff))).all())
        rows = [r for r in list_customers(session, search=q) if r.customer.id in mine]
        start = (page - 1) * PAGE_SIZE
        items = [{**_customer(r.customer, r.salesperson), "accounts": r.accounts, "orders": r.orders}
                 for r in rows[start:start + PAGE_SIZE]]
        return {"page": page, "page_size": PAGE_SIZE, "total": len(rows), "items": items}


@post("/customers", sync_to_thread=True, operation_id="salesCreateCustomer", tags=["sales customers"])
def add_customer(request: Request, data: JSONBody[CustomerCreateBody], staff: Staff) -> dict[str, Any]:
    """Create a customer (A7). A salesperson's new customer is theirs; an admin may name its
    salesperson. A WeChat user who later binds ``phone`` joins this customer (scenario 2)."""
    if data.salesperson_id not in (None, staff.staff_id) and not staff.is_admin:
        raise Forbidden("只有管理员可以为客户指定其他业务员", "salespeople create customers for themselves only")
    with session_scope(runtime(request).engine) as session:
        customer = create_customer(session, staff.actor, name=data.name, type=data.type, salesperson_id=data.salesperson_id,
                                   phone=data.phone, contact_name=data.contact_name)
        return _customer_detail(session, customer)


@get("/customers/{customer_id:int}", sync_to_thread=True, operation_id="salesCustomer", tags=["sales customers"])
def customer_detail(request: Request, customer_id: PathId, staff: Staff) -> dict[str, Any]:
    """One customer with its accounts, addresses, open orders and notes."""
    with session_scope(runtime(request).engine) as session:
        return _customer_detail(session, _my_customer(session, staff, customer_id))


@patch("/customers/{customer_id:int}", sync_to_thread=True, operation_id="salesUpdateCustomer", tags=["sales customers"])
def change_customer(request: Request, customer_id: PathId, data: JSONBody[CustomerUpdateBody], staff: Staff) -> dict[str, Any]:
    """Change a customer's name, phone, contact (and, for an admin, salesperson)."""
    if data.salesperson_id is not msgspec.UNSET and not staff.is_admin:
        raise Forbidden("只有管理员可以更换客户的业务员", "only admins reassign customers")
    changes = {k: getattr(data, k) for k in ("name", "phone", "contact_name", "salesperson_id")
               if getattr(data, k) is not msgspec.UNSET}
    with session_scope(runtime(request).engine) as session:
        customer = _my_customer(session, staff, customer_id)
        return _customer_detail(session, update_customer(session, staff.actor, customer.id, **changes))


@put("/customers/{customer_id:int}/type", sync_to_thread=True, operation_id="salesSetCustomerType", tags=["sales customers"])
def change_type(request: Request, customer_id: PathId, data: JSONBody[CustomerTypeBody], staff: Staff) -> dict[str, Any]:
    """Make the customer 类型一 or 类型二 (A1); orders already placed keep their rule, and the
    answer's ``notice`` says how many of them still wait for a payment confirmation."""
    with session_scope(runtime(request).engine) as session:
        customer = _my_customer(session, staff, customer_id)
        change = set_customer_type(session, staff.actor, customer.id, data.type)
        return {"customer_id": change.customer_id, "old_type": change.old_type, "type": change.new_type,
                "type_label": _type_label(change.new_type), "changed": change.changed,
                "unreleased_open_orders": change.unreleased_open_orders, "notice": change.notice}


@post("/customers/{customer_id:int}/notes", sync_to_thread=True, operation_id="salesCustomerNote", tags=["sales customers"])
def customer_note(request: Request, customer_id: PathId, data: JSONBody[NoteBody], staff: Staff) -> dict[str, Any]:
    """A note on a customer (A6)."""
    with session_scope(runtime(request).engine) as session:
        customer = _my_customer(session, staff, customer_id)
        return _add_note(session, staff, data, customer_id=customer.id)


def _add_note(session: Session, staff: Principal, data: NoteBody, **target: int) -> dict[str, Any]:
    body = data.body.strip()
    if not body:
        raise InvalidInput("备注内容不能为空", "note body is blank")
    note = Note(author_id=staff.staff_id, body=body, **target)
    session.add(note)
    session.flush()
    return _notes(session, Note.id == note.id)[0]


# --------------------------------------------------------------------------- orders


@get("/orders", sync_to_thread=True, operation_id="salesOrders", tags=["sales orders"])
def orders(
    request: Request,
    staff: Staff,
    status: Annotated[str | None, Parameter(required=False, pattern="^(pending|in_production|awaiting_shipment|shipped|completed|cancelled)$")] = None,
    awaiting_payment: Annotated[bool, Parameter(required=False)] = False,
    customer_id: Annotated[int | None, Parameter(required=False, ge=1, le=fields.MAX_ID)] = None,
    page: Annotated[int, Parameter(ge=1, le=10000)] = 1,
) -> dict[str, Any]:
    """My customers' orders, newest first; ``awaiting_payment=true``: the ones waiting for my
    payment confirmation (A6)."""
    with session_scope(runtime(request).engine) as session:
        stmt = select(Order, Customer).join(Customer, Customer.id == Order.customer_id).where(in_scope(staff))
        if customer_id is not None:
            stmt = stmt.where(Order.customer_id == _my_customer(session, staff, customer_id).id)
        if status:
            stmt = stmt.where(Order.status == OrderStatus(status))
        if awaiting_payment:
            stmt = stmt.where(_awaiting_payment())
        total, rows = _page(session, stmt.order_by(Order.id.desc()), page)
        return {"page": page, "page_size": PAGE_SIZE, "total": total, "items": [_order_row(o, c) for o, c in rows]}


@get("/orders/{order_no:str}", sync_to_thread=True, operation_id="salesOrder", tags=["sales orders"])
def order_detail(request: Request, order_no: fields.OrderNo, staff: Staff) -> dict[str, Any]:
    """One order with its lines, timeline, shipments and notes."""
    with session_scope(runtime(request).engine) as session:
        return _staff_order_detail(session, staff, _my_order(session, staff, order_no))


@post("/orders/{order_no:str}/release", sync_to_thread=True, operation_id="salesReleaseOrder", tags=["sales orders"], status_code=200)
def release_order(request: Request, order_no: fields.OrderNo, staff: Staff) -> dict[str, Any]:
    """Payment confirmed: release a type-2 order to production (A1, A6); the ERP is told.
    Releasing a released order again changes nothing."""
    with session_scope(runtime(request).engine) as session:
        order = _my_order(session, staff, order_no)
        done = release(session, order, staff.actor)
        session.flush()
        answer = _staff_order_detail(session, staff, order)
    if done is not None:
        _wake(request)
    return answer


@post("/orders/{order_no:str}/cancel", sync_to_thread=True, operation_id="salesCancelOrder", tags=["sales orders"], status_code=200)
def cancel_order(request: Request, order_no: fields.OrderNo, staff: Staff, data: JSONBody[CancelBody | None] = None) -> dict[str, Any]:
    """Cancel an order that has not shipped; the ERP and the customer are told."""
    reason = ((data.reason if data else None) or "").strip() or None
    with session_scope(runtime(request).engine) as session:
        order = _my_order(session, staff, order_no)
        transition(session, order, OrderStatus.CANCELLED, staff.actor, note=reason)
        session.flush()
        answer = _staff_order_detail(session, staff, order)
    _wake(request)
    return answer


@post("/orders/{order_no:str}/notes", sync_to_thread=True, operation_id="salesOrderNote", tags=["sales orders"])
def order_note(request: Request, order_no: fields.OrderNo, data: JSONBody[NoteBody], staff: Staff) -> dict[str, Any]:
    """A note on an order (A6)."""
    with session_scope(runtime(request).engine) as session:
        order = _my_order(session, staff, order_no)
        return _add_note(session, staff, data, order_id=order.id)


# --------------------------------------------------------------------------- inquiries (C11)


@get("/inquiries", sync_to_thread=True, operation_id="salesInquiries", tags=["sales inquiries"])
def inquiries(
    request: Request,
    staff: Staff,
    status: Annotated[str | None, Parameter(required=False, pattern="^(open|handled)$")] = None,
    page: Annotated[int, Parameter(ge=1, le=10000)] = 1,
) -> dict[str, Any]:
    """My customers' custom-product inquiries, newest first."""
    with session_scope(runtime(request).engine) as session:
        stmt = select(Inquiry, Customer).join(Customer, Customer.id == Inquiry.customer_id).where(in_scope(staff))
        if status:
            stmt = stmt.where(Inquiry.status == InquiryStatus(status))
        total, rows = _page(session, stmt.order_by(Inquiry.id.desc()), page)
        handlers = _names(session, {i.handled_by_id for i, _ in rows})
        return {"page": page, "page_size": PAGE_SIZE, "total": total, "items": [_inquiry(i, c, handlers) for i, c in rows]}


@post("/inquiries/{inquiry_id:int}/handle", sync_to_thread=True, operation_id="salesHandleInquiry", tags=["sales inquiries"], status_code=200)
def handle_inquiry(request: Request, inquiry_id: PathId, staff: Staff) -> dict[str, Any]:
    """Mark an inquiry as followed up; doing it again changes nothing."""
    with session_scope(runtime(request).engine) as session:
        inquiry = _my_inquiry(session, staff, inquiry_id)
        if inquiry.status != InquiryStatus.HANDLED:
            inquiry.status, inquiry.handled_by_id, inquiry.handled_at = InquiryStatus.HANDLED, staff.staff_id, utcnow()
            session.add(inquiry)
            audit(session, staff.actor, "inquiry.handle", "inquiry", inquiry.id, {"customer_id": inquiry.customer_id})
        customer = session.get(Customer, inquiry.customer_id)
        return _inquiry(inquiry, customer, _names(session, {inquiry.handled_by_id}))


# --------------------------------------------------------------------------- products (A3, A7)

_COLUMN = {c.key: c for c in COLUMNS}


def _cell(key: str, value: str | None) -> Any:
    """A product field checked by the catalog's own column rule (the import's limits and
    messages): blank means "not given"."""
    text = (value or "").strip()
    if not text:
        return None
    column = _COLUMN[key]
    try:
        return column.parse(text)
    except CellError as exc:
        raise InvalidInput(f"{column.header}：{exc.zh}", f"{key}: {exc.en}", field=key) from None


@get("/products", sync_to_thread=True, operation_id="salesProducts", tags=["sales products"])
def products(
    request: Request,
    staff: Staff,
    kind: Annotated[str | None, Parameter(pattern="^(standard|custom)$", required=False)] = None,
    q: fields.Search = None,
    page: Annotated[int, Parameter(ge=1, le=10000)] = 1,
) -> dict[str, Any]:
    """Every product, active or not, by kind, searched by name, code or marking."""
    with session_scope(runtime(request).engine) as session:
        stmt = select(Product).where(scope.products_of(staff.actor))
        if kind:
            stmt = stmt.where(Product.kind == ProductKind(kind))
        if q and q.strip():
            like = "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(sa.or_(*(col.ilike(like, escape="\\") for col in
                                       (Product.name, Product.sku, Product.marking, Product.erp_item_code))))
        total, rows = _page(session, stmt.order_by(Product.kind, Product.sku), page)
        return {"page": page, "page_size": PAGE_SIZE, "total": total, "items": [_staff_product(p) for p in rows]}


@post("/products", sync_to_thread=True, operation_id="salesCreateProduct", tags=["sales products"])
def add_product(request: Request, data: JSONBody[ProductBody], staff: Staff) -> dict[str, Any]:
    """Create a product (A7): custom by default, visible to nobody until granted; only admins
    create standard products. A code (sku) already used answers 409."""
    if data.kind == "standard" and not staff.is_admin:
        raise Forbidden("业务员只能创建定制品", "salespeople create custom products only")
    fields = {key: _cell(key, getattr(data, key)) for key in _COLUMN if hasattr(data, key) and key != "kind"}
    for key in ("sku", "name", "price", "unit"):
        if fields[key] is None:
            raise InvalidInput(f"{_COLUMN[key].header}不能为空", f"{key} is blank", field=key)
    with session_scope(runtime(request).engine) as session:
        if session.exec(select(Product.id).where(Product.sku == fields["sku"])).first() is not None:
            raise Conflict(f"商品编码 {fields['sku']} 已存在", f"sku {fields['sku']!r} already exists", field="sku")
        product = Product(kind=ProductKind(data.kind), created_by_id=staff.staff_id, **fields)
        try:
            with session.begin_nested():
                session.add(product)
                session.flush()
        except IntegrityError:  # the same sku raced in from another request
            raise Conflict(f"商品编码 {fields['sku']} 已存在", f"sku {fields['sku']!r} already exists", field="sku") from None
        audit(session, staff.actor, "product.create", "product", product.id,
              {"sku": product.sku, "kind": product.kind.value, "price": str(product.price)})
        return _staff_product(product)


@post("/products/{product_id:int}/grants", sync_to_thread=True, operation_id="salesGrantProduct", tags=["sales products"])
def grant_product(request: Request, product_id: PathId, data: JSONBody[GrantBody], staff: Staff) -> dict[str, Any]:
    """Make a custom product visible to one of my customers (A3, A7). Granting it again
    changes nothing. ``visible_to_customer`` says whether the customer now sees it (a hide or
    an inactive product still wins over the grant)."""
    with session_scope(runtime(request).engine) as session:
        product = session.exec(select(Product).where(Product.id == product_id, scope.products_of(staff.actor))).first()
        if product is None:
            raise NotFound("商品不存在", f"product {product_id} not found")
        customer = _my_customer(session, staff, data.customer_id)
        if product.kind != ProductKind.CUSTOM:
            raise InvalidInput("标准品对所有客户可见，无需授权", f"product {product.sku} is standard: grants are for custom products")
        existing = session.exec(select(ProductGrant).where(ProductGrant.product_id == product.id,
                                                           ProductGrant.customer_id == customer.id)).first()
        created = existing is None
        if created:
            try:
                with session.begin_nested():
                    session.add(ProductGrant(product_id=product.id, customer_id=customer.id))
                    session.flush()
            except IntegrityError:  # granted by another request just now: same outcome
                created = False
        if created:
            audit(session, staff.actor, "product.grant", "product", product.id, {"customer_id": customer.id, "sku": product.sku})
        return {"product_id": product.id, "sku": product.sku, "customer_id": customer.id, "created": created,
                "visible_to_customer": is_visible(session, customer, product.id)}


AUTH_FREE = [login, refresh, wechat_login]
PROTECTED = [logout, wechat_bind, me, customers, add_customer, customer_detail, change_customer, change_type, customer_note,
             orders, order_detail, release_order, cancel_order, order_note, inquiries, handle_inquiry,
             products, add_product, grant_product]

for _handler in AUTH_FREE + PROTECTED:
    _handler.responses = {**ERROR_RESPONSES, **(_handler.responses or {})}

ROUTES = [
    Router(path="/api/sales/v1", route_handlers=AUTH_FREE),
    Router(path="/api/sales/v1", route_handlers=PROTECTED,
           dependencies={"staff": Provide(provide_staff, sync_to_thread=True)}, security=[{"bearer": []}]),
]
