"""Shared set-up for the sync tests: a shop with customers and products, orders placed the
real way (bridge.orders), and a clock the tests can move."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import count as counter

from sqlmodel import Session

from bridge.actors import Actor
from bridge.config import OrdersSection
from bridge.models import Address, Customer, CustomerType, Product, StaffRole, StaffUser
from bridge.orders import LineRequest, OrderRequest, StockAnswer, place_order
from bridge.types import utcnow

_keys = counter(1)


class Clock:
    """Real time plus whatever the test has moved it on by."""

    def __init__(self):
        self.offset = timedelta(0)

    @property
    def now(self):
        return utcnow() + self.offset

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def make_shop(engine, customers: int = 2, type: int = CustomerType.TYPE_2) -> dict:
    with Session(engine, expire_on_commit=False) as s:
        sales = StaffUser(username="sales", display_name="张伟", role=StaffRole.SALES, password_hash="x")
        s.add(sales)
        s.flush()
        shop = {"sales": sales, "customers": [], "addresses": {}}
        for i in range(customers):
            c = Customer(name=f"客户{i + 1}", type=int(type), salesperson_id=sales.id)
            s.add(c)
            s.flush()
            a = Address(customer_id=c.id, recipient="李工", phone="13800000000", detail=f"工业大道 {i + 1} 号")
            s.add(a)
            s.flush()
            shop["customers"].append(c)
            shop["addresses"][c.id] = a.id
        shop["wheel"] = Product(sku="WA-400", name="平形砂轮 400×50×127", price=Decimal("180.00"))
        shop["disc"] = Product(sku="C-105", name="切割片 105", price=Decimal("2.35"))
        s.add(shop["wheel"])
        s.add(shop["disc"])
        s.commit()
    return shop


def place(engine, shop, customer, qty: int = 2, stock: StockAnswer | None = None, sku: str = "WA-400"):
    with Session(engine, expire_on_commit=False) as s:
        product = shop["wheel"] if sku == "WA-400" else shop["disc"]
        request = OrderRequest(
            lines=[LineRequest(product_id=product.id, quantity=qty)],
            idempotency_key=f"test-key-{next(_keys):06d}",
            address_id=shop["addresses"][customer.id],
        )
        placed = place_order(s, Actor.customer(customer.id), customer.id, request, limits=OrdersSection(), stock=stock)
        s.commit()
        return placed.order


def filedrop_runtime(engine, folder, **env):
    """A Runtime on ``engine`` with the file-drop connector in ``folder``/erp (and the
    simulator's side of it), configured through the environment as an operator would."""
    from bridge.config import load_config
    from bridge.runtime import Runtime
    from connectors.filedrop import make_folders

    root = folder / "erp"
    make_folders(root)
    environ = {
        "JHT_DATABASE__URL": engine.url.render_as_string(hide_password=False),
        "JHT_CONNECTOR__FILEDROP__ROOT": str(root),
        **{k: str(v) for k, v in env.items()},
    }
    config = load_config(None, environ=environ)
    return Runtime.open(config, engine)
