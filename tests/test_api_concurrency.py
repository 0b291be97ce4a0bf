"""C5 over real HTTP: the same Idempotency-Key sent 20 times at once makes one order."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import httpx
from sqlmodel import Session, select

from bridge.models import Order, OutboxMessage, Product
from tests.api_helpers import LiveServer, make_client


def test_c5_twenty_concurrent_submits_with_one_key_make_one_order(engine, tmp_path):
    client, rt = make_client(engine, tmp_path)
    with Session(engine, expire_on_commit=False) as s:
        wheel = Product(sku="WA-400", name="平形砂轮", price=Decimal("186.00"))
        s.add(wheel)
        s.commit()
    with LiveServer(client.app) as server, httpx.Client(base_url=server.base_url, timeout=30) as http:
        login = http.post("/api/mp/v1/auth/login", json={"code": "buyer-1"}).json()
        auth = {"Authorization": f"Bearer {login['access_token']}"}
        address = http.post(
            "/api/mp/v1/addresses",
            headers=auth,
            json={"recipient": "李工", "phone": "13800000000", "detail": "科技路 18 号"},
        ).json()["id"]
        body = {"lines": [{"product_id": wheel.id, "quantity": 2}], "address_id": address}
        headers = {**auth, "Idempotency-Key": uuid.uuid4().hex}
        barrier = threading.Barrier(20)
        answers: list[httpx.Response] = []
        lock = threading.Lock()

        def submit():
            with httpx.Client(base_url=server.base_url, timeout=30) as own:
                barrier.wait()
                answer = own.post("/api/mp/v1/orders", headers=headers, json=body)
                with lock:
                    answers.append(answer)

        threads = [threading.Thread(target=submit) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert len(answers) == 20
    assert {a.status_code for a in answers} <= {200, 201}, [a.text for a in answers if a.status_code >= 300]
    assert len({a.json()["order_no"] for a in answers}) == 1
    assert sum(a.json()["created"] for a in answers) == 1
    with Session(engine) as s:
        assert len(s.exec(select(Order)).all()) == 1
        assert len(s.exec(select(OutboxMessage).where(OutboxMessage.kind == "order.create")).all()) == 1
    rt.connector.close()
