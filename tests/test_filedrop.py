"""The file-drop connector: the shared contract kit, then what is particular to files (names,
atomic writes, formats and encodings, markers, quarantine, stock snapshot, watching, check)."""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.config import load_config
from bridge.connector import PermanentError, TransientError
from bridge.plugins import load_connector
from connectors.filedrop import FiledropConnector, make_folders
from connectors.filedrop import connector as connector_module
from connectors.filedrop import files as files_module
from connectors.filedrop.formats import decode_document
from connectors.filedrop.simulator import ErpSimulator, SimulatorHarness
from tests.doubles.connector_kit import AT, ConnectorContract, sample_command, sample_customer, sample_order

FORMATS = [pytest.param(("json", "utf-8"), id="json-utf8"), pytest.param(("csv", "gb18030"), id="csv-gb18030")]


@pytest.fixture
def root(tmp_path) -> Path:
    folder = tmp_path / "erp"
    make_folders(folder)
    return folder


def make_connector(root: Path, **settings) -> FiledropConnector:
    return FiledropConnector({"root": str(root), "settle_s": 0, **settings})


@pytest.fixture
def fd(root):
    connector = make_connector(root)
    yield connector
    connector.close()


def names(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def drop(root: Path, name: str, content, *, encoding: str = "utf-8") -> Path:
    """Put an inbound file into in/ the way a well-behaved ERP does (temporary name, rename)."""
    data = (
        content
        if isinstance(content, bytes)
        else (content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)).encode(encoding)
    )
    return files_module.write_atomic(root / "in", name, data)


def ack_all(connector, events, outcome="applied"):
    for event in events:
        connector.ack(event, outcome)


# =========================================================================== the contract kit


class TestFiledropContract(ConnectorContract):
    """The shared connector contract, in JSON/UTF-8 and in CSV/GB18030."""

    @pytest.fixture(params=FORMATS)
    def fmt(self, request):
        return request.param

    @pytest.fixture
    def connector(self, root, fmt):
        connector = make_connector(root, format=fmt[0], encoding=fmt[1])
        yield connector
        connector.close()

    @pytest.fixture
    def erp(self, root, fmt):
        sim = ErpSimulator(root, fmt=fmt[0], encoding=fmt[1], stock={"WA-100": 500})
        yield SimulatorHarness(sim)
        sim.come_back()


# =========================================================================== outgoing


def test_e1_order_file_is_named_by_outbox_id_order_number_and_kind(fd, root):
    """E1: ``{seq}_{ref}_{kind}.{ext}``, seq the outbox id, zero-padded; nothing else left."""
    assert fd.push_order({**sample_order("JHT-20261125-0001"), "_outbox_id": 42}) is None
    assert names(root / "out") == ["000000000042_JHT-20261125-0001_order.create.json"]


def test_e1_names_sort_in_delivery_order_and_say_what_they_hold(fd, root):
    """E1, E4, E5: a customer before its orders, commands after: name order is outbox order."""
    fd.push_customer({**sample_customer(3), "_outbox_id": 9})
    fd.push_order({**sample_order("JHT-20261125-0001", customer_id=3), "_outbox_id": 10})
    fd.order_command(
        "JHT-20261125-0001", "release", AT, {**sample_command("JHT-20261125-0001", "release"), "_outbox_id": 11}
    )
    fd.push_merge(
        {
            "schema": "jht.customer_merge/1",
            "survivor": {"id": 3, "erp_code": "C0003", "name": "甲"},
            "absorbed": {"id": 4, "erp_code": None, "name": "乙"},
            "at": AT.isoformat(),
            "_outbox_id": 12,
        }
    )
    fd.push_order({**sample_order("JHT-20261125-0002", customer_id=3), "_outbox_id": 100})
    assert names(root / "out") == [
        "000000000009_customer-3_customer.upsert.json",
        "000000000010_JHT-20261125-0001_order.create.json",
        "000000000011_JHT-20261125-0001_order.release.json",
        "000000000012_customer-3_customer.merge.json",
        "000000000100_JHT-20261125-0002_order.create.json",
    ]


def test_e1_without_an_outbox_id_names_still_sort_in_call_order(fd, root):
    """E1: a document without ``_outbox_id`` gets a timestamp sequence, strictly increasing."""
    for n in range(1, 6):
        fd.push_order(sample_order(f"JHT-20261125-000{n}"))
    written = names(root / "out")
    assert [n.split("_")[1] for n in written] == [f"JHT-20261125-000{n}" for n in range(1, 6)]
    assert all(len(n.split("_")[0]) == 20 and n.split("_")[0].isdigit() for n in written)


def test_e6_redelivery_writes_the_same_name_with_the_same_bytes(fd, root):
    """E6: the dispatcher delivering a message again leaves one identical file."""
    doc = {**sample_order(), "_outbox_id": 5}
    fd.push_order(doc)
    first = (root / "out" / names(root / "out")[0]).read_bytes()
    fd.push_order(doc)
    assert len(names(root / "out")) == 1
    assert (root / "out" / names(root / "out")[0]).read_bytes() == first
    assert b"_outbox_id" not in first


def test_e1_a_failed_write_leaves_no_file_at_all(fd, root, monkeypatch):
    """E1: the disk failing half way (here fsync) leaves neither a temporary file nor a file
    under the final name, and is transient."""

    def failing_fsync(fd_):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(files_module.os, "fsync", failing_fsync)
    with pytest.raises(TransientError, match="Input/output error"):
        fd.push_order({**sample_order(), "_outbox_id": 1})
    assert os.listdir(root / "out") == []


def _spy_on_settling(monkeypatch) -> list[tuple[str, str]]:
    """What settle does, in order: ("fsync", temp name), ("rename", final name), ("fsync
    folder", folder name)."""
    steps: list[tuple[str, str]] = []
    real_fsync, real_replace, real_dir = (
        connector_module.fsync_file,
        files_module.os.replace,
        connector_module.fsync_dir,
    )

    def fsync_file(path):
        steps.append(("fsync", Path(path).name))
        real_fsync(path)

    def replace(src, dst):
        steps.append(("rename", Path(dst).name))
        real_replace(src, dst)

    def fsync_dir(folder):
        steps.append(("fsync folder", Path(folder).name))
        real_dir(folder)

    monkeypatch.setattr(connector_module, "fsync_file", fsync_file)
    monkeypatch.setattr(files_module.os, "replace", replace)
    monkeypatch.setattr(connector_module, "fsync_dir", fsync_dir)
    return steps


def test_e1_a_rounds_files_appear_at_settle_fsynced_before_they_are_renamed(fd, root, monkeypatch):
    """E1 (issue #16): in a dispatcher's round the files wait under temporary names the ERP
    ignores; settle fsyncs every one, then renames them into out/ in the order they were
    delivered, then fsyncs the folder, before the dispatcher records anything."""
    steps = _spy_on_settling(monkeypatch)
    fd.open_round()
    for n in (3, 1, 2):
        fd.push_order({**sample_order(f"JHT-20261125-000{n}"), "_outbox_id": n})
    waiting = names(root / "out")
    assert len(waiting) == 3 and all(files_module.is_ignored(n) for n in waiting), waiting
    assert steps == []

    fd.settle()
    final = [f"00000000000{n}_JHT-20261125-000{n}_order.create.json" for n in (3, 1, 2)]
    assert names(root / "out") == sorted(final)
    assert sorted(name for step, name in steps[:3] if step == "fsync") == sorted(waiting)
    assert steps[3:] == [("rename", name) for name in final] + [("fsync folder", "out")]
    for name in final:
        assert decode_document("order.create", (root / "out" / name).read_bytes(), "json", "utf-8")["order_no"] in name
    fd.close_round()
    assert len(names(root / "out")) == 3


def test_e1_a_round_whose_fsync_fails_shows_the_erp_nothing_and_is_transient(fd, root, monkeypatch):
    """E1: the disk failing at settle leaves no file under a final name and no temporary file;
    the error is transient (the dispatcher delivers the round's messages again)."""
    fd.open_round()
    for n in (1, 2):
        fd.push_order({**sample_order(f"JHT-20261125-000{n}"), "_outbox_id": n})

    def failing(path):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(connector_module, "fsync_file", failing)
    with pytest.raises(TransientError, match="Input/output error"):
        fd.settle()
    assert os.listdir(root / "out") == []
    fd.close_round()
    assert os.listdir(root / "out") == []


def test_e1_a_round_closed_without_settle_leaves_nothing(fd, root):
    """E1: files of a round that was never settled (the dispatcher failed before recording
    them) are removed with the round: their messages were not recorded and go again."""
    fd.open_round()
    fd.push_order({**sample_order(), "_outbox_id": 1})
    assert len(os.listdir(root / "out")) == 1
    fd.close_round()
    assert os.listdir(root / "out") == []


def test_e1_outside_the_dispatchers_round_a_file_is_in_place_when_the_push_returns(fd, root):
    """E1: a push on another thread than the round's (or with no round open) is done when it
    returns, as every caller other than the dispatcher expects."""
    fd.open_round()
    other = threading.Thread(target=fd.push_order, args=({**sample_order("JHT-20261125-0009"), "_outbox_id": 9},))
    other.start()
    other.join(10)
    assert names(root / "out") == ["000000000009_JHT-20261125-0009_order.create.json"]
    fd.close_round()
    assert names(root / "out") == ["000000000009_JHT-20261125-0009_order.create.json"]


def test_e1_an_unwritable_value_in_a_late_line_is_permanent_and_writes_nothing(fd, root):
    """E1: the whole file is built before anything is written."""
    doc = sample_order(lines=3)
    doc["lines"][2]["unit_price"] = {1, 2}
    with pytest.raises(PermanentError, match=r"lines\[2\]\.unit_price"):
        fd.push_order({**doc, "_outbox_id": 1})
    assert os.listdir(root / "out") == []


def test_e1_a_reader_never_sees_a_partial_file_under_a_final_name(fd, root):
    """E1: while orders are being written, every file under a final name is complete JSON."""
    big = sample_order(lines=40, remark="砂轮" * 2000)
    problems, stop = [], threading.Event()

    def reader():
        while not stop.is_set():
            for name in os.listdir(root / "out"):
                if files_module.is_ignored(name):
                    continue
                try:
                    json.loads((root / "out" / name).read_bytes().decode("utf-8"))
                except FileNotFoundError:
                    pass
                except ValueError as exc:
                    problems.append((name, str(exc)))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for n in range(60):
            fd.push_order({**big, "order_no": f"JHT-20261125-{n:04d}", "_outbox_id": n + 1})
    finally:
        stop.set()
        thread.join(5)
    assert problems == []
    assert len(names(root / "out")) == 60


def test_e1_json_keeps_chinese_as_characters_in_utf8(fd, root):
    """E1: UTF-8 JSON, indented, Chinese as characters (not \\u escapes)."""
    fd.push_order({**sample_order(), "_outbox_id": 1})
    raw = (root / "out" / names(root / "out")[0]).read_bytes()
    assert "请用木箱包装".encode("utf-8") in raw and b"\\u" not in raw
    assert raw.startswith(b"{\n  ")


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_e1_gb18030_round_trip_of_chinese_names_and_remarks(root, fmt):
    """E1, E4: in GB18030 (JSON or CSV) Chinese customer names, addresses and remarks reach
    the ERP side intact, including characters outside GBK (𠮷)."""
    connector = make_connector(root, format=fmt, encoding="gb18030")
    customer = sample_customer(8, name="𠮷祥砂轮厂", contact_name="欧阳娜娜")
    order = sample_order(customer_id=8, remark="加急！周五前发货，请联系王工")
    connector.push_customer({**customer, "_outbox_id": 1})
    connector.push_order({**order, "_outbox_id": 2})
    customer_file, order_file = names(root / "out")
    raw = (root / "out" / order_file).read_bytes()
    assert not raw.startswith(codecs.BOM_UTF8)
    assert "加急！周五前发货".encode("gb18030") in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    got_customer = decode_document("customer.upsert", (root / "out" / customer_file).read_bytes(), fmt, "gb18030")
    got_order = decode_document("order.create", raw, fmt, "gb18030")
    assert (got_customer["name"], got_customer["contact_name"]) == ("𠮷祥砂轮厂", "欧阳娜娜")
    assert (got_order["remark"], got_order["ship_to"]["detail"]) == (order["remark"], order["ship_to"]["detail"])
    assert [(line["sku"], line["quantity"], line["spec"]) for line in got_order["lines"]] == [
        (line["sku"], line["quantity"], line["spec"]) for line in order["lines"]
    ]
    if fmt == "json":
        assert got_order == order and got_customer == customer


def test_e1_csv_order_is_one_row_per_line_with_the_header_repeated(root):
    """E1: CSV order = one row per line, order and customer fields on every row, a BOM in
    UTF-8 so Excel shows the Chinese."""
    connector = make_connector(root, format="csv")
    connector.push_order({**sample_order(lines=3), "_outbox_id": 1})
    (name,) = names(root / "out")
    assert name.endswith("_order.create.csv")
    raw = (root / "out" / name).read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert len(rows) == 3
    assert {
        (r["order_no"], r["customer_id"], r["customer_name"], r["ship_to_recipient"], r["remark"]) for r in rows
    } == {("JHT-20261125-0001", "1", "无锡精工磨具有限公司", "李娜", "请用木箱包装，轻拿轻放")}
    assert [(r["line_no"], r["sku"], r["quantity"], r["unit"], r["unit_price"]) for r in rows] == [
        ("1", "WA-100", "10", "片", "12.50"),
        ("2", "WA-200", "20", "片", "12.50"),
        ("3", "WA-300", "30", "片", "12.50"),
    ]
    assert rows[0]["released"] == "false"


def test_e4_e5_csv_customer_and_command_are_one_row(root):
    """E4, E5: customers and commands are one-row CSV files."""
    connector = make_connector(root, format="csv")
    connector.push_customer({**sample_customer(2), "_outbox_id": 1})
    connector.order_command("JHT-20261125-0001", "cancel", AT, None)
    for name in names(root / "out"):
        rows = list(csv.DictReader(io.StringIO((root / "out" / name).read_text("utf-8-sig"), newline="")))
        assert len(rows) == 1
    command_file = [n for n in names(root / "out") if n.endswith("_order.cancel.csv")][0]
    row = next(csv.DictReader(io.StringIO((root / "out" / command_file).read_text("utf-8-sig"), newline="")))
    assert row == {"order_no": "JHT-20261125-0001", "command": "cancel", "at": AT.isoformat()}


def test_e5_command_file_holds_the_command_document(fd, root):
    """E5: ``{seq}_{order_no}_order.{command}.json`` with the jht.order_command/1 document; a
    document for another order or command is refused."""
    doc = {**sample_command("JHT-20261125-0001", "complete"), "_outbox_id": 77}
    fd.order_command("JHT-20261125-0001", "complete", AT, doc)
    (name,) = names(root / "out")
    assert name == "000000000077_JHT-20261125-0001_order.complete.json"
    assert json.loads((root / "out" / name).read_text("utf-8")) == sample_command("JHT-20261125-0001", "complete")
    with pytest.raises(PermanentError, match="not JHT-20261125-0009"):
        fd.order_command("JHT-20261125-0009", "complete", AT, doc)


def test_e6_missing_share_is_transient_and_names_the_folder(root, tmp_path):
    """E6: root missing (share not mounted) → TransientError naming the path."""
    connector = make_connector(root)
    os.rename(root, tmp_path / "elsewhere")
    with pytest.raises(TransientError, match=str(root)):
        connector.push_order({**sample_order(), "_outbox_id": 1})
    with pytest.raises(TransientError, match=str(root)):
        connector.pull_events(None)


def test_e6_missing_out_folder_is_transient_and_names_it(fd, root):
    (root / "out").rmdir()
    with pytest.raises(TransientError, match=str(root / "out")):
        fd.push_customer({**sample_customer(), "_outbox_id": 1})


def test_e6_text_that_cannot_be_encoded_is_permanent(fd, root):
    """E6: a lone surrogate cannot be written in any encoding: permanent, nothing written."""
    with pytest.raises(PermanentError, match="cannot be written"):
        fd.push_customer({**sample_customer(name="坏\udc80名"), "_outbox_id": 1})
    assert os.listdir(root / "out") == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_p12_14_e8_render_is_the_file_a_delivery_writes(root, fmt):
    """#12 point 14, E8: ``render`` gives, for an order and an order command, the name the
    delivery writes in out/ and the file's bytes as text in the configured encoding, without
    writing anything; the delivery then writes exactly those bytes."""
    connector = make_connector(root, format=fmt[0], encoding=fmt[1])
    order = {**sample_order(), "_outbox_id": 3}
    command = {**sample_command("JHT-20261125-0001", "release"), "_outbox_id": 4}
    [order_file] = connector.render("push_order", order)
    [command_file] = connector.render("order_command", command)
    assert order_file.title.startswith(f"out/000000000003_JHT-20261125-0001_order.create.{fmt[0]} (")
    assert command_file.title.startswith(f"out/000000000004_JHT-20261125-0001_order.release.{fmt[0]} (")
    assert fmt[1] in order_file.title and "无锡精工磨具有限公司" in order_file.text
    assert os.listdir(root / "out") == []

    connector.push_order(order)
    connector.order_command("JHT-20261125-0001", "release", command["at"], command)
    for shown in (order_file, command_file):
        data = (root / shown.title.split(" ")[0]).read_bytes()
        assert f"({len(data)} bytes, {fmt[1]}" in shown.title
        assert data.decode("gb18030" if fmt[1] == "gb18030" else "utf-8-sig") == shown.text
    with pytest.raises(PermanentError, match="cannot be written"):  # as the delivery refuses it
        connector.render("push_customer", {**sample_customer(name="坏\udc80名"), "_outbox_id": 5})


# =========================================================================== incoming


def test_e3_temporary_names_are_never_read(fd, root):
    """E3: names starting with . or ~, ending .tmp / .part, and markers are ignored."""
    event = {"kind": "order.status", "data": {"order_no": "JHT-20261125-0001", "status": "shipped"}}
    for name in (".tmp-1.json", "~lock.json", "x.json.tmp", "y.json.part", "z.json.done"):
        (root / "in" / name).write_text(json.dumps(event))
    assert fd.pull_events(None) == ([], None)


def test_e3_files_are_read_in_name_order(fd, root):
    """E3: oldest file name first, whatever order they were written in."""
    for n in (3, 1, 2):
        drop(
            root,
            f"0000000{n}_status.json",
            {
                "event_id": f"e{n}",
                "kind": "order.status",
                "data": {"order_no": "JHT-20261125-0001", "status": "in_production"},
            },
        )
    events, cursor = fd.pull_events(None)
    assert [e.event_id for e in events] == ["e1", "e2", "e3"]
    assert cursor == "00000003_status.json"


def test_e3_a_file_may_hold_a_list_of_events_and_leaves_in_when_all_are_acked(fd, root):
    """E3: a JSON array of events; an event without an id gets ``{file}#{n}:{hash}``; the file
    moves to archive/ only once every one of its events is acknowledged."""
    drop(
        root,
        "batch.json",
        [
            {
                "event_id": "ship-1",
                "kind": "order.shipment",
                "data": {
                    "order_no": "JHT-20261125-0001",
                    "shipment_id": "S1",
                    "courier": "中通快递",
                    "tracking_no": "75312345678901",
                    "lines": [{"sku": "WA-100", "quantity": 5}],
                },
            },
            {"kind": "order.status", "data": {"order_no": "JHT-20261125-0001", "status": "已发货"}},
        ],
    )
    events, _ = fd.pull_events(None)
    assert events[0].event_id == "ship-1"
    assert events[1].event_id.startswith("batch.json#2:")
    assert {e.source for e in events} == {"batch.json"}
    fd.ack(events[0], "applied")
    assert names(root / "in") == ["batch.json"]
    assert [e.event_id for e in fd.pull_events(None)[0]] == [events[1].event_id]
    fd.ack(events[1], "ignored")
    assert names(root / "in") == [] and names(root / "archive") == ["batch.json"]


def test_e3_a_reused_file_name_with_new_content_gives_new_event_ids(fd, root):
    """E3: an ERP that always writes status.json is not mistaken for a duplicate."""
    drop(root, "status.json", {"kind": "order.status", "data": {"order_no": "JHT-20261125-0001", "status": "生产中"}})
    first, _ = fd.pull_events(None)
    ack_all(fd, first)
    drop(root, "status.json", {"kind": "order.status", "data": {"order_no": "JHT-20261125-0001", "status": "等待发货"}})
    second, _ = fd.pull_events(None)
    assert first[0].event_id != second[0].event_id
    ack_all(fd, second)
    assert names(root / "archive") == ["status.2.json", "status.json"]


def test_e3_done_marker_mode_reads_only_marked_files_and_archives_the_marker(root):
    """E3: with require_done_marker, a file is read only once <file>.done is beside it."""
    connector = make_connector(root, require_done_marker=True)
    (root / "in" / "e1.json").write_text(
        json.dumps({"kind": "order.released", "data": {"order_no": "JHT-20261125-0001"}})
    )
    assert connector.pull_events(None)[0] == []
    (root / "in" / "e1.json.done").write_text("")
    events, _ = connector.pull_events(None)
    assert [e.kind for e in events] == ["order.released"]
    ack_all(connector, events)
    assert names(root / "in") == []
    assert names(root / "archive") == ["e1.json", "e1.json.done"]


def test_e3_without_marker_mode_an_unmarked_file_is_read(fd, root):
    drop(root, "e1.json", {"kind": "order.released", "data": {"order_no": "JHT-20261125-0001"}})
    assert len(fd.pull_events(None)[0]) == 1


MALFORMED = [
    pytest.param(b'{"kind": "order.status", "data": {', "not valid JSON", id="bad-json"),
    pytest.param(
        '{"kind": "order.status", "data": {"status": "已发货"}}'.encode("gb18030"),
        "not valid UTF-8",
        id="wrong-encoding",
    ),
    pytest.param(
        b'{"kind": "stock", "data": {"items": {}}, "sent_at": "today"}',
        "unknown fields ['sent_at']",
        id="unknown-field",
    ),
    pytest.param(b"42", "not an event object", id="not-an-object"),
    pytest.param(b'["x"]', "not an object", id="list-of-non-objects"),
    pytest.param(b'{"kind": "order.teleported", "data": {}}', "unknown kind 'order.teleported'", id="unknown-kind"),
    pytest.param(b'{"data": {"order_no": "X"}}', "no kind", id="missing-kind"),
    pytest.param(b'{"kind": "order.status", "data": "shipped"}', "data must be an object", id="data-not-object"),
    pytest.param(b"", "empty", id="empty-file"),
]


@pytest.mark.parametrize("content, reason", MALFORMED)
def test_e3_a_malformed_file_is_one_quarantined_event_then_moved_to_error(fd, root, content, reason):
    """E3: a file that cannot be read is returned as one event with its problem, and ack
    'quarantined' moves it to error/ with a .error.txt saying why, in English and Chinese."""
    drop(root, "00000001_bad.json", content)
    events, _ = fd.pull_events(None)
    assert len(events) == 1
    (event,) = events
    assert event.kind == "invalid" and reason in event.problem and "00000001_bad.json" in event.problem
    assert event.event_id.startswith("file:00000001_bad.json:")
    assert fd.pull_events(None)[0][0].event_id == event.event_id  # stable
    fd.ack(event, "quarantined", event.problem)
    assert names(root / "in") == []
    assert names(root / "error") == ["00000001_bad.json", "00000001_bad.json.error.txt"]
    note = (root / "error" / "00000001_bad.json.error.txt").read_bytes().decode("utf-8-sig")
    assert reason in note and "原因" in note and "处理方法" in note
    assert (root / "error" / "00000001_bad.json").read_bytes() == content


@pytest.mark.parametrize(
    "content, reason",
    [
        pytest.param("kind,order_no,colour\norder.status,X,red\n", "unknown columns ['colour']", id="unknown-column"),
        pytest.param("order_no,status\nX,shipped\n", "no kind column", id="no-kind-column"),
        pytest.param("kind,sku,quantity\nstock,WA-100,many\n", "quantity 'many' is not a number", id="bad-quantity"),
        pytest.param(
            "kind,order_no,courier\norder.status,X,顺丰速运\n",
            "do not belong to a order.status event",
            id="stray-column",
        ),
        pytest.param(
            "event_id,kind,order_no,status\ne1,order.status,X,a\ne1,order.status,X,b\n",
            "a order.status event is one row",
            id="two-rows-one-status",
        ),
    ],
)
def test_e3_a_malformed_csv_file_is_quarantined(root, content, reason):
    connector = make_connector(root, format="csv")
    drop(root, "bad.csv", content)
    (event,) = connector.pull_events(None)[0]
    assert event.kind == "invalid" and reason in event.problem


ZH_LINE_CASES = [
    pytest.param("json", b'{"kind": "stock", "data": {"items": {}}, "sent_at": "today"}', id="the-event"),
    pytest.param("json", b'[{"kind": "order.status", "data": {}}, "x"]', id="event-n"),
    pytest.param("json", b'{"data": {"order_no": "X"}}', id="no-kind"),
    pytest.param("json", b'{"kind": "order.teleported", "data": {}}', id="unknown-kind"),
    pytest.param("json", b'{"kind": "order.status", "data": {"status": "x"', id="parser-error"),
    pytest.param("json", b'{"kind": "stock", "data": {"items": {"WA-1": NaN}}}', id="nan"),
    pytest.param(
        "json",
        b'{"kind": "order.shipment", "data": {"order_no": "X", "shipped_at": "03/12/2026 10:00"}}',
        id="time-field",
    ),
    pytest.param("csv", b"kind,sku,quantity\nstock,WA-100,many\n", id="row-quantity"),
    pytest.param("csv", b"kind,order_no\norder.status," + b"9" * 140_000 + b"\n", id="csv-error"),
    pytest.param(
        "csv",
        b"kind,order_no,shipment_id,shipped_at,sku,quantity\norder.shipment,X,S1,15:40,WA-1,1\n",
        id="row-time-field",
    ),
]
WORDS_OF_THE_FILE = re.compile(
    r"'[^']*'|\[[^\]]*\]|\b(?:kind|data|event_id|sku|quantity|shipped_at|as_of|JSON|CSV|NaN|Infinity|NUL)\b"
    r"|\b(?:order|customer)\.[a-z]+\b|\bstock\b"
)
"""What the Chinese line may quote as the file writes it: values, lists of names, field and
column names, event kinds, the names of the formats."""


@pytest.mark.parametrize("fmt, content", ZH_LINE_CASES)
def test_e10_the_chinese_line_of_a_quarantine_note_is_wholly_chinese(root, fmt, content):
    """E10 (issue #18 point 8): the note beside a quarantined file has the reason twice: in
    English for the integrator, in Chinese for the ERP's people — where in the file (事件, 第 N
    个事件, 第 N 行, 的 shipped_at) and what is wrong, with no English words but what the file
    itself says."""
    connector = make_connector(root, format=fmt)
    drop(root, f"bad.{fmt}", content)
    (event,) = connector.pull_events(None)[0]
    assert event.kind == "invalid", event
    connector.ack(event, "quarantined", event.problem)
    lines = (root / "error" / f"bad.{fmt}.error.txt").read_text("utf-8-sig").splitlines()
    english, chinese = lines[lines.index("Reason / 原因:") + 1 : lines.index("Reason / 原因:") + 3]
    assert english.strip() == event.problem
    assert re.search(r"[\u4e00-\u9fff]", chinese), chinese
    assert not re.search(r"[A-Za-z]", WORDS_OF_THE_FILE.sub("", chinese)), chinese


def test_e3_csv_rows_of_one_shipment_form_one_event_with_its_lines(root):
    """E3, C8: CSV rows with the same event_id (or order and shipment) are one shipment."""
    connector = make_connector(root, format="csv", encoding="gb18030")
    text = (
        "event_id,kind,order_no,shipment_id,courier,tracking_no,sku,quantity,order_status\r\n"
        "s1,order.shipment,JHT-20261125-0001,SO-1-S1,顺丰速运,SF1234567890,WA-100,10,\r\n"
        "s1,order.shipment,JHT-20261125-0001,SO-1-S1,顺丰速运,SF1234567890,WA-200,5,shipped\r\n"
        ",order.shipment,JHT-20261125-0002,SO-2-S1,德邦物流,DPK1,WA-300,2,\r\n"
        ",order.shipment,JHT-20261125-0002,SO-2-S1,德邦物流,DPK1,WA-400,3,\r\n"
        ",stock,,,,,WA-100,12\r\n"
        ",stock,,,,,WA-200,3.5\r\n"
        ",order.released,JHT-20261125-0003,,,,,,\r\n"
    )
    drop(root, "mixed.csv", text.encode("gb18030"))
    events, _ = connector.pull_events(None)
    assert [(e.kind, e.event_id.split(":")[0]) for e in events] == [
        ("order.shipment", "s1"),
        ("order.shipment", "mixed.csv#2"),
        ("stock", "mixed.csv#3"),
        ("order.released", "mixed.csv#4"),
    ]
    assert events[0].data == {
        "order_no": "JHT-20261125-0001",
        "shipment_id": "SO-1-S1",
        "courier": "顺丰速运",
        "tracking_no": "SF1234567890",
        "order_status": "shipped",
        "lines": [{"sku": "WA-100", "quantity": 10}, {"sku": "WA-200", "quantity": 5}],
    }
    assert events[1].data["lines"] == [{"sku": "WA-300", "quantity": 2}, {"sku": "WA-400", "quantity": 3}]
    assert events[2].data == {"items": {"WA-100": 12, "WA-200": 3.5}}


def test_e3_utf8_file_while_gb18030_is_configured_is_quarantined_with_a_hint(root):
    """E3: UTF-8 read as GB18030 would be silent 乱码: refused with what to change — but a
    UTF-8 file with a byte-order mark is read."""
    connector = make_connector(root, encoding="gb18030")
    event = {"kind": "order.status", "data": {"order_no": "JHT-20261125-0001", "status": "已发货"}}
    drop(root, "1.json", json.dumps(event, ensure_ascii=False).encode("utf-8"))
    drop(root, "2.json", codecs.BOM_UTF8 + json.dumps(event, ensure_ascii=False).encode("utf-8"))
    drop(root, "3.json", json.dumps(event, ensure_ascii=False).encode("gb18030"))
    first, second, third = connector.pull_events(None)[0]
    assert first.kind == "invalid" and "UTF-8 text but connector.filedrop.encoding is gb18030" in first.problem
    assert second.data["status"] == third.data["status"] == "已发货"


def test_e3_an_unreadable_file_goes_to_error_even_when_acked_as_a_duplicate(fd, root):
    """E3: after a restart the bridge acknowledges the re-read quarantined event as ignored;
    the file still goes to error/ with its reason."""
    drop(root, "bad.json", b"{")
    (event,) = fd.pull_events(None)[0]
    fd.ack(event, "ignored", "already received (inbox #3, quarantined)")
    assert names(root / "error") == ["bad.json", "bad.json.error.txt"]
    assert "not valid JSON" in (root / "error" / "bad.json.error.txt").read_text("utf-8-sig")


def test_e3_an_unreadable_file_is_left_alone_while_it_may_still_be_written(root):
    """E3: a broken file changed within settle_s is not quarantined yet (its writer may
    still be writing); once older, it is."""
    connector = make_connector(root, settle_s=60)
    path = drop(root, "slow.json", b'{"kind": "order.st')
    assert connector.pull_events(None)[0] == []
    old = time.time() - 120
    os.utime(path, (old, old))
    (event,) = connector.pull_events(None)[0]
    assert event.kind == "invalid"


def test_e3_an_empty_list_is_archived_at_once(fd, root):
    drop(root, "nothing.json", b"[]")
    assert fd.pull_events(None)[0] == []
    assert names(root / "archive") == ["nothing.json"]


def test_e3_quarantining_one_event_of_a_file_sends_the_file_to_error(fd, root):
    """E3: a file whose events were partly refused by the bridge goes to error/ with the
    refused events and reasons listed."""
    drop(
        root,
        "two.json",
        [
            {"event_id": "a", "kind": "order.status", "data": {"order_no": "JHT-20261125-0001", "status": "生产中"}},
            {"event_id": "b", "kind": "order.status", "data": {"order_no": "JHT-20261125-0001", "status": "吃饭中"}},
        ],
    )
    first, second = fd.pull_events(None)[0]
    fd.ack(first, "applied")
    fd.ack(second, "quarantined", "unknown ERP status '吃饭中' (add it to [sync.status_map])")
    assert names(root / "error") == ["two.json", "two.json.error.txt"]
    note = (root / "error" / "two.json.error.txt").read_text("utf-8-sig")
    assert "event b: unknown ERP status '吃饭中'" in note and "event a" not in note


def test_e3_parked_events_are_done_with_their_file_and_dead_ones_send_it_to_error(fd, root):
    """E3: a parked event lives on in the bridge's database (tried again): its file is archived.
    A dead one needs a person (#12 point 7): its file goes to error/ with the reason."""
    drop(root, "p.json", {"event_id": "p", "kind": "order.released", "data": {"order_no": "JHT-X"}})
    drop(
        root,
        "pd.json",
        [
            {"event_id": "p2", "kind": "order.released", "data": {"order_no": "JHT-X"}},
            {"event_id": "d", "kind": "order.released", "data": {"order_no": "JHT-Y"}},
        ],
    )
    p, p2, d = fd.pull_events(None)[0]
    fd.ack(p, "parked")
    fd.ack(p2, "parked")
    fd.ack(d, "dead", "order JHT-Y unknown")
    assert names(root / "archive") == ["p.json"]
    assert names(root / "error") == ["pd.json", "pd.json.error.txt"]
    assert "event d: order JHT-Y unknown" in (root / "error" / "pd.json.error.txt").read_text("utf-8-sig")


def test_e6_ack_of_a_file_already_gone_does_nothing(fd, root):
    """E6: ack is idempotent: acknowledging again, or after the file was moved, is harmless."""
    drop(root, "e.json", {"kind": "order.released", "data": {"order_no": "JHT-20261125-0001"}})
    (event,) = fd.pull_events(None)[0]
    fd.ack(event, "applied")
    fd.ack(event, "applied")
    (root / "archive" / "e.json").unlink()
    fd.ack(event, "applied")
    assert names(root / "archive") == [] and names(root / "in") == []


def test_e6_ack_after_a_restart_reads_the_file_again(root):
    """E6: the bridge restarted between pull and ack (it re-acks duplicates): the new
    instance still moves the file."""
    drop(root, "e.json", {"kind": "order.released", "data": {"order_no": "JHT-20261125-0001"}})
    (event,) = make_connector(root).pull_events(None)[0]
    restarted = make_connector(root)
    restarted.ack(event, "ignored")
    assert names(root / "archive") == ["e.json"]


def test_e6_a_move_that_failed_is_retried_at_the_next_pull(fd, root):
    """E6: archive/ missing when the ack came: the file stays in in/, is not handed out
    again, and moves once archive/ is back."""
    drop(root, "e.json", {"kind": "order.released", "data": {"order_no": "JHT-20261125-0001"}})
    (event,) = fd.pull_events(None)[0]
    (root / "archive").rmdir()
    fd.ack(event, "applied")
    assert names(root / "in") == ["e.json"]
    assert fd.pull_events(None)[0] == []
    (root / "archive").mkdir()
    assert fd.pull_events(None)[0] == []
    assert names(root / "archive") == ["e.json"]


# =========================================================================== stock


def write_stock(root: Path, items: dict, as_of: str = "2026-11-25T08:00:00+08:00", name: str = "stock.json") -> None:
    files_module.write_atomic(root, name, json.dumps({"as_of": as_of, "items": items}).encode())


def test_e2_stock_file_is_read_again_only_when_it_changes(fd, root, monkeypatch):
    """E2: the snapshot is parsed once per version of the file."""
    calls = []
    real = connector_module.decode_stock
    monkeypatch.setattr(connector_module, "decode_stock", lambda *a: calls.append(1) or real(*a))
    write_stock(root, {"WA-100": 12})
    assert fd.query_stock(["WA-100"]) == {"WA-100": Decimal(12)}
    assert fd.query_stock(["WA-100"]) == {"WA-100": Decimal(12)}
    assert len(calls) == 1
    write_stock(root, {"WA-100": "7.5"}, as_of="2026-11-25T09:00:00+08:00")
    assert fd.query_stock(["WA-100"]) == {"WA-100": Decimal("7.5")}
    assert len(calls) == 2
    assert fd.stock_as_of().isoformat() == "2026-11-25T09:00:00+08:00"


def test_e2_missing_stock_file_is_transient(fd, root):
    with pytest.raises(TransientError, match="the ERP has not written stock.json yet"):
        fd.query_stock(["WA-100"])
    assert fd.stock_as_of() is None


def test_e2_unreadable_stock_file_is_transient_with_the_reason(fd, root):
    files_module.write_atomic(root, "stock.json", b'{"items": {"WA-100": "lots"}}')
    with pytest.raises(TransientError, match="quantity 'lots' is not a number"):
        fd.query_stock(["WA-100"])


def test_e2_stock_csv_in_gb18030(root):
    """E2: stock.csv (sku, quantity) in CSV mode; its time is the file's when it has no as_of."""
    connector = make_connector(root, format="csv", encoding="gb18030")
    files_module.write_atomic(
        root, "stock.csv", "sku,quantity,名称\r\nWA-100,12,白刚玉\r\nGC-9,0.25,绿碳\r\n".encode("gb18030")
    )
    assert connector.query_stock(["WA-100", "GC-9", "X"]) == {"WA-100": Decimal(12), "GC-9": Decimal("0.25")}
    assert abs(connector.stock_as_of().timestamp() - (root / "stock.csv").stat().st_mtime) < 1


# =========================================================================== waiting


@pytest.mark.parametrize("watch", [True, False], ids=["watching", "polling"])
def test_e3_wait_for_events_wakes_within_a_second_when_a_file_appears(root, watch):
    """E3: a new file in in/ ends the wait at once (well under a second), by notification or
    by the quick look when notifications are off."""
    connector = make_connector(root, watch=watch)
    try:
        assert connector.wait_for_events(0.3) is False
        timer = threading.Timer(0.3, drop, (root, "e.json", {"kind": "order.released", "data": {"order_no": "X"}}))
        started = time.monotonic()
        timer.start()
        assert connector.wait_for_events(10) is True
        assert time.monotonic() - started < 1.3  # 0.3 s until the file exists, then < 1 s
        timer.join()
        events, _ = connector.pull_events(None)
        assert len(events) == 1
        ack_all(connector, events)
        assert connector.wait_for_events(0.2) is False
    finally:
        connector.close()


def test_e3_wait_returns_at_once_for_files_not_pulled_yet(fd, root):
    drop(root, "e.json", {"kind": "order.released", "data": {"order_no": "X"}})
    started = time.monotonic()
    assert fd.wait_for_events(5) is True
    assert time.monotonic() - started < 1


def test_close_stops_the_watcher_thread(root):
    connector = make_connector(root)
    connector.wait_for_events(0.1)
    watcher = connector._watcher
    assert watcher is not None and watcher.is_alive()
    connector.close()
    assert not watcher.is_alive()


# =========================================================================== check


def line(lines, name):
    return next(check for check in lines if check.name == name)


def test_o3_check_reports_folders_backlog_quarantine_and_stock(fd, root):
    """O3: each folder, what waits in out/ (old = the ERP is not taking files), in/, error/
    and the stock snapshot."""
    (root / "archive").rmdir()
    fd.push_order({**sample_order(), "_outbox_id": 1})
    old = time.time() - 3600
    os.utime(root / "out" / names(root / "out")[0], (old, old))
    drop(root, "e.json", {"kind": "order.released", "data": {"order_no": "X"}})
    (root / "error" / "bad.json").write_text("{")
    lines = fd.check()
    assert line(lines, "filedrop root").ok
    assert line(lines, "filedrop out/").ok
    assert not line(lines, "filedrop archive/").ok and str(root / "archive") in line(lines, "filedrop archive/").detail
    backlog = line(lines, "filedrop to the ERP")
    assert not backlog.ok and "1 file(s) waiting in out/, oldest 60 min" in backlog.detail
    assert "1 file(s) waiting in in/" in line(lines, "filedrop from the ERP").detail
    assert not line(lines, "filedrop quarantine").ok and "bad.json" in line(lines, "filedrop quarantine").detail
    stock = line(lines, "filedrop stock")
    assert stock.ok and "stock.json not written by the ERP yet" in stock.detail  # a new setup has none
    files_module.write_atomic(root, "stock.json", b"{")
    stock = line(fd.check(), "filedrop stock")
    assert not stock.ok and "stock.json cannot be read: not valid JSON" in stock.detail


def test_o3_check_never_raises_and_names_a_missing_root(tmp_path):
    connector = make_connector(tmp_path / "nowhere")
    (only,) = connector.check()
    assert not only.ok and str(tmp_path / "nowhere") in only.detail


def test_e7_the_config_file_selects_and_configures_the_connector(tmp_path):
    """E7: [connector.filedrop] in the config file builds the connector through the plugin."""
    (tmp_path / "share").mkdir()
    path = tmp_path / "bridge.toml"
    path.write_text(
        '[connector.filedrop]\nroot = "share"\nformat = "csv"\nencoding = "gb18030"\nrequire_done_marker = true\n',
        encoding="utf-8",
    )
    connector = load_connector(load_config(path, environ={}))
    assert isinstance(connector, FiledropConnector)
    assert connector.root == tmp_path / "share"
    assert (connector.settings.format, connector.settings.encoding, connector.settings.require_done_marker) == (
        "csv",
        "gb18030",
        True,
    )


# =========================================================================== the ERP simulator


@pytest.fixture
def sim(root):
    return ErpSimulator(root, stock={"WA-100": 100, "WA-200": 100, "WA-300": 100})


def pulled(connector):
    events, _ = connector.pull_events(None, limit=1000)
    ack_all(connector, events)
    return events


def test_sim_imports_an_order_once_per_order_number(fd, sim):
    """E1: the simulator deduplicates by order number, as the ERP must."""
    doc = sample_order()
    fd.push_order({**doc, "_outbox_id": 1})
    fd.push_order({**doc, "_outbox_id": 2})
    sim.step()
    fd.push_order({**doc, "_outbox_id": 3})
    sim.step()
    assert sim.imports["JHT-20261125-0001"] == 3
    assert list(sim.orders) == ["JHT-20261125-0001"]
    assert [e["kind"] for e in sim.emitted] == ["order.accepted", "order.status"]


def test_sim_checks_stock_on_import(fd, sim, root):
    """C7: enough stock → awaiting_shipment (and reserved), otherwise pending."""
    fd.push_order({**sample_order("JHT-20261125-0001", lines=2), "_outbox_id": 1})
    fd.push_order({**sample_order("JHT-20261125-0002", lines=1), "_outbox_id": 2})
    big = sample_order("JHT-20261125-0003", lines=1)
    big["lines"][0]["quantity"] = 1000
    fd.push_order({**big, "_outbox_id": 3})
    sim.step()
    assert sim.status == {
        "JHT-20261125-0001": "awaiting_shipment",
        "JHT-20261125-0002": "awaiting_shipment",
        "JHT-20261125-0003": "pending",
    }
    assert fd.query_stock(["WA-100", "WA-200"]) == {"WA-100": Decimal(80), "WA-200": Decimal(80)}
    statuses = {e.data["order_no"]: e.data["status"] for e in pulled(fd) if e.kind == "order.status"}
    assert statuses["JHT-20261125-0003"] == "pending"


def test_sim_records_arrivals_in_delivery_order_per_customer(fd, sim):
    fd.push_customer({**sample_customer(1), "_outbox_id": 1})
    fd.push_order({**sample_order("JHT-20261125-0001", customer_id=1), "_outbox_id": 2})
    fd.push_customer({**sample_customer(2), "_outbox_id": 3})
    sim.step()
    assert sim.arrivals == [
        (1, "customer-1", "customer.upsert"),
        (1, "JHT-20261125-0001", "order.create"),
        (2, "customer-2", "customer.upsert"),
    ]
    codes = {e.data["customer_id"]: e.data["erp_code"] for e in pulled(fd) if e.kind == "customer.code"}
    assert codes == {1: "C0001", 2: "C0002"}


def test_sim_ships_in_two_parts_with_couriers_and_tracking_numbers(fd, sim):
    """C8: two shipments, the lines split between them, the last one says shipped."""
    fd.push_order({**sample_order(lines=3), "_outbox_id": 1})
    sim.step()
    pulled(fd)
    sim.ship("JHT-20261125-0001", parts=2)
    first, second = pulled(fd)
    assert first.kind == second.kind == "order.shipment"
    assert first.data["shipment_id"] != second.data["shipment_id"]
    assert all(e.data["courier"] and e.data["tracking_no"] for e in (first, second))
    shipped = first.data["lines"] + second.data["lines"]
    assert sorted((item["sku"], item["quantity"]) for item in shipped) == [
        ("WA-100", 10),
        ("WA-200", 20),
        ("WA-300", 30),
    ]
    assert "order_status" not in first.data and second.data["order_status"] == "shipped"


def test_sim_does_not_ship_an_unreleased_type2_order_until_released(fd, sim):
    """A1, E5: auto_tick holds a type-2 order at awaiting_shipment until the release command."""
    fd.push_order({**sample_order(lines=1), "_outbox_id": 1})
    sim.step()
    for _ in range(3):
        sim.auto_tick()
    assert sim.status["JHT-20261125-0001"] == "awaiting_shipment"
    fd.order_command("JHT-20261125-0001", "release", AT, None)
    sim.step()
    sim.auto_tick()
    assert sim.status["JHT-20261125-0001"] == "shipped"


def test_sim_auto_tick_walks_a_type1_order_from_pending_to_shipped(fd, sim):
    doc = sample_order(lines=1, customer_type=1)
    doc["lines"][0]["quantity"] = 500
    fd.push_order({**doc, "_outbox_id": 1})
    sim.step()
    seen = [sim.status["JHT-20261125-0001"]]
    for _ in range(3):
        sim.auto_tick()
        seen.append(sim.status["JHT-20261125-0001"])
    assert seen == ["pending", "in_production", "awaiting_shipment", "shipped"]


def test_sim_release_in_erp_reports_order_released(fd, sim):
    """A1 scenario 1: payment confirmed in the ERP → order.released."""
    fd.push_order({**sample_order(), "_outbox_id": 1})
    sim.step()
    pulled(fd)
    sim.release_in_erp("JHT-20261125-0001")
    assert [(e.kind, e.data) for e in pulled(fd)] == [("order.released", {"order_no": "JHT-20261125-0001"})]


def test_sim_keeps_a_command_for_an_unknown_order_waiting(fd, sim, root):
    """E5: a command that arrives before its order waits in out/ and is applied once the
    order is there."""
    fd.order_command(
        "JHT-20261125-0001", "cancel", AT, {**sample_command("JHT-20261125-0001", "cancel"), "_outbox_id": 5}
    )
    sim.step()
    assert list(sim.rejected.values()) == ["order JHT-20261125-0001 is not in the ERP (yet)"]
    assert len(names(root / "out")) == 1
    fd.push_order({**sample_order(), "_outbox_id": 6})
    sim.step()
    sim.step()
    assert sim.commands == [("JHT-20261125-0001", "cancel")] and sim.status["JHT-20261125-0001"] == "cancelled"
    assert sim.rejected == {} and names(root / "out") == []


def test_sim_cancel_frees_reserved_stock(fd, sim):
    fd.push_order({**sample_order(lines=1), "_outbox_id": 1})
    sim.step()
    assert sim.stock["WA-100"] == 90
    sim.cancel("JHT-20261125-0001")
    assert sim.stock["WA-100"] == 100


def test_sim_set_stock_writes_the_snapshot_and_reports_a_stock_event(fd, sim):
    sim.set_stock({"WA-100": 7})
    assert fd.query_stock(["WA-100"]) == {"WA-100": Decimal(7)}
    assert [(e.kind, e.data) for e in pulled(fd)] == [("stock", {"items": {"WA-100": 7}})]


def test_sim_go_down_makes_the_connector_fail_transiently_and_come_back_loses_nothing(fd, sim, root):
    """E6: while the share is gone every operation is transient; what the ERP did meanwhile
    is there afterwards."""
    fd.push_order({**sample_order(), "_outbox_id": 1})
    with sim.unavailable():
        assert not root.exists()
        with pytest.raises(TransientError):
            fd.push_order({**sample_order("JHT-20261125-0002"), "_outbox_id": 2})
        with pytest.raises(TransientError):
            fd.pull_events(None)
        with pytest.raises(TransientError):
            fd.query_stock(["WA-100"])
        assert not all(check.ok for check in fd.check())
        sim.step()  # the ERP keeps working on its side
    fd.push_order({**sample_order("JHT-20261125-0002"), "_outbox_id": 2})
    sim.step()
    assert sorted(sim.orders) == ["JHT-20261125-0001", "JHT-20261125-0002"]
    assert {e.kind for e in pulled(fd)} == {"order.accepted", "order.status"}


def test_sim_run_loop_takes_orders_and_ships_them(fd, sim):
    """The demo loop: step + auto_tick until stopped."""
    fd.push_order({**sample_order(lines=1, customer_type=1, released=True), "_outbox_id": 1})
    stop = threading.Event()
    thread = threading.Thread(target=sim.run, args=(0.05, stop))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while sim.status.get("JHT-20261125-0001") != "shipped" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(5)
    assert sim.status["JHT-20261125-0001"] == "shipped"


def test_sim_continues_event_numbers_after_a_restart(root):
    first = ErpSimulator(root)
    first.emit("order.released", {"order_no": "A"})
    second = ErpSimulator(root)
    second.emit("order.released", {"order_no": "B"})
    assert names(root / "in") == ["00000001_order.released_A.json", "00000002_order.released_B.json"]


def test_the_inbound_examples_in_the_integrator_guide_are_read_without_problems():
    """docs/filedrop.md §4: every JSON and CSV event example reads as documented."""
    import re

    from connectors.filedrop.formats import decode_events

    text = (Path(__file__).resolve().parents[1] / "docs" / "filedrop.md").read_text(encoding="utf-8")
    section = text.split("## 4.", 1)[1].split("## 5.", 1)[0]
    blocks = re.findall(r"```(json|csv)\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 9
    kinds = set()
    for fmt, body in blocks:
        events = decode_events(body.encode("utf-8"), fmt, "utf-8")
        kinds |= {e["kind"] for e in events}
        if fmt == "csv":
            shipment = next(e for e in events if e["kind"] == "order.shipment")
            assert len(shipment["data"]["lines"]) == 2
            stock = next(e for e in events if e["kind"] == "stock")
            assert stock["data"]["as_of"] == "2026-11-25T10:00:00+08:00" and len(stock["data"]["items"]) == 3
    from bridge.connector import EVENT_KINDS

    assert kinds == set(EVENT_KINDS)


def test_sim_restarted_keeps_its_stock(root):
    ErpSimulator(root, stock={"WA-100": 8})
    assert ErpSimulator(root).stock == {"WA-100": Decimal(8)}


# =========================================================================== with the dispatcher


def test_e6_a_round_the_disk_could_not_make_durable_is_delivered_again_once(engine, tmp_path, monkeypatch):
    """E6 (issue #16): when settle fails, none of the round's orders is recorded as delivered
    and the ERP sees none of them; the next round writes each once."""
    from datetime import timedelta

    from sqlmodel import Session, select

    from bridge.models import OutboxMessage, OutboxStatus
    from bridge.types import utcnow
    from tests.sync_helpers import filedrop_runtime, make_shop, place

    rt = filedrop_runtime(engine, tmp_path)
    try:
        shop = make_shop(engine, customers=2)
        placed = [place(engine, shop, c).order_no for c in shop["customers"] for _ in range(3)]
        out = rt.connector.root / "out"

        real = connector_module.fsync_file

        def failing(path):
            raise OSError(5, "Input/output error")

        monkeypatch.setattr(connector_module, "fsync_file", failing)
        rt.dispatcher().run_once()
        assert os.listdir(out) == []
        with Session(engine) as s:
            rows = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "order.create")).all()
        assert {r.status for r in rows} == {OutboxStatus.PENDING}
        tried = [r for r in rows if r.attempts]
        assert tried and all("not made durable" in r.last_error for r in tried)

        monkeypatch.setattr(connector_module, "fsync_file", real)
        dispatcher = rt.dispatcher(clock=lambda: utcnow() + timedelta(hours=1))
        dispatcher.drain()
        written = sorted(n.split("_")[1] for n in os.listdir(out) if n.endswith("order.create.json"))
        assert written == sorted(placed)
        with Session(engine) as s:
            rows = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "order.create")).all()
        assert {r.status for r in rows} == {OutboxStatus.DELIVERED}
    finally:
        rt.connector.close()
