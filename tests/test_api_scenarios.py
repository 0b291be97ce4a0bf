"""Seed scenario 1 (§6.1) end to end over HTTP: the customer in the mini-program API, the
salesperson in the sales API, the bridge's sync loops and the file drop, the ERP simulator.
Each step checks what the customer and the salesperson see."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session

from bridge.models import Product, StaffRole
from bridge.users import add_user
from bridge.actors import CLI_ADMIN
from connectors.filedrop.simulator import ErpSimulator
from tests.api_helpers import key, login, make_client


def sync_rounds(rt, sim, rounds: int = 3) -> None:
    """The sync loops and the ERP, a few rounds each way, as the running bridge would."""
    for _ in range(rounds):
        rt.dispatcher().drain()
        sim.step()
        rt.poller().drain()


def assert_released(answer, order_no: str, status: str) -> None:
    """The salesperson's release answer: 200 with the order now released, nothing left to
    release, the status unchanged (payment is a fact beside the status, A1)."""
    assert answer.status_code == 200, answer.text
    order = answer.json()
    assert order["order_no"] == order_no and order["status"] == status
    assert order["released"] is True and order["released_at"]
    assert order["can_release"] is False and order["awaiting_payment"] is False


def salesperson_and(engine, *products: Product) -> None:
    """The salesperson 张伟 (zhangwei, whom new customers are assigned to) and ``products``."""
    with Session(engine, expire_on_commit=False) as s:
        add_user(
            s, CLI_ADMIN, username="zhangwei", password="sales-password-1", role=StaffRole.SALES, display_name="张伟"
        )
        s.add_all(products)
        s.commit()


def staff_headers(c) -> dict:
    sales = c.post("/api/sales/v1/auth/login", json={"username": "zhangwei", "password": "sales-password-1"})
    assert sales.status_code == 201, sales.text
    return {"Authorization": f"Bearer {sales.json()['access_token']}"}


def add_address(c, buyer) -> int:
    return c.post(
        "/api/mp/v1/addresses",
        headers=buyer["headers"],
        json={"recipient": "陈国强", "phone": "13800138001", "detail": "狮山镇科技路 18 号"},
    ).json()["id"]


def test_scenario_1_over_http(engine, tmp_path):
    client, rt = make_client(engine, tmp_path, JHT_CUSTOMERS__DEFAULT_SALESPERSON="zhangwei")
    wheel = Product(sku="WA-400", name="平形砂轮 1-400×50×127 WA60K5V", price=Decimal("186.00"))
    salesperson_and(engine, wheel)
    sim = ErpSimulator(rt.connector.root, stock={"WA-400": 100})

    def flow():
        sync_rounds(rt, sim)

    with client:
        c = client
        buyer = login(c, "new-buyer")  # a new customer: type 2 by default, assigned to 张伟
        staff = staff_headers(c)
        flow()  # the stock figures and the new customer reach the bridge / the ERP
        address = add_address(c, buyer)

        placed = c.post(
            "/api/mp/v1/orders",
            headers={**buyer["headers"], **key()},
            json={"lines": [{"product_id": wheel.id, "quantity": 10}], "address_id": address},
        )
        assert placed.status_code == 201, placed.text
        order_no = placed.json()["order_no"]
        assert placed.json()["status_label"] == "等待发货"  # stock checked at submission (C7)

        waiting = c.get("/api/sales/v1/orders", headers=staff, params={"awaiting_payment": "true"}).json()
        assert [o["order_no"] for o in waiting["items"]] == [order_no]  # the salesperson's view (A6)
        flow()
        assert sim.orders[order_no]["lines"][0]["quantity"] == 10 and not sim.released[order_no]

        released = c.post(f"/api/sales/v1/orders/{order_no}/release", headers=staff)
        assert_released(released, order_no, "awaiting_shipment")
        assert c.get("/api/sales/v1/orders", headers=staff, params={"awaiting_payment": "true"}).json()["items"] == []
        flow()
        assert (order_no, "release") in sim.commands  # the ERP is told (E5)

        sim.ship(order_no)
        flow()
        detail = c.get(f"/api/mp/v1/orders/{order_no}", headers=buyer["headers"]).json()
        assert detail["status_label"] == "已发货" and detail["can_confirm_receipt"] is True
        assert detail["shipments"][0]["tracking_no"] == sim.shipments[order_no][0]["tracking_no"]  # C8
        staff_view = c.get(f"/api/sales/v1/orders/{order_no}", headers=staff).json()
        assert staff_view["status"] == "shipped"

        received = c.post(f"/api/mp/v1/orders/{order_no}/receipt", headers=buyer["headers"])
        assert received.status_code == 200 and received.json()["status_label"] == "已完成"  # C9
        flow()
        assert (order_no, "complete") in sim.commands and sim.status[order_no] == "completed"
        assert c.get(f"/api/sales/v1/orders/{order_no}", headers=staff).json()["status"] == "completed"
    rt.connector.close()


def test_scenario_2_over_http(engine, tmp_path):
    """§6.2: the salesperson registers a new customer and its custom product (sales API); the
    customer binds the registered phone, sees only that product, orders it (等待处理, no stock);
    the ERP produces and ships; both views follow every step."""
    client, rt = make_client(engine, tmp_path)
    with Session(engine, expire_on_commit=False) as s:
        add_user(
            s, CLI_ADMIN, username="zhangwei", password="sales-password-1", role=StaffRole.SALES, display_name="张伟"
        )
        s.commit()
    sim = ErpSimulator(rt.connector.root, stock={})

    def flow():
        sync_rounds(rt, sim)

    with client:
        c = client
        staff = {
            "Authorization": "Bearer "
            + c.post("/api/sales/v1/auth/login", json={"username": "zhangwei", "password": "sales-password-1"}).json()[
                "access_token"
            ]
        }
        customer = c.post(
            "/api/sales/v1/customers", headers=staff, json={"name": "东莞精工模具", "type": 2, "phone": "13900001111"}
        ).json()
        product = c.post(
            "/api/sales/v1/products",
            headers=staff,
            json={"sku": "CUS-DG-1", "name": "定制碗形砂轮", "price": "420.00", "unit": "片"},
        ).json()
        assert (
            c.post(
                f"/api/sales/v1/products/{product['id']}/grants", headers=staff, json={"customer_id": customer["id"]}
            ).status_code
            == 201
        )
        flow()
        assert customer["id"] in sim.customers  # E4: the new customer reached the ERP

        buyer = login(c, "wx-dongguan")
        joined = c.post("/api/mp/v1/auth/phone", headers=buyer["headers"], json={"code": "13900001111"}).json()
        auth = {"Authorization": f"Bearer {joined['access_token']}"}
        assert [p["sku"] for p in c.get("/api/mp/v1/products", headers=auth).json()["items"]] == ["CUS-DG-1"]
        address = c.post(
            "/api/mp/v1/addresses",
            headers=auth,
            json={"recipient": "陈经理", "phone": "13900001111", "detail": "长安镇振安路 8 号"},
        ).json()["id"]
        placed = c.post(
            "/api/mp/v1/orders",
            headers={**auth, **key()},
            json={"lines": [{"product_id": product["id"], "quantity": 6}], "address_id": address},
        ).json()
        order_no = placed["order_no"]
        assert placed["status_label"] == "等待处理"

        def views():
            mine = c.get(f"/api/mp/v1/orders/{order_no}", headers=auth).json()["status_label"]
            theirs = c.get(f"/api/sales/v1/orders/{order_no}", headers=staff).json()["status"]
            return mine, theirs

        flow()
        assert views() == ("等待处理", "pending")
        released = c.post(f"/api/sales/v1/orders/{order_no}/release", headers=staff)  # payment agreed with the customer
        assert_released(released, order_no, "pending")
        assert c.get(f"/api/mp/v1/orders/{order_no}", headers=auth).json()["released"] is True
        sim.produce(order_no)
        flow()
        assert views() == ("生产中", "in_production")
        sim.finish(order_no)
        flow()
        assert views() == ("等待发货", "awaiting_shipment")
        sim.ship(order_no, parts=2)
        flow()
        assert views() == ("已发货", "shipped")
        shipments = c.get(f"/api/mp/v1/orders/{order_no}", headers=auth).json()["shipments"]
        assert len(shipments) == 2 and all(s["tracking_no"] for s in shipments)
        assert (order_no, "release") in sim.commands
    rt.connector.close()


def test_p12_03_both_apis_show_shipped_of_ordered_per_line(engine, tmp_path):
    """#12 point 3 (C8): after a partial shipment from the ERP's files, the customer's and the
    salesperson's order detail show per line how many of it were shipped, beside the quantity."""
    import json

    from connectors.filedrop.files import write_atomic

    client, rt = make_client(engine, tmp_path, JHT_CUSTOMERS__DEFAULT_SALESPERSON="zhangwei")
    wheel = Product(sku="WA-400", name="平形砂轮 1-400×50×127 WA60K5V", price=Decimal("186.00"))
    disc = Product(sku="C-105", name="切割片 105", price=Decimal("2.35"))
    salesperson_and(engine, wheel, disc)
    with client:
        c = client
        buyer = login(c, "partly-shipped")
        staff = staff_headers(c)
        address = add_address(c, buyer)
        placed = c.post(
            "/api/mp/v1/orders",
            headers={**buyer["headers"], **key()},
            json={
                "lines": [{"product_id": wheel.id, "quantity": 10}, {"product_id": disc.id, "quantity": 50}],
                "address_id": address,
            },
        )
        assert placed.status_code == 201, placed.text
        order_no = placed.json()["order_no"]
        assert [x["shipped_quantity"] for x in placed.json()["lines"]] == [0, 0]
        shipment = {
            "event_id": "FH-1",
            "kind": "order.shipment",
            "data": {
                "order_no": order_no,
                "shipment_id": "FH-1",
                "courier": "顺丰速运",
                "tracking_no": "SF1001",
                "lines": [{"sku": "WA-400", "quantity": 4}],
            },
        }
        write_atomic(rt.connector.root / "in", "001_shipment.json", json.dumps(shipment).encode())
        rt.poller().drain()
        for view in (
            c.get(f"/api/mp/v1/orders/{order_no}", headers=buyer["headers"]).json(),
            c.get(f"/api/sales/v1/orders/{order_no}", headers=staff).json(),
        ):
            progress = [(x["sku"], x["shipped_quantity"], x["quantity"]) for x in view["lines"]]
            assert progress == [("WA-400", 4, 10), ("C-105", 0, 50)]
    rt.connector.close()
