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
