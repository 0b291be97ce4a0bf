"""schemathesis against /schema (C-series, O3, S-series): generated requests to every operation of
both APIs, with a valid customer's and a valid salesperson's token, never get a 5xx, and every
answer matches the document: status codes documented (ST103), bodies match their schema (ST108),
schema-valid requests are not refused as bad input (ST202), an undocumented method is 405 with
Allow (ST204). Bounded: a few examples per operation, a fixed seed.

schemathesis runs as its own CLI (``schemathesis run``), the way an outsider would attack the API;
its settings are in tests/data/schemathesis.toml."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from bridge import db as bridge_db
from bridge.models import Customer, Product, ProductKind, StaffRole, StaffUser
from bridge.users import hash_password
from tests.api_helpers import LiveServer, make_client

PASSWORD = "correct-horse-42"
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,positive_data_acceptance,unsupported_method"
SETTINGS = Path(__file__).parent / "data" / "schemathesis.toml"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    folder = tmp_path_factory.mktemp("schema")
    engine = bridge_db.make_engine(f"sqlite:///{folder / 'bridge.db'}")
    bridge_db.upgrade(engine)
    client, rt = make_client(engine, folder)
    with Session(engine) as s:
        sales = StaffUser(username="zhangwei", display_name="张伟", role=StaffRole.SALES, password_hash=hash_password(PASSWORD))
        s.add(sales)
        s.flush()
        s.add_all([
            Product(sku="WA-400", name="平形砂轮", price=Decimal("186.00")),
            Product(sku="CUS-1", name="定制碗形砂轮", kind=ProductKind.CUSTOM, price=Decimal("420.00"), created_by_id=sales.id),
            Customer(name="东莞精工模具", type=2, salesperson_id=sales.id, phone="13900001111"),
        ])
        s.commit()
    with LiveServer(client.app) as server:
        base = server.base_url
        server.tokens = {
            "customer": httpx.post(f"{base}/api/mp/v1/auth/login", json={"code": "fuzzer"}).json()["access_token"],
            "staff": httpx.post(f"{base}/api/sales/v1/auth/login",
                                json={"username": "zhangwei", "password": PASSWORD}).json()["access_token"],
        }
        yield server
    rt.connector.close()
    engine.dispose()


@pytest.mark.parametrize("caller,paths", [
    ("customer", "^/(api/mp/|healthz|readyz)"),  # the mini-program API and the health checks
    ("staff", "^/api/sales/"),
])
def test_no_5xx_and_every_answer_matches_the_schema(live, tmp_path, caller, paths):
    cli = Path(sys.executable).with_name("schemathesis")
    command = [
        str(cli), "--config-file", str(SETTINGS), "run", f"{live.base_url}/schema/openapi.json",
        "-H", f"Authorization: Bearer {live.tokens[caller]}",
        "--include-path-regex", paths,
        # logging out would end the session every later request uses (tests/test_security.py covers it)
        "--exclude-operation-id", "mpLogout", "--exclude-operation-id", "salesLogout",
        "--checks", CHECKS, "--max-examples", "10", "--no-shrink", "--seed", "1",
        "--report", "ndjson", "--report-dir", str(tmp_path),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path,
                         env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"})
    summary = [line for line in run.stdout.splitlines() if "generated" in line or " in " in line and "=" in line]
    print(f"schemathesis ({caller}): " + " | ".join(s.strip() for s in summary[-2:]))
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    tested = re.search(r"Tested: (\d+)", run.stdout)
    assert tested and int(tested.group(1)) >= 15, run.stdout[-3000:]
