"""schemathesis against /schema (C-series, O3, S-series): generated requests to every operation of
both APIs, with a valid customer's and a valid salesperson's token, never get a 5xx, and every
answer matches the document: status codes documented (ST103), bodies match their schema (ST108),
schema-valid requests are not refused as bad input (ST202), an undocumented method is 405 with
Allow (ST204). Bounded: a few examples per operation, a fixed seed. The run's report is read
back to prove each token was accepted (schemathesis alone passes with a refused token: a 401 is
an accepted answer to it), and the document is checked to name the fields of every 2xx answer
(a bare object matches any body, so ST108 proves nothing until the responses are typed).

schemathesis runs as its own CLI (``schemathesis run``), the way an outsider would attack the API;
its settings are in tests/data/schemathesis.toml."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlmodel import Session

from bridge import db as bridge_db
from bridge.models import Customer, Product, ProductKind, StaffRole, StaffUser
from bridge.users import hash_password
from tests.api_helpers import LiveServer, make_client

PASSWORD = "correct-horse-42"
CHECKS = (
    "not_a_server_error,status_code_conformance,response_schema_conformance,positive_data_acceptance,unsupported_method"
)
SETTINGS = Path(__file__).parent / "data" / "schemathesis.toml"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    folder = tmp_path_factory.mktemp("schema")
    engine = bridge_db.make_engine(f"sqlite:///{folder / 'bridge.db'}")
    bridge_db.upgrade(engine)
    client, rt = make_client(engine, folder)
    with Session(engine) as s:
        sales = StaffUser(
            username="zhangwei", display_name="张伟", role=StaffRole.SALES, password_hash=hash_password(PASSWORD)
        )
        s.add(sales)
        s.flush()
        s.add_all(
            [
                Product(sku="WA-400", name="平形砂轮", price=Decimal("186.00")),
                Product(
                    sku="CUS-1",
                    name="定制碗形砂轮",
                    kind=ProductKind.CUSTOM,
                    price=Decimal("420.00"),
                    created_by_id=sales.id,
                ),
                Customer(name="东莞精工模具", type=2, salesperson_id=sales.id, phone="13900001111"),
            ]
        )
        s.commit()
    with LiveServer(client.app) as server:
        base = server.base_url
        customer = httpx.post(f"{base}/api/mp/v1/auth/login", json={"code": "fuzzer"}).json()
        server.tokens = {
            "customer": customer["access_token"],
            "staff": httpx.post(
                f"{base}/api/sales/v1/auth/login", json={"username": "zhangwei", "password": PASSWORD}
            ).json()["access_token"],
        }
        # who GET /me must say the caller is
        server.callers = {
            "customer": lambda me: me["customer"]["id"] == customer["customer"]["id"],
            "staff": lambda me: me["username"] == "zhangwei" and me["role"] == "sales",
        }
        yield server
    rt.connector.close()
    engine.dispose()


def answers(report_dir: Path) -> list[tuple[str, str, int, bytes]]:
    """(method, path, status, body) of every answer in schemathesis's ndjson report."""
    found = []
    for report in report_dir.glob("*.ndjson"):
        for line in report.read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            recorder = (event.get("ScenarioFinished") or {}).get("recorder") or {}
            for interaction in (recorder.get("interactions") or {}).values():
                response = interaction.get("response")
                if response is None:  # the request failed (a timeout, a dropped connection)
                    continue
                content = response.get("content")
                body = base64.b64decode(content["$base64"]) if isinstance(content, dict) else (content or "").encode()
                request = interaction["request"]
                found.append((request["method"], urlsplit(request["uri"]).path, response["status_code"], body))
    return found


@pytest.mark.parametrize(
    "caller,paths,me",
    [
        ("customer", "^/(api/mp/|healthz|readyz)", "/api/mp/v1/me"),  # the mini-program API and the health checks
        ("staff", "^/api/sales/", "/api/sales/v1/me"),
    ],
)
def test_no_5xx_and_every_answer_matches_the_schema(live, tmp_path, caller, paths, me):
    cli = Path(sys.executable).with_name("schemathesis")
    command = [
        str(cli),
        "--config-file",
        str(SETTINGS),
        "run",
        f"{live.base_url}/schema/openapi.json",
        "-H",
        f"Authorization: Bearer {live.tokens[caller]}",
        "--include-path-regex",
        paths,
        # logging out would end the session every later request uses (tests/test_security.py covers it)
        "--exclude-operation-id",
        "mpLogout",
        "--exclude-operation-id",
        "salesLogout",
        "--checks",
        CHECKS,
        "--max-examples",
        "10",
        "--no-shrink",
        "--seed",
        "1",
        "--report",
        "ndjson",
        "--report-dir",
        str(tmp_path),
    ]
    run = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"},
    )
    summary = [line for line in run.stdout.splitlines() if "generated" in line or " in " in line and "=" in line]
    print(f"schemathesis ({caller}): " + " | ".join(s.strip() for s in summary[-2:]))
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    tested = re.search(r"Tested: (\d+)", run.stdout)
    assert tested and int(tested.group(1)) >= 15, run.stdout[-3000:]

    # The report, read by us: no 5xx, and the token was accepted. The positive-data check counts a
    # 401 as acceptable, so a run with a refused token would pass everything above.
    seen = answers(tmp_path)
    assert seen, "schemathesis wrote no answers to its report"
    assert [(m, p, code) for m, p, code, _ in seen if code >= 500] == []
    # OPTIONS is answered without a token; auth/* and the health checks do not ask for one.
    guarded = [
        code for m, p, code, _ in seen if m != "OPTIONS" and "/auth/" not in p and p not in ("/healthz", "/readyz")
    ]
    accepted = [code for code in guarded if 200 <= code < 300]
    assert len(accepted) >= 50, f"only {len(accepted)} of {len(guarded)} answers behind the token were 2xx"
    whoami = [json.loads(body) for m, p, code, body in seen if (m, p, code) == ("GET", me, 200)]
    assert any(live.callers[caller](answer) for answer in whoami), (
        f"GET {me} never said the caller is {caller}: {whoami[:2]}"
    )


def schema_of(document: dict, schema: dict | None) -> dict | None:
    while schema and "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def names_its_fields(document: dict, schema: dict | None) -> bool:
    """An object with named properties, a list of such objects, or a choice among them."""
    schema = schema_of(document, schema)
    if not schema:
        return False
    if schema.get("type") == "array":
        return names_its_fields(document, schema.get("items"))
    for choice in ("oneOf", "anyOf", "allOf"):
        if choice in schema:
            return all(
                names_its_fields(document, part)
                for part in schema[choice]
                if schema_of(document, part).get("type") != "null"
            )
    return bool(schema.get("properties"))


def test_openapi_every_2xx_answer_documents_its_fields(live):
    """The mini-program's contract (issue #11): every 2xx answer of /api/mp/v1 and /api/sales/v1
    has a schema naming its fields, never a bare object (which every body matches, so the
    response-schema check above would pass whatever the API sent). A 204 has no body."""
    document = httpx.get(f"{live.base_url}/schema/openapi.json").json()
    untyped = []
    for path, operations in document["paths"].items():
        if not path.startswith(("/api/mp/v1/", "/api/sales/v1/")):
            continue
        for method, operation in operations.items():
            for status, response in (operation.get("responses") or {}).items() if isinstance(operation, dict) else ():
                if not status.startswith("2") or status == "204":
                    continue
                schema = ((response.get("content") or {}).get("application/json") or {}).get("schema")
                if not names_its_fields(document, schema):
                    untyped.append(f"{method.upper()} {path} {status}")
    assert untyped == []
