"""Security issue, file-drop part: hostile or broken files in the share.

sec02 one bad inbound file (deep nesting, huge, binary, wrong encoding, cut off, not a regular
file) is quarantined with its reason and never stops the files behind it; sec07 formula-like
cells in the CSV files written for people; sec09 links out of the share are never followed and
big files never read; sec17 temporary files left by a killed writer are cleaned up."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bridge.connector import TransientError
from bridge.models import InboxEvent, InboxStatus, Order, OrderStatus, metadata
from connectors.filedrop import FiledropConnector, make_folders
from connectors.filedrop import connector as connector_module
from connectors.filedrop import files as files_module
from connectors.filedrop import formats as formats_module
from connectors.filedrop.formats import FileProblem, decode_document, decode_events
from tests.doubles.connector_kit import AT, sample_customer, sample_order
from tests.sync_helpers import filedrop_runtime, make_shop, place

SECRET = "k3y-0f-the-t0ken-s1gner-7c1d9e0b5a4f"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def root(tmp_path) -> Path:
    folder = tmp_path / "erp"
    make_folders(folder)
    return folder


def make_connector(root: Path, **settings) -> FiledropConnector:
    return FiledropConnector({"root": str(root), "settle_s": 0, "watch": False, **settings})


@pytest.fixture
def fd(root):
    connector = make_connector(root)
    yield connector
    connector.close()


def put(folder: Path, name: str, data: bytes) -> Path:
    """An inbound file the way an ERP writes it: temporary name, then rename."""
    tmp = folder / f".{name}.tmp"
    tmp.write_bytes(data)
    tmp.rename(folder / name)
    return folder / name


def secret_outside(tmp_path: Path) -> Path:
    """A file outside the share holding a secret (like the bridge's token key)."""
    folder = tmp_path / "etc-outside-the-share"
    folder.mkdir()
    path = folder / "token.key"
    path.write_text(SECRET + "\n", encoding="utf-8")
    return path


def everything_in_the_database(engine) -> str:
    """Every row of every table as text: what a leaked secret would have to hide in."""
    parts = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                parts.append(repr(tuple(row)))
                parts += [json.dumps(v, ensure_ascii=False, default=str) for v in row if isinstance(v, (dict, list))]
    return "\n".join(parts)


def quarantine_line(connector):
    return next(line for line in connector.check() if line.name == "filedrop quarantine")


# =========================================================================== sec02


def test_sec02_every_kind_of_bad_inbound_file_is_quarantined_and_a_valid_one_behind_them_is_applied(engine, tmp_path):
    """sec02: a deeply nested JSON, a file over the size limit, a binary file, a wrong encoding,
    a cut-off CSV, a FIFO, a folder, a symlink to a secret and a dangling symlink are each one
    quarantined inbox event with a reason naming what was wrong, moved (the entry itself) to
    error/ with its note; the valid file behind them is applied; the secret is read nowhere."""
    rt = filedrop_runtime(engine, tmp_path, JHT_CONNECTOR__FILEDROP__SETTLE_S=0, JHT_CONNECTOR__FILEDROP__WATCH="false")
    shop = make_shop(engine, customers=1)
    order = place(engine, shop, shop["customers"][0])
    rt.poller().drain()
    root = rt.connector.root
    inbox = root / "in"
    secret = secret_outside(tmp_path)

    put(inbox, "01_deep.json", b"[" * 200_000 + b"]" * 200_000)
    with open(inbox / "02_huge.json", "wb") as fh:  # sparse: costs no disk, and must never be read
        fh.truncate(formats_module.MAX_INBOUND_BYTES + 1)
    put(inbox, "03_binary.json", bytes(range(256)) * 4)
    event = {"event_id": "gbk", "kind": "order.status", "data": {"order_no": order.order_no, "status": "生产中"}}
    put(inbox, "04_wrong_encoding.json", json.dumps(event, ensure_ascii=False).encode("gb18030"))
    put(inbox, "05_truncated.csv", f"event_id,kind,order_no,status\r\ncut,order.status,{order.order_no[:8]}".encode())
    os.mkfifo(inbox / "06_pipe.json")
    (inbox / "07_folder.json").mkdir()
    (inbox / "07_folder.json" / "inside.json").write_text("{}")
    os.symlink(secret, inbox / "08_link_to_secret.json")
    os.symlink(tmp_path / "nothing-here", inbox / "09_dangling.json")
    put(
        inbox,
        "99_valid.json",
        json.dumps(
            {"event_id": "good", "kind": "order.status", "data": {"order_no": order.order_no, "status": "shipped"}}
        ).encode(),
    )
    bad = {
        "01_deep.json": "deeper than 32 levels",
        "02_huge.json": "larger than",
        "03_binary.json": "not valid UTF-8",
        "04_wrong_encoding.json": "not valid UTF-8",
        "05_truncated.csv": "fewer cells than the header",
        "06_pipe.json": "named pipe (FIFO)",
        "07_folder.json": "is a folder",
        "08_link_to_secret.json": "is a symbolic link",
        "09_dangling.json": "is a symbolic link",
    }

    rt.poller().drain()

    with Session(engine) as s:
        rows = {r.source: r for r in s.exec(select(InboxEvent)).all()}
        status = s.get(Order, order.id).status
    assert status == OrderStatus.SHIPPED
    assert rows["99_valid.json"].status == InboxStatus.APPLIED
    for name, reason in bad.items():
        assert rows[name].status == InboxStatus.QUARANTINED, name
        assert reason in rows[name].error and name in rows[name].error, (name, rows[name].error)
        assert rows[name].kind == "invalid"
    assert os.listdir(inbox) == []
    error = root / "error"
    assert sorted(os.listdir(error)) == sorted([*bad, *(n + ".error.txt" for n in bad)])
    for name, reason in bad.items():
        note = (error / (name + ".error.txt")).read_bytes().decode("utf-8-sig")
        assert reason in note and "原因" in note, name
    # The entries themselves were moved, never their targets.
    assert os.readlink(error / "08_link_to_secret.json") == str(secret) and secret.read_text().strip() == SECRET
    assert os.path.islink(error / "09_dangling.json")
    assert (error / "07_folder.json" / "inside.json").is_file()
    assert os.path.getsize(error / "02_huge.json") == formats_module.MAX_INBOUND_BYTES + 1
    assert SECRET not in everything_in_the_database(engine)
    line = quarantine_line(rt.connector)
    assert not line.ok and f"{len(bad)} file(s)" in line.detail
    rt.connector.close()


def test_sec02_json_nested_deeper_than_32_levels_is_a_file_problem():
    """sec02: events need a few levels; deeper than 32 is refused, in English and Chinese,
    before the parser can run out of stack."""

    def event(depth_of_note: int) -> bytes:
        note: object = "x"
        for _ in range(depth_of_note):
            note = [note]
        return json.dumps(
            {"kind": "order.status", "data": {"order_no": "A", "status": "shipped", "note": note}}
        ).encode()

    assert decode_events(event(30), "json", "utf-8")  # 32 levels: the event, data, 30 lists
    with pytest.raises(FileProblem) as caught:
        decode_events(event(31), "json", "utf-8")
    assert "deeper than 32 levels" in caught.value.en and "32" in caught.value.zh and "嵌套" in caught.value.zh
    with pytest.raises(FileProblem, match="deeper than 32 levels"):
        decode_events(b"[" * 200_000 + b"]" * 200_000, "json", "utf-8")
    # Brackets inside texts are not nesting.
    assert decode_events(
        json.dumps({"kind": "order.released", "data": {"order_no": "[" * 100}}).encode(), "json", "utf-8"
    )


def test_sec02_a_recursion_error_while_decoding_is_a_file_problem(monkeypatch):
    """sec02: whatever the nesting check misses, the parser's RecursionError is a FileProblem."""

    def deep(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded while decoding a JSON array")

    monkeypatch.setattr(formats_module.json, "loads", deep)
    with pytest.raises(FileProblem, match="nested too deeply"):
        decode_events(b'{"kind": "order.released", "data": {"order_no": "A"}}', "json", "utf-8")


def test_sec02_an_unexpected_error_while_decoding_quarantines_that_file_and_goes_on(fd, root, monkeypatch):
    """sec02: any exception decoding one file becomes that file's quarantine (type and message),
    never an exception out of pull_events; the next file is read."""
    real = connector_module.decode_events

    def decode(raw, fmt, encoding, *zone):
        if b"boom" in raw:
            raise KeyError("boom")
        return real(raw, fmt, encoding, *zone)

    monkeypatch.setattr(connector_module, "decode_events", decode)
    put(root / "in", "1.json", b'{"kind": "order.released", "data": {"order_no": "boom"}}')
    put(root / "in", "2.json", b'{"kind": "order.released", "data": {"order_no": "A"}}')
    first, second = fd.pull_events(None)[0]
    assert first.kind == "invalid" and first.problem == "1.json: KeyError: 'boom'"
    assert first.data["reason"] == "KeyError: 'boom'" and first.data["reason_zh"]
    assert second.kind == "order.released"
    fd.ack(first, "quarantined", first.problem)
    assert sorted(os.listdir(root / "error")) == ["1.json", "1.json.error.txt"]


def test_sec02_a_csv_row_with_fewer_cells_than_the_header_is_quarantined(root):
    """sec02: csv fills missing cells with None; a row cut short means the file was cut off."""
    connector = make_connector(root, format="csv")
    put(
        root / "in",
        "cut.csv",
        b"event_id,kind,order_no,status\r\ne1,order.status,JHT-20261125-0001,shipped\r\ne2,order.st",
    )
    (event,) = connector.pull_events(None)[0]
    assert event.kind == "invalid"
    assert "row 3 has fewer cells than the header: the file looks cut off" in event.problem
    assert "第 3 行" in event.data["reason_zh"]


def test_sec02_a_csv_cell_over_the_csv_modules_field_limit_is_quarantined(root):
    """sec02: csv.Error (here a field longer than the csv module allows) is the file's problem."""
    connector = make_connector(root, format="csv")
    put(root / "in", "long.csv", b'kind,order_no\r\norder.released,"' + b"A" * 200_000 + b'"\r\n')
    (event,) = connector.pull_events(None)[0]
    assert event.kind == "invalid" and "not valid CSV" in event.problem


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    cwd = os.getcwd()
    os.chdir(path.parent)  # a relative name: tmp paths can be longer than a socket address may be
    try:
        sock.bind(path.name)
    finally:
        os.chdir(cwd)
    sock.close()


@pytest.mark.parametrize(
    "make, reason",
    [
        pytest.param(
            lambda p, out: os.symlink(out, p),
            "is a symbolic link: the bridge does not follow links out of the share",
            id="symlink",
        ),
        pytest.param(
            lambda p, out: os.symlink(out.parent / "gone", p),
            "is a symbolic link: the bridge does not follow links out of the share",
            id="dangling-symlink",
        ),
        pytest.param(lambda p, out: p.mkdir(), "is a folder", id="folder"),
        pytest.param(lambda p, out: _fifo(p), "is a named pipe (FIFO)", id="fifo"),
        pytest.param(lambda p, out: _socket(p), "is a socket", id="socket"),
    ],
)
def test_sec02_an_entry_that_is_not_a_regular_file_is_quarantined_and_moved_itself(fd, root, tmp_path, make, reason):
    """sec02: not followed, not opened, not skipped: one quarantined event, and the entry (never
    its target) goes to error/ with its note."""
    secret = secret_outside(tmp_path)
    make(root / "in" / "00000001_x.json", secret)
    (event,) = fd.pull_events(None)[0]
    assert event.kind == "invalid" and event.problem == f"00000001_x.json: {reason}"
    assert event.data["file"] == "00000001_x.json" and event.data["reason_zh"]
    assert event.event_id.startswith("file:00000001_x.json:")
    assert fd.pull_events(None)[0][0].event_id == event.event_id  # stable
    assert SECRET not in repr(event)
    fd.ack(event, "quarantined", event.problem)
    assert os.listdir(root / "in") == []
    assert sorted(os.listdir(root / "error")) == ["00000001_x.json", "00000001_x.json.error.txt"]
    note = (root / "error" / "00000001_x.json.error.txt").read_text("utf-8-sig")
    assert reason in note and SECRET not in note
    assert secret.read_text().strip() == SECRET


def test_sec02_a_file_swapped_for_a_link_after_it_was_listed_is_not_followed(fd, root, tmp_path):
    """sec02: between the look (lstat) and the open, a regular file becomes a link: the open
    refuses to follow it."""
    secret = secret_outside(tmp_path)
    path = put(root / "in", "swap.json", b'{"kind": "order.released", "data": {"order_no": "A"}}')
    st = os.lstat(path)
    path.unlink()
    os.symlink(secret, path)
    state = fd._read(root / "in", "swap.json", st)
    (event,) = state.events
    assert event.kind == "invalid" and "symbolic link" in event.problem
    assert SECRET not in repr(event)


def test_sec02_a_fifo_is_never_opened_for_reading(fd, root, monkeypatch):
    """sec02: opening a FIFO blocks until someone writes: the connector never opens one."""
    os.mkfifo(root / "in" / "pipe.json")
    opened = []
    real_open = os.open
    monkeypatch.setattr(connector_module.os, "open", lambda p, *a, **k: opened.append(str(p)) or real_open(p, *a, **k))
    (event,) = fd.pull_events(None)[0]
    assert "named pipe" in event.problem
    assert not [p for p in opened if p.endswith("pipe.json")]


def test_sec02_a_quarantined_name_already_in_error_keeps_the_link_there(fd, root, tmp_path):
    """sec02: error/ already holds a dangling link of that name (Path.exists says no): the new
    file gets another name instead of replacing the link."""
    os.symlink(tmp_path / "gone", root / "error" / "bad.json")
    put(root / "in", "bad.json", b"{")
    (event,) = fd.pull_events(None)[0]
    fd.ack(event, "quarantined", event.problem)
    assert os.path.islink(root / "error" / "bad.json")
    assert (root / "error" / "bad.2.json").read_bytes() == b"{"


def test_sec02_check_counts_quarantined_folders_and_links_but_not_notes(fd, root, tmp_path):
    """sec02: error/ holding only a folder and a link still needs a person."""
    (root / "error" / "folder.json").mkdir()
    (root / "error" / "folder.json.error.txt").write_text("x")
    os.symlink(tmp_path / "gone", root / "error" / "link.json")
    line = quarantine_line(fd)
    assert not line.ok and "2 file(s)" in line.detail


def test_sec02_the_stock_snapshot_is_not_followed_when_it_is_a_link(fd, root, tmp_path):
    """sec02: stock.json as a link (to a secret, or dangling) or a folder is a TransientError
    with the reason; nothing is read through it."""
    secret = secret_outside(tmp_path)
    os.symlink(secret, root / "stock.json")
    with pytest.raises(TransientError, match="symbolic link") as caught:
        fd.query_stock(["WA-100"])
    assert SECRET not in str(caught.value)
    stock_line = next(line for line in fd.check() if line.name == "filedrop stock")
    assert not stock_line.ok and "symbolic link" in stock_line.detail
    (root / "stock.json").unlink()
    os.symlink(tmp_path / "gone", root / "stock.json")
    stock_line = next(line for line in fd.check() if line.name == "filedrop stock")
    assert not stock_line.ok and "symbolic link" in stock_line.detail
    (root / "stock.json").unlink()
    (root / "stock.json").mkdir()
    with pytest.raises(TransientError, match="is a folder"):
        fd.query_stock(["WA-100"])


def test_sec02_a_stock_snapshot_over_its_limit_is_transient_and_not_read(fd, root, monkeypatch):
    """sec02: the snapshot has its own, larger size limit, checked before reading."""
    assert formats_module.MAX_STOCK_BYTES > formats_module.MAX_INBOUND_BYTES
    monkeypatch.setattr(formats_module, "MAX_STOCK_BYTES", 1024)
    (root / "stock.json").write_bytes(json.dumps({"items": {f"SKU-{n}": n for n in range(200)}}).encode())
    monkeypatch.setattr(formats_module, "decode_stock", lambda *a: pytest.fail("the snapshot was decoded"))
    monkeypatch.setattr(connector_module, "decode_stock", lambda *a: pytest.fail("the snapshot was decoded"))
    with pytest.raises(TransientError, match="larger than"):
        fd.query_stock(["SKU-1"])


def test_sec02_a_deeply_nested_stock_snapshot_is_transient(fd, root):
    """sec02: RecursionError must not escape the stock check either."""
    (root / "stock.json").write_bytes(b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    with pytest.raises(TransientError, match="deeper than 32 levels"):
        fd.query_stock(["WA-100"])


# =========================================================================== sec07


def csv_cells(raw: bytes, encoding: str = "utf-8") -> list[list[str]]:
    text = raw.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_sec07_formula_like_cells_in_out_csv_are_neutralised_and_read_back_exactly(root, encoding):
    """sec07: every text cell of the CSV files written to out/ that a spreadsheet would run as a
    formula gets a leading apostrophe; decode_document takes it away again; plain numbers stay."""
    connector = make_connector(root, format="csv", encoding=encoding)
    order = sample_order(
        lines=2,
        customer={"id": 7, "erp_code": None, "name": "=cmd|' /C calc'!A0"},
        remark='=HYPERLINK("http://x","y")',
    )
    order["ship_to"] = {**order["ship_to"], "recipient": "+1+1", "detail": "-2+3", "district": "\t=1"}
    order["lines"][0]["marking"] = "@SUM(A1)"
    order["lines"][1]["marking"] = "'=already quoted"
    customer = sample_customer(7, name="=1+2", contact_name="@王", phone="-5")
    merge = {
        "schema": "jht.customer_merge/1",
        "survivor": {"id": 7, "erp_code": "C7", "name": "+甲"},
        "absorbed": {"id": 8, "erp_code": "-C8", "name": "@乙"},
        "at": AT.isoformat(),
    }
    connector.push_customer({**customer, "_outbox_id": 1})
    connector.push_order({**order, "_outbox_id": 2})
    connector.push_merge({**merge, "_outbox_id": 3})
    connector.order_command("JHT-20261125-0001", "release", AT, None)
    files = sorted(os.listdir(root / "out"))
    assert len(files) == 4
    for name in files:
        for row in csv_cells((root / "out" / name).read_bytes(), encoding)[1:]:
            for cell in row:
                assert not cell.startswith(FORMULA_STARTS) or re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", cell), (
                    name,
                    cell,
                )
    customer_file, order_file, merge_file, _ = files
    customer_row = dict(zip(*csv_cells((root / "out" / customer_file).read_bytes(), encoding)))
    assert customer_row["phone"] == "-5"  # a plain number is left alone
    assert customer_row["name"] == "'=1+2"
    got = decode_document("order.create", (root / "out" / order_file).read_bytes(), "csv", encoding)
    assert got["customer"]["name"] == "=cmd|' /C calc'!A0"
    assert got["remark"] == '=HYPERLINK("http://x","y")'
    assert (got["ship_to"]["recipient"], got["ship_to"]["detail"], got["ship_to"]["district"]) == (
        "+1+1",
        "-2+3",
        "\t=1",
    )
    assert [line["marking"] for line in got["lines"]] == ["@SUM(A1)", "'=already quoted"]
    assert got["total_amount"] == order["total_amount"]
    got_customer = decode_document("customer.upsert", (root / "out" / customer_file).read_bytes(), "csv", encoding)
    assert (got_customer["name"], got_customer["contact_name"], got_customer["phone"]) == ("=1+2", "@王", "-5")
    got_merge = decode_document("customer.merge", (root / "out" / merge_file).read_bytes(), "csv", encoding)
    assert (got_merge["survivor"]["name"], got_merge["absorbed"]["erp_code"], got_merge["absorbed"]["name"]) == (
        "+甲",
        "-C8",
        "@乙",
    )


def test_sec07_json_files_and_inbound_csv_are_unchanged(root):
    """sec07: only the CSV written for people is touched: JSON keeps the text as it is, and
    an ERP's CSV event is read as written."""
    connector = make_connector(root)
    order = sample_order(remark="=1+1")
    connector.push_order({**order, "_outbox_id": 1})
    (name,) = os.listdir(root / "out")
    assert json.loads((root / "out" / name).read_text("utf-8"))["remark"] == "=1+1"
    events = decode_events(b"kind,order_no,status,note\r\norder.status,A,shipped,'=x\r\n", "csv", "utf-8")
    assert events[0]["data"]["note"] == "'=x"
    # ... and the neutralised CSV (the only change) is what decode_document reverses.
    csv_connector = make_connector(root, format="csv")
    csv_connector.push_order({**order, "_outbox_id": 2})
    csv_name = next(n for n in os.listdir(root / "out") if n.endswith(".csv"))
    assert "'=1+1" in (root / "out" / csv_name).read_text("utf-8-sig")


# =========================================================================== sec09


def test_sec09_symlink_to_a_secret_is_quarantined_and_never_read(engine, tmp_path):
    """sec09: a link in in/ to a key outside the share: after the poller ran the key is in no
    table of the database, and the link (not the key) is in error/ with the reason."""
    rt = filedrop_runtime(engine, tmp_path, JHT_CONNECTOR__FILEDROP__SETTLE_S=0, JHT_CONNECTOR__FILEDROP__WATCH="false")
    root = rt.connector.root
    secret = secret_outside(tmp_path)
    os.symlink(secret, root / "in" / "00000001_status.json")
    rt.poller().drain()
    with Session(engine) as s:
        (row,) = s.exec(select(InboxEvent)).all()
    assert row.status == InboxStatus.QUARANTINED and "is a symbolic link" in row.error
    assert SECRET not in everything_in_the_database(engine)
    assert os.path.islink(root / "error" / "00000001_status.json")
    note = (root / "error" / "00000001_status.json.error.txt").read_bytes().decode("utf-8-sig")
    assert "symbolic link" in note and SECRET not in note
    assert os.listdir(root / "in") == []
    assert secret.read_text().strip() == SECRET
    rt.connector.close()


def test_sec09_oversized_file_is_not_read(fd, root, monkeypatch):
    """sec09: the size comes from the directory entry; a file over the limit is quarantined
    without being opened (any attempt to open or read it fails this test)."""
    monkeypatch.setattr(formats_module, "MAX_INBOUND_BYTES", 4096)
    big = put(root / "in", "big.json", b'{"kind": "stock", "data": {"items": {' + b'"X": 1, ' * 1000 + b'"Y": 1}}}')

    def guard(real):
        def opener(path, *args, **kwargs):
            if str(path).endswith("big.json"):
                pytest.fail(f"{path} was opened")
            return real(path, *args, **kwargs)

        return opener

    import builtins
    import io as io_module

    monkeypatch.setattr(builtins, "open", guard(builtins.open))
    monkeypatch.setattr(io_module, "open", guard(io_module.open))
    monkeypatch.setattr(os, "open", guard(os.open))
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"{self} was read"))
    (event,) = fd.pull_events(None)[0]
    assert event.kind == "invalid" and "larger than" in event.problem
    assert "excerpt" not in event.data or event.data["excerpt"] == ""
    fd.ack(event, "quarantined", event.problem)
    assert sorted(os.listdir(root / "error")) == ["big.json", "big.json.error.txt"]
    assert not big.exists()


# =========================================================================== sec17

TEMP = re.compile(r"^\.tmp-(?P<name>.+)\.(?P<host>[a-z0-9-]+)\.(?P<pid>[0-9]+)\.(?P<rand>[0-9a-f]+)$")


def killed_writer_temp(folder: Path) -> str:
    """The temporary file a writer killed by SIGKILL in the middle of write_atomic leaves."""
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from connectors.filedrop import files\n"
        "files.os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n"
        "files.write_atomic(Path(sys.argv[1]), '000000000001_JHT-20261125-0001_order.create.json', b'{}')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(folder)],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == -9, done.stderr
    (left,) = [n for n in os.listdir(folder) if n.startswith(".tmp-")]
    return left


def test_sec17_stale_temp_files_are_removed_at_the_first_delivery(fd, root):
    """sec17: before its first delivery the connector removes write_atomic's temporaries in
    out/, archive/ and error/ that are stale — this host and a dead pid, or older than an hour
    whoever wrote them — and keeps the rest."""
    killed = killed_writer_temp(root / "out")
    parts = TEMP.match(killed)
    assert parts and parts["name"] == "000000000001_JHT-20261125-0001_order.create.json", killed
    host = parts["host"]
    assert host == files_module.this_host()
    live = f".tmp-a.json.{host}.{os.getpid()}.0123abcd"
    young_other = ".tmp-b.json.otherhost.4242.0123abcd"
    old_other = ".tmp-c.json.otherhost.4242.0123abcd"
    old_in_error = f".tmp-d.json.error.txt.otherhost.{os.getpid()}.0123abcd"
    not_ours = [".tmp-check-1-2", "~lock.json", ".tmp-e.json-123-0123abcd", "notes.txt"]
    for name in (live, young_other, old_other, *not_ours):
        (root / "out" / name).write_bytes(b"x")
    (root / "error" / old_in_error).write_bytes(b"x")
    hour_ago = time.time() - 3700
    for path in (root / "out" / old_other, root / "error" / old_in_error, *(root / "out" / n for n in not_ours)):
        os.utime(path, (hour_ago, hour_ago))

    fd.push_order({**sample_order(), "_outbox_id": 1})

    left = set(os.listdir(root / "out"))
    assert killed not in left and old_other not in left
    assert {live, young_other, *not_ours} <= left
    assert "000000000001_JHT-20261125-0001_order.create.json" in left
    assert os.listdir(root / "error") == []


def test_sec17_check_reports_stale_temporary_files(fd, root):
    """sec17: check() says how many stale temporaries it sees (they are removed at start)."""
    killed_writer_temp(root / "out")
    line = next((check for check in fd.check() if check.name == "filedrop temporary files"), None)
    assert line is not None and "1 stale temporary file(s)" in line.detail and "out/" in line.detail
    fd.push_customer({**sample_customer(), "_outbox_id": 1})
    assert not [check for check in fd.check() if check.name == "filedrop temporary files"]


def test_sec17_on_windows_only_age_counts(root, monkeypatch):
    """sec17: os.kill(pid, 0) terminates the process on Windows: there, only age makes a
    temporary stale."""
    monkeypatch.setattr(files_module, "PROBE_PIDS", False)
    monkeypatch.setattr(files_module.os, "kill", lambda *a: pytest.fail("os.kill was called"))
    host = files_module.this_host()
    young = f".tmp-a.json.{host}.999999999.0123abcd"
    old = f".tmp-b.json.{host}.999999999.0123abcd"
    for name in (young, old):
        (root / "out" / name).write_bytes(b"x")
    hour_ago = time.time() - 3700
    os.utime(root / "out" / old, (hour_ago, hour_ago))
    assert files_module.remove_stale_temps(root / "out") == [old]
    assert os.listdir(root / "out") == [young]
