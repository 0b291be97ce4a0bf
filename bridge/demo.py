"""Demo data: a small, realistic grinding-wheel shop to try the bridge with (``jht-bridge demo-data``).

About twenty standard wheels with GB/T 2484 / GB/T 4127 style specs and markings
("1-400×50×127-WA60K5V-35m/s"), three custom products each granted to one customer, a
salesperson and an admin who can log in, two customers of each type with a delivery address,
one hidden product, customer prices and a packaging QR code per standard product.

Loading is idempotent: what already exists (by sku, username, customer name, or the natural key
of a grant, price, address or QR code) is left as it is and counted as "already there".

Customers are inserted as plain rows on purpose: demo customers need no ERP sync, and the
demo must not depend on the customer rules evolving in ``bridge.customers``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote

from sqlalchemy import func
from sqlmodel import Session, select

from bridge.actors import Actor, audit
from bridge.customers import create_customer, resolve_customer
from bridge.errors import Conflict
from bridge.models import (
    Address,
    AuditLog,
    Customer,
    CustomerPrice,
    CustomerType,
    Order,
    Product,
    ProductGrant,
    ProductHide,
    ProductKind,
    ProductQR,
    StaffRole,
    StaffUser,
)
from bridge.products import shop_qr_payload
from bridge.users import add_user, verify_password

# --------------------------------------------------------------------------- the data

SHAPES = {
    1: "1 平形砂轮",
    4: "4 双斜边砂轮",
    6: "6 筒形砂轮",
    11: "11 碗形砂轮",
    12: "12 碟形砂轮",
    27: "27 钹形砂轮",
    41: "41 薄片砂轮",
}
ABRASIVES = {"A": "A 棕刚玉", "WA": "WA 白刚玉", "PA": "PA 铬刚玉", "GC": "GC 绿碳化硅", "C": "C 黑碳化硅"}
BONDS = {"V": "V 陶瓷", "B": "B 树脂", "BF": "BF 增强树脂"}


@dataclass(frozen=True)
class Wheel:
    """One wheel spec; the sku, marking and spec fields are derived from it."""

    name: str
    shape: int
    size: tuple[str, str, str]  # D × T × H in mm, as printed
    abrasive: str
    grit: int
    hardness: str
    structure: str  # organisation number; cut-off and grinding discs have none
    bond: str
    speed: int  # m/s
    price: str
    use: str

    @property
    def sku(self) -> str:
        d, t, h = self.size
        return f"{self.shape}-{d}x{t}x{h}-{self.abrasive}{self.grit}{self.hardness}"

    @property
    def marking(self) -> str:
        d, t, h = self.size
        return f"{self.shape}-{d}×{t}×{h}-{self.abrasive}{self.grit}{self.hardness}{self.structure}{self.bond}-{self.speed}m/s"

    def fields(self) -> dict:
        d, t, h = self.size
        return {
            "sku": self.sku,
            "name": self.name,
            "shape": SHAPES[self.shape],
            "outer_diameter_mm": Decimal(d),
            "thickness_mm": Decimal(t),
            "bore_mm": Decimal(h),
            "abrasive": ABRASIVES[self.abrasive],
            "grit": f"F{self.grit}",
            "hardness": self.hardness,
            "bond": BONDS[self.bond],
            "max_speed_ms": Decimal(self.speed),
            "marking": self.marking,
            "price": Decimal(self.price),
            "unit": "片",
            "description": self.use,
        }


STANDARD_WHEELS = (
    Wheel(
        "白刚玉平形砂轮 400×50×127",
        1,
        ("400", "50", "127"),
        "WA",
        60,
        "K",
        "5",
        "V",
        35,
        "168.00",
        "淬火钢、高速钢工件的外圆磨和平面磨",
    ),
    Wheel(
        "棕刚玉平形砂轮 300×40×75",
        1,
        ("300", "40", "75"),
        "A",
        46,
        "L",
        "5",
        "V",
        35,
        "78.00",
        "碳钢、合金钢的粗磨和荒磨",
    ),
    Wheel(
        "铬刚玉平形砂轮 350×40×127",
        1,
        ("350", "40", "127"),
        "PA",
        80,
        "K",
        "5",
        "V",
        35,
        "136.00",
        "量具、刃具和精密零件磨削",
    ),
    Wheel(
        "绿碳化硅平形砂轮 200×25×32", 1, ("200", "25", "32"), "GC", 80, "K", "5", "V", 35, "46.00", "硬质合金刀具刃磨"
    ),
    Wheel(
        "黑碳化硅平形砂轮 250×25×32",
        1,
        ("250", "25", "32"),
        "C",
        36,
        "M",
        "5",
        "V",
        35,
        "42.00",
        "铸铁、有色金属和非金属磨削",
    ),
    Wheel(
        "白刚玉高速平形砂轮 400×40×203",
        1,
        ("400", "40", "203"),
        "WA",
        100,
        "K",
        "5",
        "V",
        50,
        "215.00",
        "外圆磨床高速磨削",
    ),
    Wheel(
        "白刚玉细粒度平形砂轮 150×20×32", 1, ("150", "20", "32"), "WA", 120, "H", "6", "V", 35, "19.80", "工具磨床精磨"
    ),
    Wheel(
        "棕刚玉树脂平形砂轮 300×40×127",
        1,
        ("300", "40", "127"),
        "A",
        24,
        "N",
        "6",
        "B",
        50,
        "88.00",
        "钢坯、铸件清理打磨",
    ),
    Wheel("白刚玉双斜边砂轮 250×25×75", 4, ("250", "25", "75"), "WA", 80, "K", "5", "V", 35, "96.00", "螺纹、齿轮磨削"),
    Wheel(
        "棕刚玉筒形砂轮 100×50×20", 6, ("100", "50", "20"), "A", 46, "K", "5", "V", 35, "36.00", "立轴平面磨床端面磨削"
    ),
    Wheel("白刚玉筒形砂轮 150×80×32", 6, ("150", "80", "32"), "WA", 60, "J", "5", "V", 35, "72.00", "淬火件端面磨削"),
    Wheel(
        "棕刚玉碗形砂轮 100×35×20", 11, ("100", "35", "20"), "A", 46, "K", "5", "V", 35, "18.50", "刀具刃磨、导轨磨削"
    ),
    Wheel("白刚玉碗形砂轮 150×50×32", 11, ("150", "50", "32"), "WA", 60, "K", "5", "V", 35, "42.00", "高速钢刀具刃磨"),
    Wheel(
        "白刚玉碟形砂轮 150×16×32",
        12,
        ("150", "16", "32"),
        "WA",
        60,
        "K",
        "5",
        "V",
        35,
        "28.00",
        "铣刀、铰刀前刀面刃磨",
    ),
    Wheel("铬刚玉碟形砂轮 200×20×32", 12, ("200", "20", "32"), "PA", 80, "K", "5", "V", 35, "52.00", "齿轮刀具刃磨"),
    Wheel(
        "不锈钢切割片 105×1.2×16",
        41,
        ("105", "1.2", "16"),
        "A",
        60,
        "N",
        "",
        "BF",
        80,
        "1.20",
        "角磨机切割不锈钢薄板、管材",
    ),
    Wheel(
        "金属切割片 125×1.6×22.23",
        41,
        ("125", "1.6", "22.23"),
        "A",
        46,
        "N",
        "",
        "BF",
        80,
        "2.10",
        "角磨机切割碳钢、不锈钢",
    ),
    Wheel(
        "型材切割片 350×3×25.4",
        41,
        ("350", "3", "25.4"),
        "A",
        30,
        "N",
        "",
        "BF",
        80,
        "15.80",
        "型材切割机切割钢管、角钢",
    ),
    Wheel(
        "型材切割片 400×3.2×32",
        41,
        ("400", "3.2", "32"),
        "A",
        24,
        "N",
        "",
        "BF",
        80,
        "23.50",
        "大型切割机切割圆钢、槽钢",
    ),
    Wheel("角磨片 100×6×16", 27, ("100", "6", "16"), "A", 24, "N", "", "BF", 80, "2.80", "焊缝打磨、去毛刺"),
    Wheel("角磨片 125×6×22.23", 27, ("125", "6", "22.23"), "A", 30, "N", "", "BF", 80, "4.50", "焊缝打磨、铸件修整"),
    Wheel("角磨片 180×6×22.23", 27, ("180", "6", "22.23"), "A", 24, "N", "", "BF", 80, "7.80", "大面积打磨、坡口加工"),
)

# Custom wheels, each made for (and granted to) one customer, named by customer key.
CUSTOM_WHEELS = (
    (
        "hengda",
        "C-HD-610x75x304.8",
        Wheel(
            "恒达专用 轧辊磨平形砂轮 610×75×304.8",
            1,
            ("610", "75", "304.8"),
            "A",
            46,
            "K",
            "5",
            "V",
            35,
            "1280.00",
            "按恒达轧辊磨床定制，每批附检测报告",
        ),
    ),
    (
        "yongxing",
        "C-YX-125x50x32",
        Wheel(
            "永兴轴承专用 碗形砂轮 125×50×32",
            11,
            ("125", "50", "32"),
            "WA",
            80,
            "J",
            "6",
            "V",
            35,
            "58.00",
            "轴承套圈端面磨削，按来样定制",
        ),
    ),
    (
        "desheng",
        "C-DS-355x3x25.4",
        Wheel(
            "德胜定制 切割片 355×3×25.4（贴牌印刷）",
            41,
            ("355", "3", "25.4"),
            "A",
            36,
            "N",
            "",
            "BF",
            80,
            "16.50",
            "德胜商标贴牌，单独包装",
        ),
    ),
)


@dataclass(frozen=True)
class DemoCustomer:
    key: str
    name: str
    type: CustomerType
    contact: str
    phone: str
    address: tuple[str, str, str, str]  # province, city, district, detail


CUSTOMERS = (
    DemoCustomer(
        "hengda",
        "佛山市南海区恒达五金机械厂",
        CustomerType.TYPE_1,
        "陈国强",
        "13800138001",
        ("广东省", "佛山市", "南海区", "狮山镇科技工业园北区科技路18号"),
    ),
    DemoCustomer(
        "jinggong",
        "东莞市长安镇精工模具有限公司",
        CustomerType.TYPE_1,
        "李文华",
        "13800138002",
        ("广东省", "东莞市", "长安镇", "乌沙社区兴发南路66号"),
    ),
    DemoCustomer(
        "yongxing",
        "宁波市鄞州区永兴轴承有限公司",
        CustomerType.TYPE_2,
        "王建军",
        "13800138003",
        ("浙江省", "宁波市", "鄞州区", "姜山镇工业区明光北路299号"),
    ),
    DemoCustomer(
        "desheng",
        "苏州工业园区德胜精密机械有限公司",
        CustomerType.TYPE_2,
        "刘海燕",
        "13800138004",
        ("江苏省", "苏州市", "苏州工业园区", "星龙街428号"),
    ),
)

HIDDEN = ("yongxing", "1-350x40x127-PA80K")
"""A standard wheel this customer must not see (their competitor's speciality, say)."""
CUSTOMER_PRICES = (("hengda", "41-105x1.2x16-A60N", "1.05"), ("hengda", "27-100x6x16-A24N", "2.50"))
"""A volume customer's agreed prices (A9)."""

SALES_LOGIN = ("sales", "demo-sales-123")
ADMIN_LOGIN = ("admin", "demo-admin-123")
DEMO_LOGINS = (SALES_LOGIN, ADMIN_LOGIN)
"""Every demo (username, password). The passwords are public on purpose (in this source, and
printed by ``jht-bridge demo-data``), so ``jht-bridge check`` warns while any of them still opens
its active account."""


def qr_payload(index: int, sku: str) -> str:
    """The text on a wheel's packaging QR code: mostly the compact form, every fourth one the
    URL form WeChat's own scanner can open (both are what real packaging carries)."""
    if index % 4 == 3:
        return f"https://jht.example/q?c={quote(sku, safe='')}"
    return shop_qr_payload(sku)


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: StaffRole
    display_name: str
    password: str | None
    """The demo password, or None when the user existed before with another password."""


@dataclass
class DemoSummary:
    """What ``load_demo_data`` created and what was already there, per kind of record."""

    created: Counter = field(default_factory=Counter)
    existing: Counter = field(default_factory=Counter)
    logins: list[DemoLogin] = field(default_factory=list)

    KINDS = (
        "staff users",
        "customers",
        "addresses",
        "standard products",
        "custom products",
        "grants",
        "hidden products",
        "customer prices",
        "QR codes",
    )

    def _count(self, kind: str, created: bool) -> None:
        (self.created if created else self.existing)[kind] += 1

    def as_dict(self) -> dict:
        return {"created": dict(self.created), "existing": dict(self.existing)}


def load_demo_data(session: Session, actor: Actor, *, force: bool = False) -> DemoSummary:
    """Add the demo shop to the database in the caller's transaction (idempotent).

    Refuses (``Conflict``) a database that holds real data — products, customers or orders but
    no earlier demo load — unless ``force``: the demo logins have published passwords."""
    if not force:
        _refuse_real_data(session)
    summary = DemoSummary()
    sales = _staff(session, actor, summary, *SALES_LOGIN, StaffRole.SALES, "张伟", "13900139000", "zhangwei_jht")
    _staff(session, actor, summary, *ADMIN_LOGIN, StaffRole.ADMIN, "管理员", None, None)

    customers = {c.key: _customer(session, actor, summary, c, sales) for c in CUSTOMERS}
    standard = {}
    for n, wheel in enumerate(STANDARD_WHEELS, start=1):
        standard[wheel.sku] = _product(
            session, summary, "standard products", ProductKind.STANDARD, wheel.fields(), f"01.{wheel.shape:02d}.{n:04d}"
        )
    for n, (customer_key, sku, wheel) in enumerate(CUSTOM_WHEELS, start=1):
        product = _product(
            session, summary, "custom products", ProductKind.CUSTOM, {**wheel.fields(), "sku": sku}, f"02.00.{n:04d}"
        )
        _once(session, summary, "grants", ProductGrant, product_id=product.id, customer_id=customers[customer_key].id)

    customer_key, sku = HIDDEN
    _once(
        session,
        summary,
        "hidden products",
        ProductHide,
        product_id=standard[sku].id,
        customer_id=customers[customer_key].id,
    )
    for customer_key, sku, price in CUSTOMER_PRICES:
        _once(
            session,
            summary,
            "customer prices",
            CustomerPrice,
            {"price": Decimal(price)},
            product_id=standard[sku].id,
            customer_id=customers[customer_key].id,
        )
    for index, (sku, product) in enumerate(standard.items()):
        _once(session, summary, "QR codes", ProductQR, {"product_id": product.id}, payload=qr_payload(index, sku))

    session.flush()
    audit(session, actor, "demo.load", "demo", "demo", summary.as_dict())
    return summary


def _refuse_real_data(session: Session) -> None:
    loaded_before = session.exec(select(AuditLog.id).where(AuditLog.action == "demo.load").limit(1)).first()
    if loaded_before is not None:
        return
    for model, what in ((Product, "products"), (Customer, "customers"), (Order, "orders")):
        if session.exec(select(func.count()).select_from(model)).one():
            raise Conflict(
                "数据库中已有真实数据，演示数据只用于空数据库",
                f"the database already has {what} and no earlier demo load: demo data (with published "
                "demo passwords) is meant for an empty database; use --force to add it anyway",
            )


def _staff(session, actor, summary, username, password, role, display_name, phone, wechat_id) -> StaffUser:
    user = session.exec(select(StaffUser).where(StaffUser.username == username)).first()
    summary._count("staff users", user is None)
    if user is None:
        user = add_user(
            session,
            actor,
            username=username,
            password=password,
            role=role,
            display_name=display_name,
            phone=phone,
            wechat_id=wechat_id,
        )
        known: str | None = password
    else:
        # Only announce the demo password if it really opens this existing account.
        known = password if verify_password(user.password_hash, password) else None
    summary.logins.append(DemoLogin(user.username, user.role, user.display_name, known))
    return user


def _customer(session, actor, summary, demo: DemoCustomer, sales: StaffUser) -> Customer:
    customer = session.exec(select(Customer).where(Customer.name == demo.name).order_by(Customer.id)).first()
    if customer is not None:
        # A merged customer lives on as an alias: the demo's rows belong to the survivor.
        customer = resolve_customer(session, customer.id)
    summary._count("customers", customer is None)
    if customer is None:
        # Through the one place that creates customers, so the ERP hears of them (E4).
        customer = create_customer(
            session,
            actor,
            name=demo.name,
            type=int(demo.type),
            salesperson_id=sales.id,
            contact_name=demo.contact,
            phone=demo.phone,
        )
    province, city, district, detail = demo.address
    _once(
        session,
        summary,
        "addresses",
        Address,
        {
            "recipient": demo.contact,
            "phone": demo.phone,
            "province": province,
            "city": city,
            "district": district,
            "is_default": True,
        },
        customer_id=customer.id,
        detail=detail,
    )
    return customer


def _product(session, summary, kind_label: str, kind: ProductKind, fields: dict, erp_item_code: str) -> Product:
    product = session.exec(select(Product).where(Product.sku == fields["sku"])).first()
    summary._count(kind_label, product is None)
    if product is None:
        product = Product(kind=kind, erp_item_code=erp_item_code, **fields)
        session.add(product)
        session.flush()
    return product


def _once(session, summary, label: str, model, extra: dict | None = None, **key):
    """Find the row by its natural ``key`` or add it with ``extra``; count which."""
    stmt = select(model)
    for name, value in key.items():
        stmt = stmt.where(getattr(model, name) == value)
    row = session.exec(stmt).first()
    summary._count(label, row is None)
    if row is None:
        row = model(**key, **(extra or {}))
        session.add(row)
        session.flush()
    return row
