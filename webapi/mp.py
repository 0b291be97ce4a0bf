"""The mini-program API, ``/api/mp/v1`` (C1–C14): login, the catalog a customer may see,
scan-to-order, orders, addresses, bound accounts, the salesperson, inquiries.

Every object is checked against the caller's customer: another customer's order, address or
account answers exactly like one that does not exist. Rules are in ``bridge``; handlers only
translate HTTP to them.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import parse_qs, urlparse

import msgspec
import sqlalchemy as sa
from litestar import Request, Router, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import HeaderParameter, JSONBody, Parameter
from sqlmodel import Session, select

from bridge import sessions
from bridge import accounts as account_rules
from bridge.accounts import bind_phone, bound_accounts, signed_in_account
from bridge.actors import Actor
from bridge.customers import create_customer, resolve_customer
from bridge.db import read_scope, session_scope
from bridge.errors import InvalidInput, NotFound
from bridge.models import (
    Account,
    Address,
    Customer,
    Inquiry,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Product,
    ProductKind,
    ProductQR,
    Shipment,
    ShipmentLine,
    StaffRole,
    StaffUser,
)
from bridge.orders import LineRequest, OrderRequest, spec_text
from bridge.statemachine import LABELS, transition
from bridge.stock import submit_order
from bridge.types import utcnow
from bridge.visibility import get_visible_product, visible_to
from webapi import fields
from webapi.auth import Principal, Unauthorized, bearer, client_address

PAGE_SIZE = 20
Me = NamedDependency[Principal]

# --------------------------------------------------------------------------- request bodies

Id = fields.Id
PathId = fields.PathId


class LoginBody(msgspec.Struct):
    code: fields.token(1, 128)
    invite: fields.line(32) | None = None


class RefreshBody(msgspec.Struct):
    refresh_token: fields.token(10, 2048)


class PhoneBody(msgspec.Struct):
    code: fields.token(1, 128)


class AddressBody(msgspec.Struct):
    recipient: fields.line(64, required=True)
    phone: Annotated[str, msgspec.Meta(min_length=5, max_length=32, pattern=r"^[0-9+\-() ]{5,32}$")]
    detail: fields.line(255, required=True)
    province: fields.line(32) = ""
    city: fields.line(32) = ""
    district: fields.line(32) = ""
    is_default: bool = False


class ScanBody(msgspec.Struct):
    payload: fields.token(1, 1024)


class OrderLineBody(msgspec.Struct):
    product_id: Id
    quantity: Annotated[int, msgspec.Meta(ge=1, le=fields.MAX_ID)]
    qr_payload: fields.token(0, 512) | None = None
    marking: fields.line(128) | None = None


class OrderBody(msgspec.Struct):
    """The documented limits of ``lines``, ``remark`` and ``quantity`` are the configured ones
    (``[orders]``, written into the OpenAPI document by ``webapi.app.document_limits``)."""

    lines: Annotated[list[OrderLineBody], msgspec.Meta(min_length=1, max_length=500)]
    address_id: Id
    remark: fields.text(5000) = ""


class InquiryBody(msgspec.Struct):
    body: fields.text(2000, required=True)


# --------------------------------------------------------------------------- helpers


def runtime(request: Request):
    return request.app.state.runtime


def provide_principal(request: Request) -> Principal:
    principal = request.app.state.tokens.verify(bearer(request))
    if principal.kind != "customer":
        raise Unauthorized("请使用小程序登录", "a staff token on a customer endpoint", code="wrong_token")
    return principal


def _me(session: Session, principal: Principal) -> tuple[Account, Customer]:
    """The caller's account and (surviving) customer, while the token's session is active: the
    token of an unbound account, or of a session that ended, is void (S1)."""
    account, customer = signed_in_account(session, principal.account_id)
    sessions.check_active(session, principal.session_id, principal.subject)
    return account, customer


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _product(p: Product) -> dict[str, Any]:
    return {
        "id": p.id,
        "sku": p.sku,
        "name": p.name,
        "kind": p.kind.value,
        "kind_label": "标准品" if p.kind == ProductKind.STANDARD else "定制品",
        "unit": p.unit,
        "price": _money(p.price),
        "spec": spec_text(p),
        "shape": p.shape,
        "outer_diameter_mm": _money(p.outer_diameter_mm),
        "thickness_mm": _money(p.thickness_mm),
        "bore_mm": _money(p.bore_mm),
        "abrasive": p.abrasive,
        "grit": p.grit,
        "hardness": p.hardness,
        "bond": p.bond,
        "max_speed_ms": _money(p.max_speed_ms),
        "marking": p.marking,
        "description": p.description,
    }


def _priced(session: Session, customer: Customer, p: Product) -> dict[str, Any]:
    from bridge.orders import price_for

    data = _product(p)
    data["price"] = _money(price_for(session, customer, p))
    return data


def _address(a: Address) -> dict[str, Any]:
    return {k: getattr(a, k) for k in ("id", "recipient", "phone", "province", "city", "district", "detail", "is_default")}


def _salesperson(user: StaffUser | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"name": user.display_name, "phone": user.phone, "wechat": user.wechat_id}


def _order_summary(o: Order) -> dict[str, Any]:
    return {
        "order_no": o.order_no,
        "status": o.status.value,
        "status_label": LABELS[o.status],
        "released": o.released,
        "total_amount": _money(o.total_amount),
        "created_at": o.created_at.isoformat(),
    }


def _own_order(session: Session, customer: Customer, order_no: str) -> Order:
    order = session.exec(select(Order).where(Order.order_no == order_no)).first()
    if order is None or resolve_customer(session, order.customer_id).id != customer.id:
        raise NotFound("订单不存在", f"order {order_no} not found for customer {customer.id}")
    return order


def _order_detail(session: Session, order: Order) -> dict[str, Any]:
    lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)).all()
    shipments = session.exec(select(Shipment).where(Shipment.order_id == order.id).order_by(Shipment.id)).all()
    events = session.exec(select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)).all()
    ship_lines = {
        s.id: session.exec(select(ShipmentLine).where(ShipmentLine.shipment_id == s.id)).all() for s in shipments
    }
    return {
        **_order_summary(order),
        "ship_to": order.ship_to,
        "remark": order.remark,
        "erp_ref": order.erp_ref,
        "can_cancel": order.status in (OrderStatus.PENDING, OrderStatus.AWAITING_SHIPMENT) and not order.released,
        "can_confirm_receipt": order.status == OrderStatus.SHIPPED,
        "lines": [
            {"line_no": l.line_no, "product_id": l.product_id, "sku": l.sku, "name": l.name, "spec": l.spec,
             "marking": l.marking, "quantity": l.quantity, "unit": l.unit, "unit_price": _money(l.unit_price),
             "amount": _money(l.amount)}
            for l in lines
        ],
        "shipments": [
            {"courier": s.courier, "tracking_no": s.tracking_no, "shipped_at": s.shipped_at.isoformat(),
             "lines": [{"sku": x.sku, "quantity": x.quantity} for x in ship_lines[s.id]]}
            for s in shipments
        ],
        "timeline": [
            {"at": e.at.isoformat(), "action": e.action, "status": e.to_status.value if e.to_status else None,
             "status_label": LABELS.get(e.to_status) if e.to_status else None, "by": e.actor_kind.value}
            for e in events
            if e.action != "ignored"
        ],
    }


# --------------------------------------------------------------------------- auth


@post("/auth/login", sync_to_thread=True, operation_id="mpLogin", tags=["mp auth"])
def login(request: Request, data: JSONBody[LoginBody]) -> dict[str, Any]:
    """WeChat login: exchange the ``wx.login`` code for the bridge's own tokens. A first login
    creates the account and a new customer (default type; salesperson from the invite code)."""
    request.app.state.wechat_limiter.attempt(client_address(request))
    session_info = request.app.state.wechat.code2session(data.code)
    rt = runtime(request)
    with session_scope(rt.engine) as session:
        account = session.exec(select(Account).where(Account.openid == session_info.openid)).first()
        created = account is None
        if created:
            salesperson_id = _salesperson_for(session, data.invite, rt.config.customers.default_salesperson)
            customer = create_customer(
                session, Actor.system("wechat-login"), name=f"微信用户{session_info.openid[-6:]}",
                type=rt.config.customers.default_type, salesperson_id=salesperson_id,
            )
            account = Account(customer_id=customer.id, openid=session_info.openid, unionid=session_info.unionid)
            session.add(account)
            session.flush()
        else:
            customer = resolve_customer(session, account.customer_id)
            if account.customer_id != customer.id:
                account.customer_id = customer.id  # its customer was merged away
        account.last_login_at = utcnow()
        session.add(account)
        session.flush()
        auth = sessions.open_session(session, sessions.Subject(account_id=account.id),
                                     ttl_s=rt.config.security.refresh_ttl_s, client=client_address(request))
        principal = Principal("customer", account_id=account.id, customer_id=customer.id)
        answer = {"new_customer": created, "customer": {"id": customer.id, "name": customer.name, "type": customer.type}}
        return {**request.app.state.tokens.issue(principal, auth), **answer}


def _salesperson_for(session: Session, invite: str | None, default_username: str | None) -> int | None:
    if invite:
        user = session.exec(select(StaffUser).where(StaffUser.invite_code == invite, StaffUser.active.is_(True))).first()
        if user is not None:
            return user.id
    if default_username:
        user = session.exec(select(StaffUser).where(StaffUser.username == default_username)).first()
        if user is not None:
            return user.id
    return None


@post("/auth/refresh", sync_to_thread=True, operation_id="mpRefresh", tags=["mp auth"])
def refresh(request: Request, data: JSONBody[RefreshBody]) -> dict[str, Any]:
    """A new access token and a new refresh token for a valid refresh token; the one presented is
    used up. Presenting a used-up refresh token again ends the whole session (S1)."""
    rt = runtime(request)
    tokens = request.app.state.tokens
    principal = tokens.verify(data.refresh_token, "refresh")
    if principal.kind != "customer":
        raise Unauthorized("请使用小程序登录", "a staff token on a customer endpoint", code="wrong_token")
    with session_scope(rt.engine) as session:
        account, customer = signed_in_account(session, principal.account_id)
        auth = sessions.rotate(session, principal.session_id, principal.token_id, principal.subject,
                               ttl_s=rt.config.security.refresh_ttl_s)
        answer = None if auth is None else tokens.issue(
            Principal("customer", account_id=account.id, customer_id=customer.id), auth)
    if answer is None:  # committed: the session is ended
        raise Unauthorized("登录已失效，请重新登录", "refresh token used twice: the session is ended", code="session_ended")
    return answer


@post("/auth/logout", sync_to_thread=True, operation_id="mpLogout", tags=["mp auth"], status_code=200)
def logout(request: Request, me: Me) -> dict[str, Any]:
    """End this sign-in: its access and refresh tokens stop working at once."""
    with session_scope(runtime(request).engine) as session:
        _me(session, me)
        sessions.end(session, me.session_id, "logout")
    return {"logged_out": True}


@post("/auth/phone", sync_to_thread=True, operation_id="mpBindPhone", tags=["mp auth"])
def phone_binding(request: Request, data: JSONBody[PhoneBody], me: Me) -> dict[str, Any]:
    """Bind the WeChat phone number to this account. When a salesperson already registered
    that phone on a customer, this account joins that customer (scenario 2)."""
    phone = request.app.state.wechat.phone_number(data.code)
    with session_scope(runtime(request).engine) as session:
        account, _ = signed_in_account(session, me.account_id)
        auth = sessions.check_active(session, me.session_id, me.subject)
        binding = bind_phone(session, me.actor, account, phone)
        final = binding.customer
        principal = Principal("customer", account_id=account.id, customer_id=final.id)
        answer = {"phone": binding.phone, "customer": {"id": final.id, "name": final.name},
                  "joined_registered_customer": binding.joined}
        return {**answer, **request.app.state.tokens.issue(principal, auth)}


# --------------------------------------------------------------------------- me


@get("/me", sync_to_thread=True, operation_id="mpMe", tags=["mp me"])
def me_view(request: Request, me: Me) -> dict[str, Any]:
    """The customer, this account, the bound accounts and the salesperson's contact."""
    with read_scope(runtime(request).engine) as session:
        account, customer = _me(session, me)
        sales = session.get(StaffUser, customer.salesperson_id) if customer.salesperson_id else None
        return {
            "customer": {"id": customer.id, "name": customer.name, "type": customer.type,
                         "type_label": "类型一" if customer.type == 1 else "类型二"},
            "account": {"id": account.id, "phone": account.phone, "nickname": account.nickname},
            "accounts": _accounts(session, customer),
            "salesperson": _salesperson(sales),
        }


def _accounts(session: Session, customer: Customer) -> list[dict[str, Any]]:
    rows = bound_accounts(session, customer.id)
    return [{"id": a.id, "phone": a.phone, "wechat_bound": a.openid is not None, "nickname": a.nickname} for a in rows]


@get("/me/accounts", sync_to_thread=True, operation_id="mpAccounts", tags=["mp me"])
def accounts(request: Request, me: Me) -> list[dict[str, Any]]:
    """The phones / WeChat accounts bound to this customer (C10)."""
    with read_scope(runtime(request).engine) as session:
        _, customer = _me(session, me)
        return _accounts(session, customer)


@delete("/me/accounts/{account_id:int}", sync_to_thread=True, operation_id="mpUnbindAccount", tags=["mp me"], status_code=200)
def unbind_account(request: Request, account_id: PathId, me: Me) -> dict[str, Any]:
    """Unbind one of this customer's accounts; the last one cannot be removed. Its sign-ins end
    at once; orders it placed keep naming it."""
    with session_scope(runtime(request).engine) as session:
        account, customer = _me(session, me)
        account_rules.unbind_account(session, Actor.customer(customer.id, account.id), customer, account_id)
        return {"unbound": account_id}


# --------------------------------------------------------------------------- addresses


@get("/addresses", sync_to_thread=True, operation_id="mpAddresses", tags=["mp addresses"])
def list_addresses(request: Request, me: Me) -> list[dict[str, Any]]:
    """This customer's delivery addresses, the default first."""
    with read_scope(runtime(request).engine) as session:
        _, customer = _me(session, me)
        rows = session.exec(
            select(Address).where(Address.customer_id == customer.id, Address.deleted.is_(False))
            .order_by(Address.is_default.desc(), Address.id)
        ).all()
        return [_address(a) for a in rows]


def _save_address(session: Session, customer: Customer, address: Address, data: JSONBody[AddressBody]) -> Address:
    for key in ("recipient", "phone", "province", "city", "district", "detail", "is_default"):
        value = getattr(data, key)
        setattr(address, key, value.strip() if isinstance(value, str) else value)
    if not address.recipient or not address.detail:
        raise InvalidInput("收货人和详细地址不能为空", "recipient and detail must not be blank")
    if address.is_default:
        session.execute(
            sa.update(Address).where(Address.customer_id == customer.id, Address.id != (address.id or -1)).values(is_default=False)
        )
    session.add(address)
    session.flush()
    return address


@post("/addresses", sync_to_thread=True, operation_id="mpAddAddress", tags=["mp addresses"])
def add_address(request: Request, data: JSONBody[AddressBody], me: Me) -> dict[str, Any]:
    """Add a delivery address."""
    with session_scope(runtime(request).engine) as session:
        _, customer = _me(session, me)
        count = session.exec(select(sa.func.count()).select_from(Address).where(
            Address.customer_id == customer.id, Address.deleted.is_(False))).one()
        if count >= 50:
            raise InvalidInput("收货地址最多 50 个", "at most 50 addresses per customer")
        return _address(_save_address(session, customer, Address(customer_id=customer.id, recipient="", phone="", detail=""), data))


def _own_address(session: Session, customer: Customer, address_id: int) -> Address:
    address = session.get(Address, address_id)
    if address is None or address.customer_id != customer.id or address.deleted:
        raise NotFound("收货地址不存在", f"address {address_id} not found for customer {customer.id}")
    return address


@put("/addresses/{address_id:int}", sync_to_thread=True, operation_id="mpUpdateAddress", tags=["mp addresses"])
def update_address(request: Request, address_id: PathId, data: JSONBody[AddressBody], me: Me) -> dict[str, Any]:
    """Change a delivery address (orders keep the copy they were placed with)."""
    with session_scope(runtime(request).engine) as session:
        _, customer = _me(session, me)
        return _address(_save_address(session, customer, _own_address(session, customer, address_id), data))


@delete("/addresses/{address_id:int}", sync_to_thread=True, operation_id="mpDeleteAddress", tags=["mp addresses"], status_code=200)
def delete_address(request: Request, address_id: PathId, me: Me) -> dict[str, Any]:
    """Delete a delivery address."""
    with session_scope(runtime(request).engine) as session:
        _, customer = _me(session, me)
        address = _own_address(session, customer, address_id)
        address.deleted, address.is_default = True, False
        session.add(address)
        return {"deleted": address_id}


# --------------------------------------------------------------------------- catalog


@get("/products", sync_to_thread=True, operation_id="mpProducts", tags=["mp catalog"])
def products(
    request: Request,
    me: Me,
    kind: Annotated[str | None, Parameter(pattern="^(standard|custom)$", required=False)] = None,
    q: fields.Search = None,
    page: Annotated[int, Parameter(ge=1, le=10000)] = 1,
) -> dict[str, Any]:
    """The products this customer may see (C1, C2): by kind, searched by name, spec or code."""
    with read_scope(runtime(request).engine) as session:
        _, customer = _me(session, me)
        stmt = select(Product).where(visible_to(customer))
        if kind:
            stmt = stmt.where(Product.kind == ProductKind(kind))
        if q and q.strip():
            like = f"%{q.strip().replace('%', '').replace('_', '')}%"
            stmt = stmt.where(sa.or_(Product.name.ilike(like), Product.sku.ilike(like), Product.marking.ilike(like),
                                     Product.erp_item_code.ilike(like)))
        total = session.exec(select(sa.func.count()).select_from(stmt.subquery())).one()
        rows = session.exec(stmt.order_by(Product.kind, Product.sku).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
        return {"page": page, "page_size": PAGE_SIZE, "total": total, "items": [_priced(session, customer, p) for p in rows]}


@get("/products/{product_id:int}", sync_to_thread=True, operation_id="mpProduct", tags=["mp catalog"])
def product_detail(request: Request, product_id: PathId, me: Me) -> dict[str, Any]:
    """One product, if this customer may see it (else 404, like a missing one)."""
    with read_scope(runtime(request).engine) as session:
        _, customer = _me(session, me)
        return _priced(session, customer, get_visible_product(session, customer, product_id))


_QR_PARAM = re.compile(r"[?&]q=([^&#]+)")


def qr_payload_candidates(raw: str) -> list[str]:
    """The packaging code as scanned, and what WeChat's own scanner passes (the ``q`` parameter
    of the mini-program link, URL-encoded), so both scanners find the same product."""
    raw = raw.strip()
    found = [raw]
    parsed = urlparse(raw)
    for value in parse_qs(parsed.query).get("q", []) + parse_qs(parsed.query).get("c", []):
        found.append(value)
    from urllib.parse import unquote

    decoded = unquote(raw)
    if decoded != raw:
        found.append(decoded)
        found += [v for v in parse_qs(urlparse(decoded).query).get("q", [])]
    return list(dict.fromkeys(found))


@post("/scan", sync_to_thread=True, operation_id="mpScan", tags=["mp catalog"], status_code=200)
def scan(request: Request, data: JSONBody[ScanBody], me: Me) -> dict[str, Any]:
    """A packaging QR code → the product and the spec / marking to prefill (C4). An unknown
    code and a product this customer may not see get the same 404."""
    with read_scope(runtime(request).engine) as session:
        _, customer = _me(session, me)
        qr = session.exec(select(ProductQR).where(ProductQR.payload.in_(qr_payload_candidates(data.payload)))).first()
        if qr is None:
            raise NotFound("未识别的二维码，请联系业务员", "unknown QR payload", code="unknown_qr")
        try:
            product = get_visible_product(session, customer, qr.product_id)
        except NotFound:
            raise NotFound("未识别的二维码，请联系业务员", "unknown QR payload", code="unknown_qr") from None
        return {"product": _priced(session, customer, product), "qr_payload": qr.payload,
                "marking": qr.marking or product.marking, "spec": spec_text(product)}


# --------------------------------------------------------------------------- orders


@post("/orders", sync_to_thread=True, operation_id="mpPlaceOrder", tags=["mp orders"])
def place(
    request: Request,
    data: JSONBody[OrderBody],
    me: Me,
    idempotency_key: Annotated[str, HeaderParameter(name="Idempotency-Key", min_length=8, max_length=128)],
) -> dict[str, Any]:
    """Submit an order without payment (C5). The same ``Idempotency-Key`` returns the same
    order; the initial status comes from the stock check (C7)."""
    rt = runtime(request)
    lines = [LineRequest(quantity=l.quantity, product_id=l.product_id, qr_payload=l.qr_payload, marking=l.marking)
             for l in data.lines]
    req = OrderRequest(lines=lines, idempotency_key=idempotency_key, address_id=data.address_id, remark=data.remark)
    with read_scope(rt.engine) as session:
        account, customer = _me(session, me)
    placed = submit_order(rt.engine, request.app.state.stock, Actor.customer(customer.id, account.id), customer.id, req,
                          rt.config, account_id=account.id)
    if placed.created:
        request.app.state.metrics.orders_placed.inc()
        wake = getattr(request.app.state, "wake_dispatcher", None)
        if wake:
            wake()
    with read_scope(rt.engine) as session:
        return {**_order_detail(session, session.get(Order, placed.order.id)), "created": placed.created}


@get("/orders", sync_to_thread=True, operation_id="mpOrders", tags=["mp orders"])
def orders(
    request: Request,
    me: Me,
    status: Annotated[str | None, Parameter(required=False, pattern="^(pending|in_production|awaiting_shipment|shipped|completed|cancelled)$")] = None,
    page: Annotated[int, Parameter(ge=1, le=10000)] = 1,
) -> dict[str, Any]:
    """Order history, newest first, optionally by status (C6, C13)."""
    with read_scope(runtime(request).engine) as session:
        _, customer = _me(session, me)
        stmt = select(Order).where(Order.customer_id == customer.id)
        if status:
            stmt = stmt.where(Order.status == OrderStatus(status))
        total = session.exec(select(sa.func.count()).select_from(stmt.subquery())).one()
        rows = session.exec(stmt.order_by(Order.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
        return {"page": page, "page_size": PAGE_SIZE, "total": total, "items": [_order_summary(o) for o in rows]}


@get("/orders/{order_no:str}", sync_to_thread=True, operation_id="mpOrder", tags=["mp orders"])
def order_detail(request: Request, order_no: fields.OrderNo, me: Me) -> dict[str, Any]:
    """One order with its lines, timeline, shipments, couriers and tracking numbers (C8)."""
    with read_scope(runtime(request).engine) as session:
        _, customer = _me(session, me)
        return _order_detail(session, _own_order(session, customer, order_no))


def _move_own_order(request: Request, order_no: str, me: Principal, to: OrderStatus) -> dict[str, Any]:
    """The customer moves their own order (through the state machine, which tells the ERP)."""
    with session_scope(runtime(request).engine) as session:
        account, customer = _me(session, me)
        order = _own_order(session, customer, order_no)
        transition(session, order, to, Actor.customer(customer.id, account.id))
        session.flush()
        return _order_detail(session, order)


@post("/orders/{order_no:str}/cancel", sync_to_thread=True, operation_id="mpCancelOrder", tags=["mp orders"], status_code=200)
def cancel(request: Request, order_no: fields.OrderNo, me: Me) -> dict[str, Any]:
    """Cancel an order that has not been released to production (C13); the ERP is told."""
    return _move_own_order(request, order_no, me, OrderStatus.CANCELLED)


@post("/orders/{order_no:str}/receipt", sync_to_thread=True, operation_id="mpConfirmReceipt", tags=["mp orders"], status_code=200)
def confirm_receipt(request: Request, order_no: fields.OrderNo, me: Me) -> dict[str, Any]:
    """Confirm receipt of a shipped order → 已完成 (C9); the ERP is told."""
    return _move_own_order(request, order_no, me, OrderStatus.COMPLETED)


# --------------------------------------------------------------------------- salesperson


@get("/salesperson", sync_to_thread=True, operation_id="mpSalesperson", tags=["mp me"])
def salesperson(request: Request, me: Me) -> dict[str, Any]:
    """Contact my salesperson (C3): name, phone, WeChat / WeCom id."""
    with read_scope(runtime(request).engine) as session:
        _, customer = _me(session, me)
        user = session.get(StaffUser, customer.salesperson_id) if customer.salesperson_id else None
        if user is None or not user.active:  # a salesperson who left: the admins answer for them
            user = session.exec(select(StaffUser).where(StaffUser.role == StaffRole.ADMIN, StaffUser.active.is_(True))
                                .order_by(StaffUser.id)).first()
        if user is None:
            raise NotFound("暂未分配业务员，请稍后再试", "no salesperson assigned and no admin to fall back to")
        return _salesperson(user)


@post("/inquiries", sync_to_thread=True, operation_id="mpInquiry", tags=["mp me"])
def inquiry(request: Request, data: JSONBody[InquiryBody], me: Me) -> dict[str, Any]:
    """Leave a custom-product inquiry for the salesperson (C11)."""
    with session_scope(runtime(request).engine) as session:
        account, customer = _me(session, me)
        body = data.body.strip()
        if not body:
            raise InvalidInput("询价内容不能为空", "inquiry body is blank", field="body")
        row = Inquiry(customer_id=customer.id, account_id=account.id, body=body)
        session.add(row)
        session.flush()
        return {"id": row.id, "status": row.status.value, "created_at": row.created_at.isoformat()}


AUTH_FREE = [login, refresh]
PROTECTED = [logout, phone_binding, me_view, accounts, unbind_account, list_addresses, add_address, update_address, delete_address,
             products, product_detail, scan, place, orders, order_detail, cancel, confirm_receipt, salesperson, inquiry]

def _routes():
    from webapi.app import ERROR_RESPONSES

    for handler in AUTH_FREE + PROTECTED:
        handler.responses = {**ERROR_RESPONSES, **(handler.responses or {})}
    return [
        Router(path="/api/mp/v1", route_handlers=AUTH_FREE),
        Router(path="/api/mp/v1", route_handlers=PROTECTED,
               dependencies={"me": Provide(provide_principal, sync_to_thread=False)}, security=[{"bearer": []}]),
    ]


ROUTES = _routes()
