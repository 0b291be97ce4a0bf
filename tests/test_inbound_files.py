"""E6 with real files: malformed inbound files from the ERP are each quarantined or ignored
with a recorded reason, through the real poller and file-drop connector, and the loop goes on."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from bridge.models import InboxEvent, InboxStatus, Order, OrderStatus
from tests.sync_helpers import filedrop_runtime, make_shop, place


def _write(folder, name, data: bytes):
    tmp = folder / f".{name}.tmp"
    tmp.write_bytes(data)
    tmp.rename(folder / name)


def test_e6_malformed_inbound_files_are_each_dealt_with_and_the_loop_goes_on(engine, tmp_path):
    # settle_s=0: a file that cannot be read is judged at once, not left a moment for its writer.
    rt = filedrop_runtime(engine, tmp_path, JHT_CONNECTOR__FILEDROP__SETTLE_S=0)
    shop = make_shop(engine, customers=1)
    order = place(engine, shop, shop["customers"][0])
    rt.poller().drain()
    inbox = rt.connector.root / "in"
    good = lambda event_id, status: json.dumps(  # noqa: E731
        {"event_id": event_id, "kind": "order.status", "data": {"order_no": order.order_no, "status": status}},
        ensure_ascii=False,
    ).encode()
    _write(inbox, "001_bad_json.json", b'{"event_id": "x", "kind": ')
    _write(inbox, "002_wrong_encoding.json", good("e2", "生产中").decode().encode("gb18030"))
    _write(
        inbox,
        "003_unknown_field.json",
        json.dumps({"event_id": "e3", "kind": "order.status", "colour": "red", "data": {}}).encode(),
    )
    _write(
        inbox,
        "004_missing_order.json",
        json.dumps(
            {"event_id": "e4", "kind": "order.status", "data": {"order_no": "JHT-19990101-0001", "status": "shipped"}}
        ).encode(),
    )
    _write(inbox, "005_forward.json", good("e5", "shipped"))
    _write(inbox, "006_backwards.json", good("e6", "in_production"))

    rt.poller().drain()

    with Session(engine) as s:
        rows = s.exec(select(InboxEvent).order_by(InboxEvent.id)).all()
        by_source = {r.source or r.event_id: r for r in rows}
        status = s.get(Order, order.id).status
    outcomes = {name: (row.status, bool(row.error)) for name, row in by_source.items()}
    assert outcomes["001_bad_json.json"] == (InboxStatus.QUARANTINED, True)
    assert outcomes["002_wrong_encoding.json"] == (InboxStatus.QUARANTINED, True)
    assert outcomes["003_unknown_field.json"] == (InboxStatus.QUARANTINED, True)
    assert outcomes["004_missing_order.json"] == (InboxStatus.PARKED, True)
    assert outcomes["005_forward.json"] == (InboxStatus.APPLIED, True)
    assert outcomes["006_backwards.json"] == (InboxStatus.IGNORED, True)
    assert status == OrderStatus.SHIPPED
    root = rt.connector.root
    errors = sorted(p.name for p in (root / "error").iterdir())
    assert errors == sorted(
        [f"{n}.json" for n in ("001_bad_json", "002_wrong_encoding", "003_unknown_field")]
        + [f"{n}.json.error.txt" for n in ("001_bad_json", "002_wrong_encoding", "003_unknown_field")]
    )
    assert sorted(p.name for p in (root / "archive").iterdir()) == [
        "004_missing_order.json",
        "005_forward.json",
        "006_backwards.json",
    ]
    assert list((root / "in").iterdir()) == []
    rt.connector.close()


def test_p12_02_a_corrected_file_with_the_same_event_id_is_applied_and_every_refusal_stays_in_sight(
    engine, tmp_path, monkeypatch
):
    """#12 point 2 (E3, E6): a shipment quarantined (a SKU not on the order) is in `inbox list`
    and fails `check`; the same file dropped again unchanged is refused again into error/ (not
    archived as if fine); the ERP person's corrected file, with the same event id, replaces it
    and is applied; an identical copy of the applied event stays a duplicate."""
    from typer.testing import CliRunner

    from bridge.cli import app
    from bridge.models import Shipment

    rt = filedrop_runtime(engine, tmp_path, JHT_CONNECTOR__FILEDROP__SETTLE_S=0)
    shop = make_shop(engine, customers=1)
    order = place(engine, shop, shop["customers"][0], qty=2)
    root = rt.connector.root

    def shipment(sku: str) -> bytes:
        data = {"order_no": order.order_no, "shipment_id": "FH-1", "courier": "顺丰速运", "tracking_no": "SF1"}
        data["lines"] = [{"sku": sku, "quantity": 2}]
        return json.dumps({"event_id": "FH-1", "kind": "order.shipment", "data": data}).encode()

    def cli(*args: str):
        monkeypatch.chdir(tmp_path)
        env = {"JHT_DATABASE__URL": engine.url.render_as_string(hide_password=False)}
        env |= {"JHT_CONNECTOR__FILEDROP__ROOT": str(root), "JHT_CONFIG": ""}
        return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)

    def row() -> InboxEvent:
        with Session(engine) as s:
            (only,) = s.exec(select(InboxEvent)).all()
            return only

    _write(root / "in", "001_shipment.json", shipment("WA-40O"))  # a typo: not on the order
    rt.poller().drain()
    assert row().status == InboxStatus.QUARANTINED and "'WA-40O' is not on order" in row().error
    listed = cli("inbox", "list", "--status", "quarantined")
    assert "FH-1" in listed.output and "WA-40O" in listed.output
    assert "[FAIL] connector filedrop: filedrop quarantine" in cli("check").output

    _write(root / "in", "001_shipment.json", shipment("WA-40O"))  # dropped again as it was
    rt.poller().drain()
    assert row().status == InboxStatus.QUARANTINED
    assert sorted(p.name for p in (root / "error").iterdir() if not p.name.endswith(".txt")) == [
        "001_shipment.2.json",
        "001_shipment.json",
    ]
    assert list((root / "archive").iterdir()) == []

    _write(root / "in", "001_shipment.json", shipment("WA-400"))  # corrected, same event id
    rt.poller().drain()
    assert row().status == InboxStatus.APPLIED and row().payload["lines"][0]["sku"] == "WA-400"
    assert [p.name for p in (root / "archive").iterdir()] == ["001_shipment.json"]

    _write(root / "in", "002_shipment_again.json", shipment("WA-400"))  # the applied one, twice
    rt.poller().drain()
    assert row().status == InboxStatus.APPLIED
    with Session(engine) as s:
        assert [x.erp_shipment_id for x in s.exec(select(Shipment))] == ["FH-1"]
    assert sorted(p.name for p in (root / "archive").iterdir()) == ["001_shipment.json", "002_shipment_again.json"]
    rt.connector.close()
