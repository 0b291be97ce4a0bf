"""The mini-program against the real server (issue #13): ``jht-bridge run`` (WeChat dev mode) with the
file-drop simulator playing the ERP, and the mini-program's own ``services/`` run in Node through
``miniprogram/tests/contract/run.js`` for both seed scenarios. Every request the services made is then
held against ``/schema/openapi.json``: a path, method, query parameter or body field the server does
not have fails the test.

Scenario 1 (C1, C4, C5, C7, C8, C9, A1, A6): a type-2 customer scans a stocked wheel's packaging code
and orders it → 等待发货 with 等待业务员确认收款; the salesperson releases it from the workbench; the
ERP ships; the customer sees courier and tracking number and confirms receipt → 已完成.
Scenario 2 (C2, C5, C8): a type-1 customer orders its own custom wheel → 等待处理; the ERP produces
and ships it in two parts; the customer confirms receipt; then an inquiry, answered by the
salesperson from the workbench, read by the customer (C11, C16).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlmodel import Session, select

from bridge.worker import wait_until
from tests.conftest import require

REPO = Path(__file__).resolve().parent.parent
MINIPROGRAM = REPO / "miniprogram"
RUNNER = MINIPROGRAM / "tests" / "contract" / "run.js"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JHT_")}
    return {**env, "PYTHONPATH": str(REPO), **extra}


def _cli(folder: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        cwd=folder,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"jht-bridge {' '.join(args)}:\n{done.stdout}\n{done.stderr}"


class Shop:
    """A running bridge on the embedded default, its simulated ERP, and the services in Node."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.log = folder / "requests.jsonl"
        self.storage = folder / "wx-storage.json"

    def step(self, name: str, **args) -> dict:
        node = shutil.which("node")
        done = subprocess.run(
            [node, str(RUNNER), name, json.dumps({"base": self.base, **args})],
            cwd=MINIPROGRAM,
            env={**os.environ, "JHT_CONTRACT_LOG": str(self.log), "JHT_CONTRACT_STORAGE": str(self.storage)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"step {name}:\n{done.stderr}\n{done.stdout}\nbridge:\n{self.output()}"
        return json.loads(done.stdout.strip().splitlines()[-1])

    def output(self) -> str:
        return (self.folder / "bridge.out").read_text(encoding="utf-8", errors="replace")[-5000:]

    def wait_status(self, order_no: str, status: str) -> dict:
        seen: dict = {}

        def reached() -> bool:
            seen.update(self.step("customer-order-status", code=self.code, order_no=order_no))
            return seen["status"] == status

        assert wait_until(reached, timeout=60, step=0.5), f"{order_no} stayed {seen.get('status')}"
        return seen


@pytest.fixture
def shop(tmp_path):
    require(shutil.which("node") is not None, "node is not on PATH: scripts/test installs it")
    require((MINIPROGRAM / "node_modules").exists(), "miniprogram/node_modules missing: run scripts/test (npm ci)")
    from bridge.config import load_config
    from bridge.db import make_engine
    from connectors.filedrop.simulator import ErpSimulator

    _cli(tmp_path, "init")
    _cli(tmp_path, "demo-data")
    config_file = tmp_path / "var" / "bridge.toml"
    text = config_file.read_text(encoding="utf-8")
    # the simulated ERP writes to a temporary name and renames: no need to wait for files to settle
    text = re.sub(r"(?m)^\[connector\.filedrop\]\n", "[connector.filedrop]\nsettle_s = 0\n", text, count=1)
    assert "settle_s = 0" in text
    config_file.write_text(text, encoding="utf-8")
    config = load_config(config_file)

    site = Shop(tmp_path)
    site.engine = make_engine(config)
    site.sim = ErpSimulator(tmp_path / "var" / "erp", seed=7)
    stop = threading.Event()

    def play_the_erp() -> None:  # take what the bridge writes; the test moves the orders itself
        while not stop.wait(0.2):
            site.sim.step()

    erp = threading.Thread(target=play_the_erp, daemon=True)
    erp.start()
    port = _free_port()
    site.base = f"http://127.0.0.1:{port}"
    out = (tmp_path / "bridge.out").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "run", "--port", str(port)],
        cwd=tmp_path,
        env=_environment(),
        stdout=out,
        stderr=subprocess.STDOUT,
    )

    def healthy() -> bool:
        try:
            return httpx.get(f"{site.base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert wait_until(healthy, timeout=60), f"jht-bridge run did not start:\n{site.output()}"
        yield site
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        stop.set()
        erp.join(5)
        out.close()
        site.engine.dispose()


def _demo(site: Shop):
    """What the demo data holds for the two scenarios: a type-2 customer with a phone and a stocked
    standard wheel's packaging code; a type-1 customer with its granted custom wheel."""
    from bridge.models import Customer, Product, ProductGrant, ProductKind, ProductQR

    with Session(site.engine) as s:
        type2 = s.exec(
            select(Customer).where(Customer.type == 2, Customer.phone.is_not(None)).order_by(Customer.id)
        ).first()
        wheel, qr = s.exec(
            select(Product, ProductQR)
            .join(ProductQR, ProductQR.product_id == Product.id)
            .where(Product.kind == ProductKind.STANDARD)
            .order_by(Product.id)
        ).first()
        custom, type1 = s.exec(
            select(Product, Customer)
            .join(ProductGrant, ProductGrant.product_id == Product.id)
            .join(Customer, Customer.id == ProductGrant.customer_id)
            .where(Product.kind == ProductKind.CUSTOM, Customer.type == 1, Customer.phone.is_not(None))
        ).first()
        return type2, wheel, qr, type1, custom


def test_c5_a6_both_seed_scenarios_through_the_mini_programs_services(shop):
    from bridge.demo import SALES_LOGIN

    type2, wheel, qr, type1, custom = _demo(shop)

    # Scenario 1: type 2 — scan, order, the salesperson confirms payment, the ERP ships, receipt.
    shop.sim.set_stock({wheel.sku: 500})
    shop.code = "wx-contract-scenario-1"
    placed = shop.step(
        "customer-order", code=shop.code, phone=type2.phone, kind="standard", scan=qr.payload, quantity=20
    )
    assert placed["joined"] and placed["customer"] == type2.name and placed["sku"] == wheel.sku
    assert (placed["status"], placed["status_label"]) == ("awaiting_shipment", "等待发货")
    assert placed["status_hint"] == "等待业务员确认收款"
    order_no = placed["order_no"]
    username, password = SALES_LOGIN
    released = shop.step("sales-release", username=username, password=password, order_no=order_no)
    assert released["released"] and not released["can_release"]
    assert wait_until(lambda: shop.sim.released.get(order_no, False), timeout=60), shop.output()
    shop.sim.ship(order_no)
    shipped = shop.wait_status(order_no, "shipped")
    assert shipped["can_confirm_receipt"] and not shipped["can_cancel"] and shipped["status_hint"] is None
    assert shipped["shipments"] and all(s["tracking_no"] for s in shipped["shipments"])
    assert shipped["shipped"] == [[20, 20]]
    done = shop.step("customer-confirm", code=shop.code, order_no=order_no)
    assert (done["status"], done["status_label"]) == ("completed", "已完成")
    assert wait_until(lambda: (order_no, "complete") in shop.sim.commands, timeout=60), shop.output()

    # Scenario 2: type 1 — its own custom wheel, produced, shipped in two parts, receipt.
    shop.code = "wx-contract-scenario-2"
    placed = shop.step("customer-order", code=shop.code, phone=type1.phone, kind="custom", sku=custom.sku, quantity=8)
    assert placed["customer"] == type1.name
    assert (placed["status"], placed["status_label"], placed["status_hint"]) == ("pending", "等待处理", None)
    order_no = placed["order_no"]
    assert wait_until(lambda: order_no in shop.sim.orders, timeout=60), shop.output()
    shop.sim.produce(order_no)
    assert shop.wait_status(order_no, "in_production")["status_label"] == "生产中"
    shop.sim.finish(order_no)
    shop.wait_status(order_no, "awaiting_shipment")
    shop.sim.ship(order_no, parts=2)
    shipped = shop.wait_status(order_no, "shipped")
    assert len(shipped["shipments"]) == 2 and shipped["shipped"] == [[8, 8]]
    assert shop.step("customer-confirm", code=shop.code, order_no=order_no)["status"] == "completed"

    # C11, C16: an inquiry, answered from the workbench, read by the customer.
    asked = shop.step("customer-inquiry", code=shop.code, body="需要 Φ610 的轧辊磨砂轮，月用量 40 片")
    answer = "可以生产，单价 420 元，交期 20 天"
    answered = shop.step("sales-answer", username=username, password=password, id=asked["id"], answer=answer)
    assert answered == {"status": "handled", "answer": answer}
    mine = shop.step("customer-inquiries", code=shop.code)["items"]
    assert mine[0]["id"] == asked["id"] and mine[0]["answer"] == answer and mine[0]["answered_by"]

    _check_against_the_document(shop)

    # Every function of services/, called once with placeholder arguments, asks only for what the
    # document has (whatever the server answers to the placeholders).
    shop.log = shop.folder / "every-call.jsonl"
    called = shop.step("every-call", code=shop.code)["called"]
    assert len(called) > 30 and "salesOrders.js:releaseOrder" in called
    _check_against_the_document(shop, answered=False)


def _check_against_the_document(shop: Shop, *, answered: bool = True) -> None:
    """Every request the services made: a path and method of /schema/openapi.json, its query
    parameters and body fields ones that operation takes, and (``answered``) answered 2xx."""
    document = httpx.get(f"{shop.base}/schema/openapi.json", timeout=10).json()
    schemas = document.get("components", {}).get("schemas", {})

    def resolve(schema: dict) -> dict:
        while "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def properties_of(schema: dict) -> set[str]:
        """The fields a body schema names (through oneOf / anyOf, e.g. an optional body)."""
        schema = resolve(schema)
        names = set(schema.get("properties", {}))
        for choice in ("oneOf", "anyOf", "allOf"):
            for part in schema.get(choice, []):
                names |= properties_of(part)
        return names

    templates = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path) for path in document["paths"]]
    problems, seen = [], set()
    requests = [json.loads(line) for line in shop.log.read_text(encoding="utf-8").splitlines()]
    assert len(requests) > 20
    for r in requests:
        url = urlsplit(r["url"])
        method = r["method"].lower()
        matches = [path for pattern, path in templates if pattern.match(url.path)]
        operation = next((document["paths"][p][method] for p in matches if method in document["paths"][p]), None)
        where = f"{r['method']} {url.path}"
        if operation is None:
            problems.append(f"{where}: no such operation in the OpenAPI document")
            continue
        seen.add(operation.get("operationId"))
        if answered and not 200 <= r["status"] < 300:
            problems.append(f"{where}: answered {r['status']}")
        query = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
        unknown = set(parse_qs(url.query)) - query
        if unknown:
            problems.append(f"{where}: query parameters {sorted(unknown)} not in the document")
        if isinstance(r["body"], dict):
            content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            properties = properties_of(content.get("schema", {})) if content else set()
            unknown = set(r["body"]) - set(properties)
            if unknown:
                problems.append(f"{where}: body fields {sorted(unknown)} not in the document")
    assert not problems, "\n".join(problems)
    if not answered:
        return
    for operation_id in (
        "mpLogin",
        "mpBindPhone",
        "mpScan",
        "mpPlaceOrder",
        "mpOrder",
        "mpConfirmReceipt",
        "salesLogin",
        "salesOrders",
        "salesReleaseOrder",
    ):
        assert operation_id in seen, f"the scenarios never called {operation_id}"
