"""The answers of both APIs, typed: every 2xx body is one of these msgspec Structs, so
``/schema/openapi.json`` names each field and its type, schemathesis checks every answer against
it, and the mini-program has a contract to be tested against.

The ``*_view`` functions turn what a ``bridge`` service returned into its answer; they decide
nothing (labels are ``bridge.labels``, permissions come with the service's answer). Field names
are the ones the API has always had: a change must be listed in the README under "API changes".
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from bridge import labels
from bridge.addresses import SHIP_TO_FIELDS
from bridge.customers import CustomerOverview, CustomerRow
from bridge.db import Page
from bridge.inquiries import InquiryView
from bridge.models import Account, Address, Customer, Inquiry, Order, Product, StaffUser
from bridge.notes import NoteView
from bridge.orders import OrderDetails, spec_text
from bridge.products import Grant, PricedProduct, Scanned
from bridge.reorder import Reorder
from bridge.statemachine import awaits_payment, status_hint


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _at(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class Struct(msgspec.Struct, kw_only=True):
    """Every answer: keyword-only fields, so subclasses add fields after optional ones."""


# --------------------------------------------------------------------------- signing in


class TokenPair(Struct):
    access_token: str
    refresh_token: str
    """Send it to ``/auth/refresh`` for new tokens; it works once."""
    token_type: str
    expires_in: int
    """Seconds the access token is valid."""


class LoggedOut(Struct):
    logged_out: bool


class CustomerRef(Struct):
    id: int
    name: str


class TypedCustomerRef(CustomerRef):
    type: int


class CustomerLogin(TokenPair):
    new_customer: bool
    """True on a first login: the account and a new customer were made now."""
    customer: TypedCustomerRef


class PhoneBound(TokenPair):
    phone: str
    customer: CustomerRef
    """The customer the account belongs to now."""
    joined_registered_customer: bool


class StaffUserView(Struct):
    id: int
    username: str
    display_name: str
    role: str
    phone: str | None
    wechat_bound: bool


class StaffLogin(TokenPair):
    user: StaffUserView


def staff_user_view(user: StaffUser) -> StaffUserView:
    return StaffUserView(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role.value,
        phone=user.phone,
        wechat_bound=user.wechat_openid is not None,
    )


# --------------------------------------------------------------------------- the customer and their accounts


class AccountView(Struct):
    id: int
    phone: str | None
    wechat_bound: bool
    nickname: str | None


class StaffAccountView(AccountView):
    last_login_at: str | None


class Contact(Struct):
    name: str
    phone: str | None
    wechat: str | None


class MeCustomer(TypedCustomerRef):
    type_label: str


class MeAccount(Struct):
    id: int
    phone: str | None
    nickname: str | None


class Me(Struct):
    customer: MeCustomer
    account: MeAccount
    accounts: list[AccountView]
    salesperson: Contact | None


class Unbound(Struct):
    unbound: int


def account_view(a: Account) -> AccountView:
    return AccountView(id=a.id, phone=a.phone, wechat_bound=a.openid is not None, nickname=a.nickname)


def contact_view(user: StaffUser | None) -> Contact | None:
    return None if user is None else Contact(name=user.display_name, phone=user.phone, wechat=user.wechat_id)


def me_view(account: Account, customer: Customer, accounts: list[Account], salesperson: StaffUser | None) -> Me:
    return Me(
        customer=MeCustomer(
            id=customer.id,
            name=customer.name,
            type=customer.type,
            type_label=labels.CUSTOMER_TYPE_LABELS[customer.type],
        ),
        account=MeAccount(id=account.id, phone=account.phone, nickname=account.nickname),
        accounts=[account_view(a) for a in accounts],
        salesperson=contact_view(salesperson),
    )


# --------------------------------------------------------------------------- addresses


class AddressView(Struct):
    id: int
    recipient: str
    phone: str
    province: str
    city: str
    district: str
    detail: str
    is_default: bool


class Deleted(Struct):
    deleted: int


def address_view(a: Address) -> AddressView:
    return AddressView(
        id=a.id,
        recipient=a.recipient,
        phone=a.phone,
        province=a.province or "",
        city=a.city or "",
        district=a.district or "",
        detail=a.detail,
        is_default=a.is_default,
    )


# --------------------------------------------------------------------------- products


class ProductView(Struct):
    id: int
    sku: str
    name: str
    kind: str
    kind_label: str
    unit: str
    price: str | None
    """Money as a decimal string; for a customer, their own price."""
    spec: str
    shape: str | None
    outer_diameter_mm: str | None
    thickness_mm: str | None
    bore_mm: str | None
    abrasive: str | None
    grit: str | None
    hardness: str | None
    bond: str | None
    max_speed_ms: str | None
    marking: str | None
    description: str | None


class StaffProductView(ProductView):
    active: bool
    erp_item_code: str | None


class PageInfo(Struct):
    page: int
    page_size: int
    total: int


class ProductPage(PageInfo):
    items: list[ProductView]


class StaffProductPage(PageInfo):
    items: list[StaffProductView]


class ScanView(Struct):
    product: ProductView
    qr_payload: str
    marking: str | None
    """The marking to prefill: the code's own, else the product's."""
    spec: str


class GrantView(Struct):
    product_id: int
    sku: str
    customer_id: int
    created: bool
    visible_to_customer: bool


def _product_fields(p: Product, price: Decimal | None) -> dict[str, Any]:
    return dict(
        id=p.id,
        sku=p.sku,
        name=p.name,
        kind=p.kind.value,
        kind_label=labels.PRODUCT_KIND_LABELS[p.kind],
        unit=p.unit,
        price=_money(price),
        spec=spec_text(p),
        shape=p.shape,
        outer_diameter_mm=_money(p.outer_diameter_mm),
        thickness_mm=_money(p.thickness_mm),
        bore_mm=_money(p.bore_mm),
        abrasive=p.abrasive,
        grit=p.grit,
        hardness=p.hardness,
        bond=p.bond,
        max_speed_ms=_money(p.max_speed_ms),
        marking=p.marking,
        description=p.description,
    )


def product_view(priced: PricedProduct) -> ProductView:
    return ProductView(**_product_fields(priced.product, priced.price))


def staff_product_view(p: Product) -> StaffProductView:
    return StaffProductView(**_product_fields(p, p.price), active=p.active, erp_item_code=p.erp_item_code)


def product_page(page: Page[PricedProduct]) -> ProductPage:
    return ProductPage(
        page=page.page, page_size=page.page_size, total=page.total, items=[product_view(p) for p in page.items]
    )


def staff_product_page(page: Page[Product]) -> StaffProductPage:
    return StaffProductPage(
        page=page.page, page_size=page.page_size, total=page.total, items=[staff_product_view(p) for p in page.items]
    )


def scan_view(found: Scanned) -> ScanView:
    product = found.product.product
    return ScanView(
        product=product_view(found.product),
        qr_payload=found.qr.payload,
        marking=found.qr.marking or product.marking,
        spec=spec_text(product),
    )


def grant_view(grant: Grant) -> GrantView:
    return GrantView(
        product_id=grant.product.id,
        sku=grant.product.sku,
        customer_id=grant.customer.id,
        created=grant.created,
        visible_to_customer=grant.visible_to_customer,
    )


# --------------------------------------------------------------------------- notes


class NoteOut(Struct):
    id: int
    body: str
    author_id: int
    author: str | None
    created_at: str


def note_view(view: NoteView) -> NoteOut:
    n = view.note
    return NoteOut(id=n.id, body=n.body, author_id=n.author_id, author=view.author, created_at=n.created_at.isoformat())


# --------------------------------------------------------------------------- orders


class OrderSummary(Struct):
    order_no: str
    status: str
    status_label: str
    released: bool
    """Released to production (type 1 at once; type 2 once the payment is confirmed)."""
    status_hint: str | None
    """What to show beside the status, e.g. 等待业务员确认收款 until a type-2 order is released (C15)."""
    total_amount: str | None
    created_at: str


class OrderPage(PageInfo):
    items: list[OrderSummary]


class ShipTo(Struct):
    recipient: str = ""
    phone: str = ""
    province: str = ""
    city: str = ""
    district: str = ""
    detail: str = ""


class OrderLineView(Struct):
    line_no: int
    product_id: int | None
    sku: str
    name: str
    spec: str
    marking: str | None
    quantity: int
    shipped_quantity: int
    """How many of the line the ERP's shipments so far hold (partial shipments: shipped / quantity)."""
    unit: str
    unit_price: str | None
    amount: str | None


class ShippedLine(Struct):
    sku: str
    quantity: int


class ShipmentOut(Struct):
    courier: str | None
    tracking_no: str | None
    shipped_at: str
    lines: list[ShippedLine]


class TimelineEntry(Struct):
    at: str
    action: str
    status: str | None
    status_label: str | None
    by: str
    """Who: customer, sales, admin, erp or system."""
    action_label: str
    """The action in Chinese (提交订单, 状态更新, 确认收款，放行生产, 发货 …)."""
    by_label: str
    """Who, in Chinese (客户, 业务员, 管理员, 生产管理软件, 系统)."""


class OrderView(OrderSummary):
    ship_to: ShipTo
    remark: str | None
    erp_ref: str | None
    """The ERP's own number for the order, once it answered."""
    can_cancel: bool
    lines: list[OrderLineView]
    shipments: list[ShipmentOut]
    timeline: list[TimelineEntry]


class CustomerOrderView(OrderView):
    can_confirm_receipt: bool


class PlacedOrder(CustomerOrderView):
    created: bool
    """False when the same Idempotency-Key returned the order placed before."""


class StaffOrderCustomer(TypedCustomerRef):
    pass


class StaffOrderRow(OrderSummary):
    customer: StaffOrderCustomer
    awaiting_payment: bool


class StaffOrderPage(PageInfo):
    items: list[StaffOrderRow]


class StaffOrderView(OrderView):
    customer: StaffOrderCustomer
    awaiting_payment: bool
    can_release: bool
    released_at: str | None
    stock_check: str
    placed_by_staff_id: int | None
    notes: list[NoteOut]


def _summary_fields(o: Order) -> dict[str, Any]:
    return dict(
        order_no=o.order_no,
        status=o.status.value,
        status_label=labels.STATUS_LABELS[o.status],
        released=o.released,
        status_hint=status_hint(o),
        total_amount=_money(o.total_amount),
        created_at=o.created_at.isoformat(),
    )


def order_summary(o: Order) -> OrderSummary:
    return OrderSummary(**_summary_fields(o))


def order_page(page: Page[tuple[Order, Customer]]) -> OrderPage:
    return OrderPage(
        page=page.page, page_size=page.page_size, total=page.total, items=[order_summary(o) for o, _ in page.items]
    )


def _order_customer(c: Customer) -> StaffOrderCustomer:
    return StaffOrderCustomer(id=c.id, name=c.name, type=c.type)


def staff_order_page(page: Page[tuple[Order, Customer]]) -> StaffOrderPage:
    return StaffOrderPage(
        page=page.page,
        page_size=page.page_size,
        total=page.total,
        items=[
            StaffOrderRow(**_summary_fields(o), customer=_order_customer(c), awaiting_payment=awaits_payment(o))
            for o, c in page.items
        ],
    )


def _detail_fields(d: OrderDetails) -> dict[str, Any]:
    o = d.order
    ship_to = {k: str(v) for k, v in (o.ship_to or {}).items() if k in SHIP_TO_FIELDS and v is not None}
    return dict(
        **_summary_fields(o),
        ship_to=ShipTo(**ship_to),
        remark=o.remark,
        erp_ref=o.erp_ref,
        can_cancel=d.can_cancel,
        lines=[
            OrderLineView(
                line_no=x.line_no,
                product_id=x.product_id,
                sku=x.sku,
                name=x.name,
                spec=x.spec,
                marking=x.marking,
                quantity=x.quantity,
                shipped_quantity=d.shipped.get(x.id, 0),
                unit=x.unit,
                unit_price=_money(x.unit_price),
                amount=_money(x.amount),
            )
            for x in d.lines
        ],
        shipments=[
            ShipmentOut(
                courier=s.shipment.courier,
                tracking_no=s.shipment.tracking_no,
                shipped_at=s.shipment.shipped_at.isoformat(),
                lines=[ShippedLine(sku=x.sku, quantity=x.quantity) for x in s.lines],
            )
            for s in d.shipments
        ],
        timeline=[
            TimelineEntry(
                at=e.at.isoformat(),
                action=e.action,
                status=e.to_status.value if e.to_status else None,
                status_label=labels.STATUS_LABELS[e.to_status] if e.to_status else None,
                by=e.actor_kind.value,
                action_label=labels.TIMELINE_ACTION_LABELS.get(e.action, e.action),
                by_label=labels.ACTOR_LABELS.get(e.actor_kind.value, e.actor_kind.value),
            )
            for e in d.events
        ],
    )


def customer_order_view(d: OrderDetails) -> CustomerOrderView:
    return CustomerOrderView(**_detail_fields(d), can_confirm_receipt=d.can_confirm_receipt)


def placed_order_view(d: OrderDetails, created: bool) -> PlacedOrder:
    return PlacedOrder(**_detail_fields(d), can_confirm_receipt=d.can_confirm_receipt, created=created)


def staff_order_view(d: OrderDetails) -> StaffOrderView:
    o = d.order
    return StaffOrderView(
        **_detail_fields(d),
        customer=_order_customer(d.customer),
        awaiting_payment=awaits_payment(o),
        can_release=d.can_release,
        released_at=_at(o.released_at),
        stock_check=o.stock_check.value,
        placed_by_staff_id=o.placed_by_staff_id,
        notes=[note_view(n) for n in d.notes],
    )


class ReorderLineView(Struct):
    line_no: int
    """The line's number in the past order."""
    product: ProductView
    """The product today, ``price`` being the customer's price today."""
    quantity: int
    marking: str | None
    """The marking as ordered then: send it back as the line's ``marking``."""
    previous_unit_price: str
    """What one cost in the past order."""
    unit_price: str
    amount: str
    """``unit_price`` × ``quantity``, today."""


class DroppedLineView(Struct):
    line_no: int
    sku: str
    name: str
    quantity: int
    reason: str
    """gone (the product no longer exists), inactive (off sale), not_visible (no longer offered to you)."""
    reason_label: str


class ReorderView(Struct):
    """A past order's lines to put in the cart again (C14); nothing is ordered until the cart is
    confirmed through ``POST /orders`` with a new ``Idempotency-Key``."""

    order_no: str
    lines: list[ReorderLineView]
    dropped: list[DroppedLineView]
    total_amount: str
    """The sum of ``lines``' amounts at today's prices."""


def reorder_view(r: Reorder) -> ReorderView:
    return ReorderView(
        order_no=r.order_no,
        lines=[
            ReorderLineView(
                line_no=line.line_no,
                product=product_view(line.product),
                quantity=line.quantity,
                marking=line.marking,
                previous_unit_price=str(line.previous_unit_price),
                unit_price=str(line.product.price),
                amount=str(line.amount),
            )
            for line in r.lines
        ],
        dropped=[
            DroppedLineView(
                line_no=d.line_no,
                sku=d.sku,
                name=d.name,
                quantity=d.quantity,
                reason=d.reason.value,
                reason_label=labels.REORDER_DROP_LABELS[d.reason],
            )
            for d in r.dropped
        ],
        total_amount=str(r.total),
    )


# --------------------------------------------------------------------------- customers (staff)


class CustomerBase(Struct):
    id: int
    name: str
    type: int
    type_label: str
    phone: str | None
    contact_name: str | None
    erp_code: str | None
    """The ERP's code for the customer, once it answered."""
    salesperson_id: int | None
    salesperson: str | None
    created_at: str


class CustomerListItem(CustomerBase):
    accounts: int
    """Bound accounts."""
    orders: int


class CustomerPage(PageInfo):
    items: list[CustomerListItem]


class CustomerDetail(CustomerBase):
    accounts: list[StaffAccountView]
    addresses: list[AddressView]
    open_orders: int
    awaiting_payment_orders: int
    notes: list[NoteOut]


class ErpCodeSet(Struct):
    customer_id: int
    """The customer linked (the survivor, when an alias left by a merge was named)."""
    erp_code: str
    previous_erp_code: str | None
    changed: bool
    """False when the customer already had this code."""


class TypeChange(Struct):
    customer_id: int
    old_type: int
    type: int
    type_label: str
    changed: bool
    unreleased_open_orders: int
    """Orders placed before that still wait for a payment confirmation: they keep their rule."""
    notice: str | None


def _customer_fields(c: Customer, salesperson: str | None) -> dict[str, Any]:
    return dict(
        id=c.id,
        name=c.name,
        type=c.type,
        type_label=labels.CUSTOMER_TYPE_LABELS[c.type],
        phone=c.phone,
        contact_name=c.contact_name,
        erp_code=c.erp_code,
        salesperson_id=c.salesperson_id,
        salesperson=salesperson,
        created_at=c.created_at.isoformat(),
    )


def customer_page(page: Page[CustomerRow]) -> CustomerPage:
    return CustomerPage(
        page=page.page,
        page_size=page.page_size,
        total=page.total,
        items=[
            CustomerListItem(**_customer_fields(r.customer, r.salesperson), accounts=r.accounts, orders=r.orders)
            for r in page.items
        ],
    )


def customer_detail(view: CustomerOverview) -> CustomerDetail:
    return CustomerDetail(
        **_customer_fields(view.customer, view.salesperson),
        accounts=[
            StaffAccountView(
                id=a.id,
                phone=a.phone,
                wechat_bound=a.openid is not None,
                nickname=a.nickname,
                last_login_at=_at(a.last_login_at),
            )
            for a in view.accounts
        ],
        addresses=[address_view(a) for a in view.addresses],
        open_orders=view.open_orders,
        awaiting_payment_orders=view.awaiting_payment_orders,
        notes=[note_view(n) for n in view.notes],
    )


# --------------------------------------------------------------------------- inquiries


class InquiryCreated(Struct):
    id: int
    status: str
    created_at: str


class InquiryOut(Struct):
    id: int
    customer: CustomerRef
    body: str
    status: str
    status_label: str
    created_at: str
    handled_by_id: int | None
    handled_by: str | None
    handled_at: str | None
    answer: str | None
    """The staff's answer the customer reads (``/inquiries/{id}/answer``), or null."""
    answered_by_id: int | None
    answered_by: str | None
    answered_at: str | None


class InquiryPage(PageInfo):
    items: list[InquiryOut]


class MyInquiry(Struct):
    """One of the customer's own inquiries, with the salesperson's answer once given (C11)."""

    id: int
    body: str
    status: str
    status_label: str
    created_at: str
    answer: str | None
    answered_by: str | None
    """The display name of the salesperson (or admin) who answered."""
    answered_at: str | None


class MyInquiryPage(PageInfo):
    items: list[MyInquiry]


def inquiry_created(i: Inquiry) -> InquiryCreated:
    return InquiryCreated(id=i.id, status=i.status.value, created_at=i.created_at.isoformat())


def inquiry_view(v: InquiryView) -> InquiryOut:
    i = v.inquiry
    return InquiryOut(
        id=i.id,
        customer=CustomerRef(id=v.customer.id, name=v.customer.name),
        body=i.body,
        status=i.status.value,
        status_label=labels.INQUIRY_STATUS_LABELS[i.status],
        created_at=i.created_at.isoformat(),
        handled_by_id=i.handled_by_id,
        handled_by=v.handled_by,
        handled_at=_at(i.handled_at),
        answer=i.answer,
        answered_by_id=i.answered_by_id,
        answered_by=v.answered_by,
        answered_at=_at(i.answered_at),
    )


def inquiry_page(page: Page[InquiryView]) -> InquiryPage:
    return InquiryPage(
        page=page.page, page_size=page.page_size, total=page.total, items=[inquiry_view(v) for v in page.items]
    )


def my_inquiry_page(page: Page[InquiryView]) -> MyInquiryPage:
    return MyInquiryPage(
        page=page.page,
        page_size=page.page_size,
        total=page.total,
        items=[
            MyInquiry(
                id=v.inquiry.id,
                body=v.inquiry.body,
                status=v.inquiry.status.value,
                status_label=labels.INQUIRY_STATUS_LABELS[v.inquiry.status],
                created_at=v.inquiry.created_at.isoformat(),
                answer=v.inquiry.answer,
                answered_by=v.answered_by,
                answered_at=_at(v.inquiry.answered_at),
            )
            for v in page.items
        ],
    )


class NotificationOut(Struct):
    """A notice routed to a person (issue #15): through which channel, to which address, what it
    said and what became of it."""

    id: int
    kind: str
    kind_label: str
    channel: str
    channel_label: str
    to: str
    """The address: an e-mail address, a WeCom user id, an openid, ``group`` (the robot's group)."""
    recipient: str
    """Whom it is for, by name (the staff users it names, or the customer)."""
    text: str
    outcome: str
    """sent / not_consented (the customer did not accept the template) / waiting / failed"""
    outcome_label: str
    error: str | None
    created_at: str
    delivered_at: str | None


class NotificationPage(PageInfo):
    items: list[NotificationOut]


def notification_page(page: Page) -> NotificationPage:
    return NotificationPage(
        page=page.page,
        page_size=page.page_size,
        total=page.total,
        items=[
            NotificationOut(
                id=n.row.id,
                kind=n.row.kind,
                kind_label=labels.OUTBOX_KIND_LABELS.get(n.row.kind, n.row.kind),
                channel=n.channel,
                channel_label=labels.CHANNEL_LABELS.get(n.channel, n.channel),
                to=n.to,
                recipient=n.recipient,
                text=n.text,
                outcome=n.outcome,
                outcome_label=labels.NOTICE_OUTCOME_LABELS[n.outcome],
                error=n.error,
                created_at=n.row.created_at.isoformat(),
                delivered_at=n.row.delivered_at.isoformat() if n.row.delivered_at else None,
            )
            for n in page.items
        ],
    )


class NoticeQueued(Struct):
    """A notice written to the outbox (it goes out within seconds; see GET /notifications)."""

    notice_id: int
    kind: str
