"""Issue 12, file drop: the ERP side writes what Chinese Windows software writes (E10) — local
times without a zone, GB18030 CSV with CRLF, files written in place — and the bridge reads it
right or refuses it with the reason; stock from stock.json and from stock events is merged by
freshness (E2); an event the bridge refuses puts its file in error/ (E3).

Each test runs the real poller and file-drop connector on real files (``filedrop_runtime``)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select
from typer.testing import CliRunner

from bridge.cli import app
from bridge.models import InboxEvent, InboxStatus, Order, Shipment, StockSnapshot
from tests.sync_helpers import filedrop_runtime, make_shop, place

CSV_HEADER = "event_id,kind,order_no,shipment_id,courier,tracking_no,shipped_at,sku,quantity,order_status,as_of"


def _write(folder, name, data: bytes) -> None:
    """As a well-behaved ERP writes: a temporary name, then a rename."""
    tmp = folder / f".{name}.tmp"
    tmp.write_bytes(data)
    tmp.rename(folder / name)


def _gb18030_csv(*rows: str) -> bytes:
    return ("\r\n".join((CSV_HEADER, *rows)) + "\r\n").encode("gb18030")


def _inbox(engine) -> dict[str, InboxEvent]:
    with Session(engine) as s:
        return {r.event_id: r for r in s.exec(select(InboxEvent))}


def test_p12_01_local_times_without_a_zone_are_read_in_the_bridge_time_zone(engine, tmp_path):
    """E10 (#12 point 1): ``2026-12-03 15:40:00``, ``2026/12/03 19:00``, ``2026-12-03T15:40`` and
    ``2026/12/3 9:05:00`` are wall times in ``[bridge] timezone``; ``03/12/2026`` (3 December or
    12 March?) and ``15:40`` (which day?) are refused with the reason, in error/ and the inbox."""
    rt = filedrop_runtime(
        engine,
        tmp_path,
        JHT_BRIDGE__TIMEZONE="Asia/Shanghai",
        JHT_CONNECTOR__FILEDROP__SETTLE_S=0,
        JHT_CONNECTOR__FILEDROP__ENCODING="gb18030",
    )
    shop = make_shop(engine, customers=1)
    order = place(engine, shop, shop["customers"][0], qty=4)
    inbox = rt.connector.root / "in"
    no = order.order_no
    _write(
        inbox,
        "001_shipments.csv",
        _gb18030_csv(
            f"FH-1,order.shipment,{no},FH-1,顺丰速运,SF1,2026-12-03 15:40:00,WA-400,1,,",
            f"FH-2,order.shipment,{no},FH-2,中通快递,ZT2,2026/12/03 19:00,WA-400,1,,",
            "KC-1,stock,,,,,,C-105,7,,2026/12/3 9:05:00",
        ),
    )
    shipment = {"order_no": no, "shipment_id": "FH-3", "courier": "德邦物流", "tracking_no": "DPK3"}
    _write(
        inbox,
        "002_shipment.json",
        json.dumps(
            {
                "event_id": "FH-3",
                "kind": "order.shipment",
                "data": {**shipment, "shipped_at": "2026-12-03T15:40", "lines": [{"sku": "WA-400", "quantity": 1}]},
            },
            ensure_ascii=False,
        ).encode("gb18030"),
    )
    _write(
        inbox, "003_day_or_month.csv", _gb18030_csv(f"FH-4,order.shipment,{no},FH-4,顺丰速运,SF4,03/12/2026,WA-400,1,,")
    )
    _write(inbox, "004_no_date.csv", _gb18030_csv(f"FH-5,order.shipment,{no},FH-5,顺丰速运,SF5,15:40,WA-400,1,,"))

    rt.poller().drain()

    with Session(engine) as s:
        shipped = {
            x.erp_shipment_id: x.shipped_at
            for x in s.exec(select(Shipment).where(Shipment.order_id == s.get(Order, order.id).id))
        }
        stock = s.get(StockSnapshot, "C-105")
    assert shipped == {
        "FH-1": datetime(2026, 12, 3, 7, 40, tzinfo=UTC),
        "FH-2": datetime(2026, 12, 3, 11, 0, tzinfo=UTC),
        "FH-3": datetime(2026, 12, 3, 7, 40, tzinfo=UTC),
    }
    assert stock.as_of == datetime(2026, 12, 3, 1, 5, tzinfo=UTC)
    error = rt.connector.root / "error"
    day_or_month = (error / "003_day_or_month.csv.error.txt").read_bytes().decode("gb18030")
    assert "'03/12/2026' puts the year last, so day and month cannot be told apart" in day_or_month
    assert "'15:40' has no date" in (error / "004_no_date.csv.error.txt").read_bytes().decode("gb18030")
    refused = [r for r in _inbox(engine).values() if r.status == InboxStatus.QUARANTINED]
    assert sorted(r.source for r in refused) == ["003_day_or_month.csv", "004_no_date.csv"]
    assert all("has no date" in r.error or "puts the year last" in r.error for r in refused)
    rt.connector.close()


def test_p12_01_the_zone_is_the_configured_one(engine, tmp_path):
    """E10 (#12 point 1): the same wall time means another instant under another
    ``[bridge] timezone``: the zone is read from the config, not assumed; the stock snapshot's
    ``as_of`` without an offset too."""
    rt = filedrop_runtime(engine, tmp_path, JHT_BRIDGE__TIMEZONE="Europe/Berlin", JHT_CONNECTOR__FILEDROP__SETTLE_S=0)
    _write(
        rt.connector.root / "in",
        "001_stock.json",
        json.dumps(
            {"event_id": "KC-1", "kind": "stock", "data": {"as_of": "2026-12-03 15:40:00", "items": {"C-105": 3}}}
        ).encode(),
    )
    _write(rt.connector.root, "stock.json", json.dumps({"as_of": "2026/7/1 12:00", "items": {"WA-400": 1}}).encode())
    rt.poller().drain()
    with Session(engine) as s:
        assert s.get(StockSnapshot, "C-105").as_of == datetime(2026, 12, 3, 14, 40, tzinfo=UTC)
    assert rt.connector.stock_as_of() == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)  # CEST in July
    rt.connector.close()


STOCK_ROW = "{event_id},stock,,,,,,{sku},{quantity},,"


def _stock_figures(engine) -> dict[str, int]:
    with Session(engine) as s:
        return {r.sku: int(r.quantity) for r in s.exec(select(StockSnapshot))}


def test_p12_04_a_file_written_in_place_is_read_only_once_complete(engine, tmp_path):
    """E10 (#12 point 4): an ERP that writes the final name directly, in two writes with the
    bridge looking in between, loses no row: a file is read only once its size and modification
    time have held still for settle_s (the default; here shortened)."""
    rt = filedrop_runtime(engine, tmp_path, JHT_CONNECTOR__FILEDROP__SETTLE_S=0.3)
    path = rt.connector.root / "in" / "001_stock.csv"
    with open(path, "wb") as fh:  # in place: no temporary name, no rename
        fh.write((CSV_HEADER + "\r\n" + STOCK_ROW.format(event_id="KC-1", sku="C-105", quantity=7) + "\r\n").encode())
        fh.flush()
        rt.poller().drain()  # the bridge looks between the two writes
        fh.write((STOCK_ROW.format(event_id="KC-2", sku="WA-400", quantity=9) + "\r\n").encode())
    rt.poller().drain()  # just written: still left alone
    assert _stock_figures(engine) == {} and path.exists()
    time.sleep(0.4)
    rt.poller().drain()
    assert _stock_figures(engine) == {"C-105": 7, "WA-400": 9}
    assert {e: r.status for e, r in _inbox(engine).items()} == {
        "KC-1": InboxStatus.APPLIED,
        "KC-2": InboxStatus.APPLIED,
    }
    assert (rt.connector.root / "archive" / "001_stock.csv").read_bytes().count(b"\r\n") == 3
    rt.connector.close()


def test_p12_04_a_file_that_grows_after_it_was_read_is_read_again_not_archived(engine, tmp_path):
    """E10 (#12 point 4): a writer that paused longer than settle_s and then goes on is not cut
    off: the file changed since it was read, so it is not moved away but read again, and the
    rows already applied are skipped by their ids."""
    rt = filedrop_runtime(engine, tmp_path, JHT_CONNECTOR__FILEDROP__SETTLE_S=0.2)
    path = rt.connector.root / "in" / "001_stock.csv"
    path.write_bytes(
        (CSV_HEADER + "\r\n" + STOCK_ROW.format(event_id="KC-1", sku="C-105", quantity=7) + "\r\n").encode()
    )
    time.sleep(0.3)
    assert rt.connector.pull_events(None)[0] == []  # first seen now: it must be seen to hold still
    time.sleep(0.3)
    events, _ = rt.connector.pull_events(None)
    assert [e.event_id for e in events] == ["KC-1"]
    with open(path, "ab") as fh:  # the ERP goes on writing
        fh.write((STOCK_ROW.format(event_id="KC-2", sku="WA-400", quantity=9) + "\r\n").encode())
    poller = rt.poller()
    for event in events:
        poller.handle(event)
    assert path.exists() and not list((rt.connector.root / "archive").iterdir())
    time.sleep(0.3)
    poller.drain()
    time.sleep(0.3)
    poller.drain()
    assert _stock_figures(engine) == {"C-105": 7, "WA-400": 9}
    assert {e: r.status for e, r in _inbox(engine).items()} == {
        "KC-1": InboxStatus.APPLIED,
        "KC-2": InboxStatus.APPLIED,
    }
    assert [p.name for p in (rt.connector.root / "archive").iterdir()] == ["001_stock.csv"]
    rt.connector.close()


def test_p12_05_stock_json_and_stock_events_are_merged_by_freshness(engine, tmp_path):
    """E2 (#12 point 5): with stock.json there, a stock event still counts — for an item the
    file does not list, and where it is newer than the file; a newer file wins back; a figure
    older than [orders] stock_snapshot_max_age_s counts from neither source."""
    rt = filedrop_runtime(engine, tmp_path, JHT_ORDERS__STOCK_SNAPSHOT_MAX_AGE_S=3600)
    root = rt.connector.root
    now = datetime.now(UTC)

    def stock_file(minutes_ago: int, items: dict) -> None:
        as_of = (now - timedelta(minutes=minutes_ago)).isoformat()
        _write(root, "stock.json", json.dumps({"as_of": as_of, "items": items}).encode())

    def stock_event(event_id: str, minutes_ago: int, items: dict) -> None:
        as_of = (now - timedelta(minutes=minutes_ago)).isoformat()
        data = {"as_of": as_of, "items": items}
        _write(
            root / "in", f"{event_id}.json", json.dumps({"event_id": event_id, "kind": "stock", "data": data}).encode()
        )
        rt.poller().drain()

    stock_file(10, {"WA-400": 5, "OLD-1": 9})
    stock_event("KC-1", 5, {"WA-400": 50, "C-105": 40})
    stock_event("KC-2", 120, {"GC-350": 8})  # older than the hour the bridge trusts
    checker = rt.stock_checker()
    skus = ["WA-400", "C-105", "GC-350"]
    assert checker.check(skus).quantities == {"WA-400": 50, "C-105": 40}
    stock_file(1, {"WA-400": 2})  # the ERP's newer copy
    assert checker.check(skus).quantities == {"WA-400": 2, "C-105": 40}
    stock_file(300, {"OLD-1": 9})
    assert checker.check(["OLD-1"]).quantities == {}  # five hours old: stock unknown, not 9
    checker.close()
    rt.connector.close()


def test_p12_07_an_unknown_erp_status_word_sends_its_file_to_error_with_the_reason(engine, tmp_path):
    """E3 (#12 point 7): an event the bridge refuses — an ERP status word not in
    [sync.status_map] — puts its file in error/ with the reason and how to apply it once fixed
    (the others of the file are applied); ``inbox list`` shows the reason with the table's name."""
    rt = filedrop_runtime(engine, tmp_path)
    shop = make_shop(engine, customers=1)
    order = place(engine, shop, shop["customers"][0])
    events = [
        {"event_id": "a", "kind": "order.accepted", "data": {"order_no": order.order_no, "erp_ref": "SO-1"}},
        {"event_id": "b", "kind": "order.status", "data": {"order_no": order.order_no, "status": "吃饭中"}},
    ]
    _write(rt.connector.root / "in", "001_status.json", json.dumps(events, ensure_ascii=False).encode())
    rt.poller().drain()

    inbox = _inbox(engine)
    assert (inbox["a"].status, inbox["b"].status) == (InboxStatus.APPLIED, InboxStatus.DEAD)
    error = rt.connector.root / "error"
    assert sorted(p.name for p in error.iterdir()) == ["001_status.json", "001_status.json.error.txt"]
    assert not list((rt.connector.root / "archive").iterdir())
    note = (error / "001_status.json.error.txt").read_text("utf-8-sig")
    assert "event b: unknown ERP status '吃饭中'" in note and "[sync.status_map]" in note
    assert "jht-bridge inbox replay" in note and "event a" not in note
    # The ERP's people read the reason in Chinese too, not only "see the English line above".
    assert "事件 b 被拒绝：桥接程序不认识 ERP 状态「吃饭中」：需在桥接程序配置的 [sync.status_map] 中加入" in note
    assert "原因见上一行英文说明" not in note

    config = tmp_path / "bridge.toml"
    config.write_text(
        f'[database]\nurl = "{engine.url.render_as_string(hide_password=False)}"\n\n'
        f'[connector.filedrop]\nroot = "{rt.connector.root.as_posix()}"\n',
        encoding="utf-8",
    )
    listed = CliRunner().invoke(app, ["--config", str(config), "inbox", "list", "--status", "dead"])
    assert listed.exit_code == 0, listed.output
    assert "'吃饭中': add it to [sync.status_map]" in listed.output
    rt.connector.close()


def test_e3_an_event_refused_as_malformed_after_reading_says_why_in_chinese(engine, tmp_path):
    """E3: an event the bridge reads but refuses as malformed (here a shipment without its
    shipment_id, and a line of quantity 0) is quarantined with the reason in English and in
    Chinese in the file's error note."""
    rt = filedrop_runtime(engine, tmp_path)
    shop = make_shop(engine, customers=1)
    order = place(engine, shop, shop["customers"][0])
    events = [
        {"event_id": "s1", "kind": "order.shipment", "data": {"order_no": order.order_no, "lines": []}},
        {
            "event_id": "s2",
            "kind": "order.shipment",
            "data": {"order_no": order.order_no, "shipment_id": "FH-1", "lines": [{"sku": "WA-400", "quantity": 0}]},
        },
    ]
    _write(rt.connector.root / "in", "002_ship.json", json.dumps(events, ensure_ascii=False).encode())
    rt.poller().drain()
    inbox = _inbox(engine)
    assert (inbox["s1"].status, inbox["s2"].status) == (InboxStatus.QUARANTINED, InboxStatus.QUARANTINED)
    note = (rt.connector.root / "error" / "002_ship.json.error.txt").read_text("utf-8-sig")
    assert "event s1: shipment_id is missing" in note and "事件 s1 被拒绝：缺少 shipment_id" in note
    assert (
        "lines[1].quantity must be a positive whole number" in note
        and "事件 s2 被拒绝：lines[1].quantity 应为正整数" in note
    )
    assert "原因见上一行英文说明" not in note
    rt.connector.close()
