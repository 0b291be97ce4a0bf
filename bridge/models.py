"""The bridge's data: every table of the shop's domain, in one place.

The bridge DB is the mini-program's source of truth (customers, accounts, catalog, orders);
the ERP is the source of truth for stock, production and shipping, which reach these tables
through the inbox. Rules live in their own modules (``orders``, ``statemachine``,
``visibility``, ``customers``, ``outbox``); this module only describes the rows.

Conventions: integer surrogate keys; times are UTC (``UTCDateTime``); money is exact
(``ExactDecimal``); enums are stored as their English code in a VARCHAR, labels are in ``labels``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

from bridge.types import ExactDecimal, UTCDateTime, utcnow

# Constraint names follow one convention so Alembic migrations name them the same on
# every database.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


AUTOINCREMENT = {"sqlite_autoincrement": True}
"""Table option of every table with an integer id: on SQLite an id is then never handed out twice,
even after the row with the highest one was deleted (without it SQLite reuses that rowid). Tokens,
links, file names and people name rows by id, so a reused id would point them at another row.
PostgreSQL's sequences never reuse an id anyway."""


def _enum(cls: type[enum.Enum]) -> sa.Enum:
    return sa.Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=24,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def _now_field(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, **kw)


# --------------------------------------------------------------------------- enums


class CustomerType(enum.IntEnum):
    """类型一: the ERP makes the production order at once; 类型二: payment is confirmed first."""

    TYPE_1 = 1
    TYPE_2 = 2


class StaffRole(str, enum.Enum):
    ADMIN = "admin"
    SALES = "sales"


class ProductKind(str, enum.Enum):
    STANDARD = "standard"  # 标准品
    CUSTOM = "custom"  # 定制品


class OrderStatus(str, enum.Enum):
    PENDING = "pending"  # 等待处理
    IN_PRODUCTION = "in_production"  # 生产中
    AWAITING_SHIPMENT = "awaiting_shipment"  # 等待发货
    SHIPPED = "shipped"  # 已发货
    COMPLETED = "completed"  # 已完成
    CANCELLED = "cancelled"  # 已取消


class StockCheck(str, enum.Enum):
    """What the stock check at placement found (C7)."""

    SUFFICIENT = "sufficient"
    INSUFFICIENT = "insufficient"
    UNKNOWN = "unknown"


class ActorKind(str, enum.Enum):
    CUSTOMER = "customer"
    SALES = "sales"
    ADMIN = "admin"
    ERP = "erp"
    SYSTEM = "system"


class OutboxStatus(str, enum.Enum):
    PENDING = "pending"  # waiting for (another) attempt
    DELIVERED = "delivered"
    DEAD = "dead"  # dead letter: permanent error or retry budget spent
    SUPERSEDED = "superseded"  # made pointless by a later change; kept for the record


class InboxStatus(str, enum.Enum):
    APPLIED = "applied"
    PARKED = "parked"  # refers to something the bridge does not know yet; retried
    IGNORED = "ignored"  # recorded but changed nothing (duplicate, backwards move)
    DEAD = "dead"
    QUARANTINED = "quarantined"  # malformed: kept with the reason


class InquiryStatus(str, enum.Enum):
    OPEN = "open"
    HANDLED = "handled"


# --------------------------------------------------------------------------- people


class StaffUser(SQLModel, table=True):
    """A salesperson (业务员) or admin who signs in to the admin pages / salesperson tools."""

    __tablename__ = "staff_user"
    __table_args__ = (AUTOINCREMENT,)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=64)
    role: StaffRole = Field(sa_type=_enum(StaffRole))
    password_hash: str = Field(max_length=255)
    phone: str | None = Field(default=None, max_length=32)
    wechat_id: str | None = Field(default=None, max_length=64)
    """WeChat / WeCom contact shown to the salesperson's customers (C3)."""
    wechat_openid: str | None = Field(default=None, max_length=64, unique=True)
    """The salesperson's own WeChat account, bound for later logins from the phone."""
    invite_code: str | None = Field(default=None, max_length=32, unique=True)
    """Code in the salesperson's share link: new customers who log in with it are theirs."""
    email: str | None = Field(default=None, max_length=254)
    """Where the e-mail channel reaches the user (notices, issue #15)."""
    wecom_userid: str | None = Field(default=None, max_length=64)
    """The user's WeCom (企业微信) user id, for the WeCom app channel."""
    notify_channels: list[str] | None = Field(default=None, sa_type=JSON)
    """The channels the user chose for notices; None: every configured one that reaches them."""
    active: bool = True
    created_at: datetime = _now_field()


class Customer(SQLModel, table=True):
    """A buying company (客户). After a merge the absorbed customer stays as an alias
    (``merged_into_id`` set) so old references still resolve."""

    __tablename__ = "customer"

    __table_args__ = (
        sa.CheckConstraint("type IN (1, 2)", name="type_1_or_2"),
        # S3: a phone number belongs to at most one customer (aliases left by a merge aside).
        sa.Index(
            "uq_customer_phone_active",
            "phone",
            unique=True,
            postgresql_where=sa.text("merged_into_id IS NULL"),
            sqlite_where=sa.text("merged_into_id IS NULL"),
        ),
        AUTOINCREMENT,
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128)
    type: int = Field(default=CustomerType.TYPE_2.value, sa_type=sa.SmallInteger)
    """1 or 2, see ``CustomerType``."""
    salesperson_id: int | None = Field(default=None, foreign_key="staff_user.id", index=True)
    erp_code: str | None = Field(default=None, max_length=64, unique=True)
    """The customer's code in the ERP's customer master, once the ERP has one."""
    contact_name: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    """Main phone registered by a salesperson, normalised (``customers.normalize_phone``); a WeChat
    user binding it joins this customer. Unique among customers that are not aliases."""
    merged_into_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    merged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _now_field()
    updated_at: datetime = _now_field()


class Account(SQLModel, table=True):
    """A WeChat user or bound phone number through which a customer orders (C10)."""

    __tablename__ = "account"
    __table_args__ = (AUTOINCREMENT,)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    openid: str | None = Field(default=None, max_length=64, unique=True)
    unionid: str | None = Field(default=None, max_length=64, index=True)
    phone: str | None = Field(default=None, max_length=32, unique=True)
    nickname: str | None = Field(default=None, max_length=64)
    created_at: datetime = _now_field()
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    unbound_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """Set when the account was unbound (C10): the row stays, because orders and inquiries name
    the account that placed them, but its openid and phone are released and it signs in no more."""


class AuthSession(SQLModel, table=True):
    """One sign-in of a customer's account or a staff user: every token the bridge issues names
    its session, and a token is good only while its session is. Ending the session (logout,
    unbinding, deactivation, password reset, a refresh token used twice) ends its tokens at once.

    ``refresh_jti`` is the one refresh token of the session that may be used next: each refresh
    hands out a new one (rotation), and presenting an older one ends the session (reuse)."""

    __tablename__ = "auth_session"
    __table_args__ = (sa.CheckConstraint("(account_id IS NULL) <> (staff_id IS NULL)", name="one_subject"),)

    id: str = Field(max_length=32, primary_key=True)
    """Random (128 bits), never reused: the ``sid`` of the session's tokens."""
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff_user.id", index=True)
    refresh_jti: str = Field(max_length=32)
    previous_jti: str | None = Field(default=None, max_length=32)
    """The refresh token rotated away last: taken again only within a short grace (a retry)."""
    created_at: datetime = _now_field()
    refreshed_at: datetime = _now_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    """When the session lapses unless refreshed before (each refresh moves it on)."""
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=64)
    client: str | None = Field(default=None, max_length=64)
    """Where the sign-in came from (address), for people looking at sessions."""


class LoginFailure(SQLModel, table=True):
    """A wrong password (or unknown username) at a staff login, kept 15 minutes: the login
    limits of ``webapi.auth.LoginLimiter`` count them here, so that every API replica behind a
    proxy sees the same guesses at a username. Never the password."""

    __tablename__ = "login_failure"
    __table_args__ = (sa.Index("ix_login_failure_username_at", "username", "at"), AUTOINCREMENT)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    """As typed, lowercased (cut at 64 characters): the same for every replica."""
    address: str = Field(max_length=64)
    """The caller's address (behind a trusted proxy, the one it saw)."""
    at: datetime = Field(sa_type=UTCDateTime, index=True)


class Address(SQLModel, table=True):
    """A delivery address kept for a customer (C13)."""

    __tablename__ = "address"
    __table_args__ = (AUTOINCREMENT,)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    recipient: str = Field(max_length=64)
    phone: str = Field(max_length=32)
    province: str = Field(default="", max_length=32)
    city: str = Field(default="", max_length=32)
    district: str = Field(default="", max_length=32)
    detail: str = Field(max_length=255)
    is_default: bool = False
    deleted: bool = False
    """Deleted addresses are kept: orders point at them through their own ship-to copy."""
    created_at: datetime = _now_field()


# --------------------------------------------------------------------------- catalog


class Product(SQLModel, table=True):
    """A grinding wheel (or other item) in the shop's catalog, with its spec."""

    __tablename__ = "product"
    __table_args__ = (AUTOINCREMENT,)

    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(max_length=64, unique=True)
    """The shop's product code; also what customers search by."""
    erp_item_code: str | None = Field(default=None, max_length=64, index=True)
    name: str = Field(max_length=128)
    kind: ProductKind = Field(default=ProductKind.STANDARD, sa_type=_enum(ProductKind), index=True)
    unit: str = Field(default="片", max_length=16)
    price: Decimal = Field(default=Decimal("0.00"), sa_type=ExactDecimal)
    # The grinding-wheel spec (GB/T 2484 style): shape, D × T × H, abrasive, grit, grade, bond.
    shape: str | None = Field(default=None, max_length=32)
    """Shape code and name, e.g. "1 平形砂轮"."""
    outer_diameter_mm: Decimal | None = Field(default=None, sa_type=ExactDecimal(10, 2))
    thickness_mm: Decimal | None = Field(default=None, sa_type=ExactDecimal(10, 2))
    bore_mm: Decimal | None = Field(default=None, sa_type=ExactDecimal(10, 2))
    abrasive: str | None = Field(default=None, max_length=32)
    """e.g. A (棕刚玉), WA (白刚玉), GC (绿碳化硅)."""
    grit: str | None = Field(default=None, max_length=16)
    hardness: str | None = Field(default=None, max_length=8)
    bond: str | None = Field(default=None, max_length=16)
    """V (陶瓷), B (树脂), R (橡胶)…"""
    max_speed_ms: Decimal | None = Field(default=None, sa_type=ExactDecimal(8, 1))
    """Maximum working speed, m/s."""
    marking: str | None = Field(default=None, max_length=128)
    """The marking printed on the wheel, e.g. "1-400×50×127-WA60K5V-35m/s"."""
    description: str | None = Field(default=None, max_length=2000)
    active: bool = True
    """Inactive products are invisible to every customer but keep their order history."""
    created_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    """The staff user who created it in the bridge (None: imported or demo data). A salesperson
    sees a custom product they made, or one granted to one of their customers (``scope``)."""
    created_at: datetime = _now_field()
    updated_at: datetime = _now_field()


class ProductGrant(SQLModel, table=True):
    """A custom product made visible to one customer, or to every customer of one type (A3)."""

    __tablename__ = "product_grant"
    __table_args__ = (
        sa.UniqueConstraint("product_id", "customer_id"),
        sa.UniqueConstraint("product_id", "customer_type"),
        sa.CheckConstraint("(customer_id IS NULL) <> (customer_type IS NULL)", name="one_grantee"),
        AUTOINCREMENT,
    )

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    customer_type: int | None = Field(default=None, sa_type=sa.SmallInteger)
    created_at: datetime = _now_field()


class ProductHide(SQLModel, table=True):
    """A product hidden from one customer: it then does not exist for them (C2)."""

    __tablename__ = "product_hide"
    __table_args__ = (sa.UniqueConstraint("product_id", "customer_id"), AUTOINCREMENT)

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    created_at: datetime = _now_field()


class CustomerPrice(SQLModel, table=True):
    """A price agreed for one customer, or for a customer type, overriding the list price (A9)."""

    __tablename__ = "customer_price"
    __table_args__ = (
        sa.UniqueConstraint("product_id", "customer_id"),
        sa.UniqueConstraint("product_id", "customer_type"),
        sa.CheckConstraint("(customer_id IS NULL) <> (customer_type IS NULL)", name="one_grantee"),
        AUTOINCREMENT,
    )

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    customer_type: int | None = Field(default=None, sa_type=sa.SmallInteger)
    price: Decimal = Field(sa_type=ExactDecimal)


class ProductQR(SQLModel, table=True):
    """The unique text a packaging QR code carries, tied to one product spec (A4, C4)."""

    __tablename__ = "product_qr"
    __table_args__ = (AUTOINCREMENT,)

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    payload: str = Field(max_length=512, unique=True)
    marking: str | None = Field(default=None, max_length=128)
    """Marking to prefill when this code is scanned, if it differs from the product's."""
    created_at: datetime = _now_field()


class StockSnapshot(SQLModel, table=True):
    """Last stock figure the ERP gave for an item (from the inbox or a live query)."""

    __tablename__ = "stock_snapshot"

    sku: str = Field(max_length=64, primary_key=True)
    quantity: Decimal = Field(sa_type=ExactDecimal(14, 3))
    as_of: datetime = _now_field()


# --------------------------------------------------------------------------- orders


class Order(SQLModel, table=True):
    """A customer's order. ``status`` is changed only through ``bridge.statemachine``."""

    __tablename__ = "orders"
    __table_args__ = (
        sa.UniqueConstraint("customer_id", "idempotency_key"),
        # A customer's orders by time: the order-rate limit counts them at every placement, and
        # their order lists read them newest first (the leading column serves customer_id alone).
        sa.Index("ix_orders_customer_created", "customer_id", "created_at"),
        AUTOINCREMENT,
    )

    id: int | None = Field(default=None, primary_key=True)
    order_no: str = Field(max_length=32, unique=True)
    """Human-readable, unique, the key the ERP dedupes on: JHT-20261125-0001."""
    customer_id: int = Field(foreign_key="customer.id")
    account_id: int | None = Field(default=None, foreign_key="account.id")
    placed_by_staff_id: int | None = Field(default=None, foreign_key="staff_user.id")
    status: OrderStatus = Field(sa_type=_enum(OrderStatus), index=True)
    released: bool = False
    """Type 2: the salesperson (or the ERP) confirmed payment. Type 1: true from the start."""
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    stock_check: StockCheck = Field(default=StockCheck.UNKNOWN, sa_type=_enum(StockCheck))
    stock_source: str = Field(default="none", max_length=16)
    """Where the stock answer came from: live, snapshot or none."""
    idempotency_key: str = Field(max_length=128)
    request_hash: str = Field(max_length=64)
    """Hash of the placement request, to refuse a reused key with a different order."""
    ship_to: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    """Copy of the delivery address at placement: later address edits don't change it."""
    address_id: int | None = Field(default=None, foreign_key="address.id")
    remark: str = Field(default="", max_length=2000)
    total_amount: Decimal = Field(default=Decimal("0.00"), sa_type=ExactDecimal)
    erp_ref: str | None = Field(default=None, max_length=64)
    """The ERP's own order number, once known."""
    created_at: datetime = _now_field(index=True)
    updated_at: datetime = _now_field()


class OrderLine(SQLModel, table=True):
    """One product of an order, with the price and spec as they were when ordered."""

    __tablename__ = "order_line"
    __table_args__ = (sa.UniqueConstraint("order_id", "line_no"), AUTOINCREMENT)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    line_no: int
    product_id: int = Field(foreign_key="product.id")
    sku: str = Field(max_length=64)
    erp_item_code: str | None = Field(default=None, max_length=64)
    name: str = Field(max_length=128)
    spec: str = Field(default="", max_length=255)
    marking: str | None = Field(default=None, max_length=128)
    unit: str = Field(max_length=16)
    quantity: int
    unit_price: Decimal = Field(sa_type=ExactDecimal)
    amount: Decimal = Field(sa_type=ExactDecimal)
    qr_payload: str | None = Field(default=None, max_length=512)


class OrderEvent(SQLModel, table=True):
    """The order's timeline: every status change, release and refusal worth showing."""

    __tablename__ = "order_event"
    __table_args__ = (AUTOINCREMENT,)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    at: datetime = _now_field()
    actor_kind: ActorKind = Field(sa_type=_enum(ActorKind))
    actor_id: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=32)
    """placed, status, release, cancel, complete, shipment, ignored…"""
    from_status: OrderStatus | None = Field(default=None, sa_type=_enum(OrderStatus))
    to_status: OrderStatus | None = Field(default=None, sa_type=_enum(OrderStatus))
    note: str | None = Field(default=None, max_length=500)
    data: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class Shipment(SQLModel, table=True):
    """One shipment of an order, reported by the ERP (several per order are normal, C8)."""

    __tablename__ = "shipment"
    __table_args__ = (sa.UniqueConstraint("order_id", "erp_shipment_id"), AUTOINCREMENT)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    erp_shipment_id: str = Field(max_length=64)
    courier: str | None = Field(default=None, max_length=64)
    tracking_no: str | None = Field(default=None, max_length=64)
    shipped_at: datetime = _now_field()
    created_at: datetime = _now_field()


class ShipmentLine(SQLModel, table=True):
    __tablename__ = "shipment_line"
    __table_args__ = (AUTOINCREMENT,)

    id: int | None = Field(default=None, primary_key=True)
    shipment_id: int = Field(foreign_key="shipment.id", index=True)
    order_line_id: int | None = Field(default=None, foreign_key="order_line.id")
    sku: str = Field(max_length=64)
    quantity: int


class Sequence(SQLModel, table=True):
    """Named counters (order numbers per day)."""

    __tablename__ = "sequence"

    name: str = Field(max_length=64, primary_key=True)
    value: int = 0


# --------------------------------------------------------------------------- sync


class OutboxMessage(SQLModel, table=True):
    """A message to the ERP or a notification, written in the transaction that caused it.

    Delivered in ``id`` order per ``ordering_key`` (the customer) by the dispatcher."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_due", "status", "next_attempt_at"),
        # "Is an earlier message of this customer still pending?", asked for every candidate by
        # the claim: without it the claim is quadratic in a backlog when PostgreSQL's statistics
        # are stale (after an ERP outage, before autovacuum): 1.75 s per claim at 4000 waiting.
        sa.Index(
            "ix_outbox_pending_line",
            "target",
            "ordering_key",
            "id",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
        AUTOINCREMENT,
    )

    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(max_length=16)
    """erp (the connector) or notify (WeChat / salesperson reminders)."""
    kind: str = Field(max_length=32)
    """customer.upsert, customer.merge, order.create, order.release, order.cancel,
    order.complete, notify.new_order, notify.shipment…"""
    ordering_key: str = Field(max_length=64, index=True)
    aggregate_type: str = Field(max_length=16)
    aggregate_id: str = Field(max_length=64, index=True)
    payload: dict[str, Any] = Field(sa_type=JSON)
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=_enum(OutboxStatus))
    attempts: int = 0
    next_attempt_at: datetime = _now_field()
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    leased_by: str | None = Field(default=None, max_length=64)
    last_error: str | None = Field(default=None, max_length=4000)
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_at: datetime = _now_field()
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class InboxEvent(SQLModel, table=True):
    """An event pulled from the ERP, kept once per (connector, event id)."""

    __tablename__ = "inbox"
    __table_args__ = (sa.UniqueConstraint("connector", "event_id"), AUTOINCREMENT)

    id: int | None = Field(default=None, primary_key=True)
    connector: str = Field(max_length=32)
    event_id: str = Field(max_length=128)
    kind: str = Field(max_length=32)
    payload: dict[str, Any] = Field(sa_type=JSON)
    status: InboxStatus = Field(sa_type=_enum(InboxStatus), index=True)
    attempts: int = 0
    """How often applying it was tried (parked events are tried again)."""
    error: str | None = Field(default=None, max_length=4000)
    """Why it was parked, ignored, quarantined or dead."""
    source: str | None = Field(default=None, max_length=255)
    """Where it came from, for people: a file name, a table row."""
    received_at: datetime = _now_field()
    applied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """When a parked event is tried again."""


class SyncCursor(SQLModel, table=True):
    """Where a connector's event stream was last read up to."""

    __tablename__ = "sync_cursor"

    connector: str = Field(max_length=32, primary_key=True)
    stream: str = Field(max_length=32, primary_key=True)
    value: str = Field(max_length=512)
    updated_at: datetime = _now_field()


class ErpBinding(SQLModel, table=True):
    """An external id in one ERP for one of our records (customer, order, product)."""

    __tablename__ = "erp_binding"
    __table_args__ = (
        sa.UniqueConstraint("connector", "entity", "external_id"),
        sa.UniqueConstraint("connector", "entity", "internal_id"),
        AUTOINCREMENT,
    )

    id: int | None = Field(default=None, primary_key=True)
    connector: str = Field(max_length=32)
    entity: str = Field(max_length=16)
    internal_id: int
    external_id: str = Field(max_length=64)
    created_at: datetime = _now_field()


# --------------------------------------------------------------------------- follow-up


class AuditLog(SQLModel, table=True):
    """Who did what to which record: merges, type changes, grants, imports, user changes."""

    __tablename__ = "audit_log"
    __table_args__ = (AUTOINCREMENT,)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _now_field(index=True)
    actor_kind: ActorKind = Field(sa_type=_enum(ActorKind))
    actor_id: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=48, index=True)
    entity: str = Field(max_length=24)
    entity_id: str = Field(max_length=64)
    detail: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class Note(SQLModel, table=True):
    """A salesperson's note on a customer or an order (A6)."""

    __tablename__ = "note"
    __table_args__ = (AUTOINCREMENT,)

    id: int | None = Field(default=None, primary_key=True)
    author_id: int = Field(foreign_key="staff_user.id")
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    order_id: int | None = Field(default=None, foreign_key="orders.id", index=True)
    body: str = Field(max_length=2000)
    created_at: datetime = _now_field()


class Inquiry(SQLModel, table=True):
    """A customer's custom-product inquiry, for their salesperson to follow up (C11)."""

    __tablename__ = "inquiry"
    __table_args__ = (AUTOINCREMENT,)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    account_id: int | None = Field(default=None, foreign_key="account.id")
    body: str = Field(max_length=2000)
    status: InquiryStatus = Field(default=InquiryStatus.OPEN, sa_type=_enum(InquiryStatus))
    handled_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answer: str | None = Field(default=None, max_length=2000)
    """The staff's answer, which the customer reads in the mini-program (C11); answering marks
    the inquiry handled."""
    answered_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _now_field()


metadata = SQLModel.metadata
