"""``jht-bridge demo``: the bridge and a simulated ERP on the embedded default, walked through
the proposal's two scenarios step by step so a newcomer sees every moving part.

The bridge's real sync loops run (outbox dispatcher, inbox poller, file-drop connector); the
ERP simulator plays the production software in the same folder. Each step says what happened
and waits until the database shows it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlmodel import Session, select

from bridge.actors import Actor
from bridge.models import (
    Address,
    Customer,
    CustomerType,
    Order,
    OrderStatus,
    OutboxMessage,
    OutboxStatus,
    Product,
    ProductGrant,
    ProductKind,
    Shipment,
    StaffUser,
)
from bridge.orders import LineRequest, OrderRequest, submit_order
from bridge.runtime import Runtime
from bridge.labels import STATUS_LABELS
from bridge.statemachine import release, transition
from bridge.types import utcnow
from bridge.worker import wait_until


class DemoError(Exception):
    """The demo cannot run here (wrong connector, no demo data…)."""


class Walkthrough:
    def __init__(self, rt: Runtime, say: Callable[[str], None], timeout: float = 30):
        if rt.connector.name != "filedrop":
            raise DemoError(f"the demo plays the ERP through the file drop; this config uses {rt.connector.name!r}")
        from connectors.filedrop.simulator import ErpSimulator

        self.rt, self.say, self.timeout = rt, say, timeout
        self.root = rt.connector.root
        self.sim = ErpSimulator(self.root, seed=int(utcnow().timestamp()))
        self.worker = rt.worker()
        self.stop = threading.Event()
        self.erp_thread = threading.Thread(target=self._erp_loop, daemon=True)
        self.auto = False

    def _erp_loop(self) -> None:
        ticks = 0
        while not self.stop.wait(0.2):
            self.sim.step()
            ticks += 1
            if self.auto and ticks % 15 == 0:
                self.sim.auto_tick()

    def __enter__(self) -> Walkthrough:
        self.worker.start()
        self.erp_thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.worker.stop()
        self.erp_thread.join(5)
        self.worker.join(10)
        self.rt.dispatcher().drain()  # the last notices, so nothing is left pending

    # -- helpers ----------------------------------------------------------------------------

    def _session(self) -> Session:
        return Session(self.rt.engine, expire_on_commit=False)

    def _order(self, order_no: str) -> Order:
        with self._session() as s:
            return s.exec(select(Order).where(Order.order_no == order_no)).one()

    def _wait(self, what: str, predicate: Callable[[], bool]) -> None:
        self.worker.wake()
        if not wait_until(predicate, self.timeout, 0.1):
            raise DemoError(f"timed out waiting for: {what} (see `jht-bridge outbox list` / `inbox list`)")

    def _status_is(self, order_no: str, status: OrderStatus) -> Callable[[], bool]:
        return lambda: self._order(order_no).status == status

    def _pick(self, type_: int, kind: ProductKind):
        with self._session() as s:
            customer = s.exec(
                select(Customer).where(Customer.type == type_, Customer.merged_into_id.is_(None)).order_by(Customer.id)
            ).first()
            if customer is None:
                raise DemoError("no demo customers: run `jht-bridge demo-data` first")
            address = s.exec(
                select(Address).where(Address.customer_id == customer.id, Address.deleted.is_(False))
            ).first()
            stmt = select(Product).where(Product.kind == kind, Product.active.is_(True)).order_by(Product.id)
            if kind == ProductKind.CUSTOM:
                stmt = stmt.join(ProductGrant, ProductGrant.product_id == Product.id).where(
                    ProductGrant.customer_id == customer.id
                )
            product = s.exec(stmt).first()
            if product is None or address is None:
                raise DemoError("the demo data is incomplete: run `jht-bridge demo-data`")
            return customer, address, product

    def _place(self, customer, address, product, qty: int, remark: str) -> Order:
        request = OrderRequest(
            [LineRequest(product_id=product.id, quantity=qty)],
            f"demo-{utcnow().strftime('%Y%m%d%H%M%S%f')}",
            address_id=address.id,
            remark=remark,
        )
        placed = submit_order(
            self.rt.engine, self.rt.stock_checker(), Actor.customer(customer.id), customer.id, request, self.rt.config
        )
        self.worker.wake()
        return placed.order

    def _notice_delivered(self, order_no: str, kind: str) -> str:
        """Wait until the notice ``kind`` about ``order_no`` went out, and name the notifiers it
        was handed to: the demo says what happened, not what should have."""

        def delivered() -> bool:
            with self._session() as s:
                return (
                    s.exec(
                        select(OutboxMessage).where(
                            OutboxMessage.kind == kind,
                            OutboxMessage.aggregate_id == order_no,
                            OutboxMessage.status == OutboxStatus.DELIVERED,
                        )
                    ).first()
                    is not None
                )

        self._wait(f"the {kind} notice", delivered)
        names = [getattr(n, "name", type(n).__name__) for n in self.rt.notifiers]
        return (
            ", ".join(names) + " (the log notifier writes a line; WeCom / mail plugins reach people)"
            if names == ["log"]
            else ", ".join(names) or "no notifier"
        )

    # -- the scenarios ----------------------------------------------------------------------

    def scenario_1(self) -> str:
        say = self.say
        customer, address, wheel = self._pick(CustomerType.TYPE_2, ProductKind.STANDARD)
        say(f"场景一 / Scenario 1 — {customer.name}（类型二：先确认收款）orders a stocked standard wheel")
        self.sim.set_stock({wheel.sku: 500})
        self._wait("the ERP's stock figures", lambda: self.rt.stock_checker().snapshot([wheel.sku]) is not None)
        say(f"  1. ERP stock file {self.root / 'stock.json'}: {wheel.sku} = 500")
        order = self._place(customer, address, wheel, 20, "演示订单：请尽快发货")
        say(
            f"  2. customer submits {order.order_no}: 20 × {wheel.name} → 「{STATUS_LABELS[order.status]}」"
            f" (stock checked live: {order.stock_check.value})"
        )
        self._wait("the order to reach the ERP", lambda: self._order(order.order_no).erp_ref is not None)
        reminded = self._notice_delivered(order.order_no, "notify.new_order")
        say(
            f"  3. written to {self.root / 'out'}, taken by the ERP as {self._order(order.order_no).erp_ref};"
            f" the salesperson's reminder (notify.new_order) handed to {reminded}"
        )
        with self._session() as s:
            row = s.exec(select(Order).where(Order.order_no == order.order_no)).one()
            sales = s.get(StaffUser, s.get(Customer, row.customer_id).salesperson_id)
            release(s, row, Actor.sales(sales.id) if sales else Actor.admin("demo"), note="演示：已确认收款")
            s.commit()
        self._wait("the ERP to hear of the payment", lambda: self.sim.released.get(order.order_no, False))
        say(
            f"  4. salesperson {sales.display_name if sales else 'admin'} confirms payment → the ERP is told (order.release)"
        )
        self.sim.ship(order.order_no)
        self._wait("the shipment", self._status_is(order.order_no, OrderStatus.SHIPPED))
        with self._session() as s:
            shipment = s.exec(select(Shipment).join(Order).where(Order.order_no == order.order_no)).first()
        told = self._notice_delivered(order.order_no, "notify.shipment")
        say(
            f"  5. the ERP ships: {shipment.courier} {shipment.tracking_no} → 「{STATUS_LABELS[OrderStatus.SHIPPED]}」,"
            f" the customer's notice (notify.shipment) handed to {told}"
        )
        with self._session() as s:
            row = s.exec(select(Order).where(Order.order_no == order.order_no)).one()
            transition(s, row, OrderStatus.COMPLETED, Actor.customer(customer.id))
            s.commit()
        self._wait("the ERP to hear of the receipt", lambda: (order.order_no, "complete") in self.sim.commands)
        say(
            f"  6. customer confirms receipt → 「{STATUS_LABELS[OrderStatus.COMPLETED]}」, the ERP is told (order.complete)"
        )
        return order.order_no

    def scenario_2(self) -> str:
        say = self.say
        customer, address, custom = self._pick(CustomerType.TYPE_1, ProductKind.CUSTOM)
        say(f"场景二 / Scenario 2 — {customer.name}（类型一）orders its own custom product")
        order = self._place(customer, address, custom, 8, "定制品，按图纸生产")
        say(
            f"  1. {custom.name} is visible only to this customer; order {order.order_no} → 「{STATUS_LABELS[order.status]}」"
            f" (no stock for a custom wheel)"
        )
        self._wait("the order to reach the ERP", lambda: order.order_no in self.sim.orders)
        self.sim.produce(order.order_no)
        self._wait("production", self._status_is(order.order_no, OrderStatus.IN_PRODUCTION))
        say(f"  2. the ERP starts production → 「{STATUS_LABELS[OrderStatus.IN_PRODUCTION]}」")
        self.sim.finish(order.order_no)
        self._wait("production to finish", self._status_is(order.order_no, OrderStatus.AWAITING_SHIPMENT))
        say(f"  3. production done → 「{STATUS_LABELS[OrderStatus.AWAITING_SHIPMENT]}」")
        self.sim.ship(order.order_no, parts=2)
        self._wait("the shipments", self._status_is(order.order_no, OrderStatus.SHIPPED))
        with self._session() as s:
            shipments = s.exec(select(Shipment).join(Order).where(Order.order_no == order.order_no)).all()
        parts = "; ".join(f"{x.courier} {x.tracking_no}" for x in shipments)
        say(f"  4. shipped in {len(shipments)} parts ({parts}) → 「{STATUS_LABELS[OrderStatus.SHIPPED]}」")
        return order.order_no

    def keep_running(self) -> None:
        """Let the simulated ERP move open orders along by itself until stopped."""
        self.auto = True
        try:
            while not self.stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
