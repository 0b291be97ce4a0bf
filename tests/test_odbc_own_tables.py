"""The worked example of docs/sql-connector.md (issue 5): the odbc connector pointed at an ERP's
own tables — a sales-order header/lines schema, customers, items, stock, delivery bills and the
ERP's order log — only through the statements file docs/examples/sql-own-tables/sqlite/
statements.sql, through the real SQLite3 ODBC driver. What an integrator relies on: an order
delivered twice is one header with its lines, customers are upserted or linked, commands set
states, stock is read live, and the events are what the ERP wrote in its log."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.connector import PermanentError
from connectors.odbc import OdbcConnector, OdbcSettings
from tests.doubles.connector_kit import AT, sample_customer, sample_order
from tests.doubles.odbc_erp import script_queries

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "sql-own-tables" / "sqlite"


class OwnTablesErp:
    """The production software's side, writing its own tables as it would (not through the bridge)."""

    def __init__(self, path: Path):
        self.path = path

    def sql(self, query: str, *params) -> list[tuple]:
        db = sqlite3.connect(self.path)
        try:
            rows = db.execute(query, params).fetchall()
            db.commit()
            return rows
        finally:
            db.close()

    def one(self, query: str, *params):
        (row,) = self.sql(query, *params)
        return row[0] if len(row) == 1 else row

    def add_item(self, number: str, name: str, sku: str | None) -> int:
        self.sql("INSERT INTO BD_MATERIAL (FNumber, FName, F_JHT_Sku) VALUES (?, ?, ?)", number, name, sku)
        return self.one("SELECT FMaterialId FROM BD_MATERIAL WHERE FNumber = ?", number)

    def stock(self, number: str, warehouse: int, on_hand: str, locked: str = "0") -> None:
        self.sql(
            "INSERT INTO STK_INVENTORY (FMaterialId, FStockId, FBaseQty, FLockQty) "
            "SELECT FMaterialId, ?, ?, ? FROM BD_MATERIAL WHERE FNumber = ?",
            warehouse,
            on_hand,
            locked,
            number,
        )

    def order_id(self, order_no: str) -> int:
        return self.one("SELECT FId FROM SAL_ORDER WHERE F_JHT_OrderNo = ?", order_no)

    def log(self, order_id: int, action: str, status: str | None = None, outstock: int | None = None) -> None:
        self.sql(
            "INSERT INTO SAL_ORDER_LOG (FOrderId, FAction, FStatus, FOutStockId) VALUES (?, ?, ?, ?)",
            order_id,
            action,
            status,
            outstock,
        )

    def audit(self, order_no: str, bill_no: str) -> None:
        self.sql("UPDATE SAL_ORDER SET FBillNo = ?, FDocumentStatus = 'C' WHERE F_JHT_OrderNo = ?", bill_no, order_no)
        self.log(self.order_id(order_no), "AUDIT")

    def deliver(
        self, order_no: str, bill_no: str, carrier: str, tracking: str, lines: dict[str, str], status: str | None
    ):
        self.sql(
            "INSERT INTO SAL_OUTSTOCK (FBillNo, FDate, FCarrier, FCarriageNo) VALUES (?, ?, ?, ?)",
            bill_no,
            "2026-11-27T15:40:00+08:00",
            carrier,
            tracking,
        )
        outstock = self.one("SELECT FId FROM SAL_OUTSTOCK WHERE FBillNo = ?", bill_no)
        for seq, (number, qty) in enumerate(lines.items(), 1):
            self.sql(
                "INSERT INTO SAL_OUTSTOCK_ENTRY (FId, FSeq, FMaterialId, FRealQty) "
                "SELECT ?, ?, FMaterialId, ? FROM BD_MATERIAL WHERE FNumber = ?",
                outstock,
                seq,
                qty,
                number,
            )
        self.log(self.order_id(order_no), "OUTSTOCK", status, outstock)


@pytest.fixture
def erp(tmp_path) -> OwnTablesErp:
    """The ERP's database: its own tables, the integrator's additions, a few items in stock."""
    path = tmp_path / "erp.db"
    db = sqlite3.connect(path)
    for name in ("erp-tables.sql", "additions.sql"):
        for query in script_queries((EXAMPLE / name).read_text(encoding="utf-8")):
            db.execute(query)
    db.commit()
    db.close()
    erp = OwnTablesErp(path)
    erp.add_item("01.10.001", "白刚玉平形砂轮 PSA 100×20×32", "WA-100")
    erp.add_item("02.10.002", "白刚玉平形砂轮 PSA 200×20×32", "WA-200")
    erp.add_item("03.10.003", "白刚玉平形砂轮 PSA 300×20×32", "WA-300")
    erp.add_item("09.00.001", "切割片（门店不卖）", None)
    erp.stock("01.10.001", 1, "120", "20")
    erp.stock("01.10.001", 2, "36.5")
    erp.stock("02.10.002", 1, "0")
    return erp


@pytest.fixture
def conn(erp):
    connector = OdbcConnector(
        OdbcSettings(
            connection_string=f"Driver={{SQLite3}};Database={erp.path};NoCreat=1",
            statements=EXAMPLE / "statements.sql",
            query_timeout_s=5,
            skip=["customer.merge"],  # as docs/sql-connector.md §6.4 configures it
        )
    )
    yield connector
    connector.close()


def test_e7_check_is_all_ok_on_the_erps_own_tables(conn):
    lines = conn.check()
    assert [line for line in lines if not line.ok] == []
    names = {line.name for line in lines}
    assert {"table SAL_ORDER", "table SAL_ORDER_ENTRY", "table BD_CUSTOMER", "table SAL_ORDER_LOG"} <= names
    assert {"statement select_events", "statement select_stock"} <= names


def test_e7_check_names_an_addition_left_out(conn, erp):
    """Without the integrator's F_JHT_OrderNo column the check says so before the first order."""
    erp.sql("DROP INDEX UX_SAL_ORDER_JHT")
    erp.sql("ALTER TABLE SAL_ORDER DROP COLUMN F_JHT_OrderNo")
    failed = {line.name: line.detail for line in conn.check() if not line.ok}
    assert "no such column: F_JHT_OrderNo" in failed["table SAL_ORDER"]
    assert "F_JHT_OrderNo" in failed["statement select_erp_order_no"]


def test_e4_a_new_customer_is_inserted_then_updated(conn, erp):
    conn.push_customer(sample_customer(1))
    conn.push_customer(sample_customer(1, name="无锡精工磨具有限公司（新名）", phone="13900000000"))
    rows = erp.sql("SELECT F_JHT_CustId, FName, FPhone, FContact, F_JHT_CustType, FNumber FROM BD_CUSTOMER")
    assert rows == [(1, "无锡精工磨具有限公司（新名）", "13900000000", "王建国", 2, None)]


def test_e4_a_customer_the_shop_links_to_an_erp_customer_keeps_the_erps_data(conn, erp):
    erp.sql("INSERT INTO BD_CUSTOMER (FNumber, FName, FPhone) VALUES ('C0007', '常州砂轮厂', '0519-8888')")
    conn.push_customer(sample_customer(7, erp_code="C0007", name="常州砂轮（微信）", type=1))
    conn.push_customer(sample_customer(7, erp_code="C0007", name="常州砂轮（微信）", type=1))
    rows = erp.sql("SELECT FNumber, F_JHT_CustId, FName, FPhone, F_JHT_CustType FROM BD_CUSTOMER")
    assert rows == [("C0007", 7, "常州砂轮厂", "0519-8888", 1)]


def test_e1_an_order_delivered_twice_is_one_header_with_its_lines(conn, erp):
    conn.push_customer(sample_customer(1))
    doc = sample_order("JHT-20261125-0001")
    doc["lines"][2]["erp_item_code"] = None  # found by the shop's product code instead
    assert conn.push_order(doc) is None
    assert conn.push_order(doc) is None  # a redelivery: already there
    header = erp.sql(
        "SELECT o.F_JHT_OrderNo, c.F_JHT_CustId, o.FDate, o.FReceiver, o.FReceiveAddress, o.FNote, o.FAmount,"
        " o.F_JHT_Released, o.FBillNo FROM SAL_ORDER o JOIN BD_CUSTOMER c ON c.FCustId = o.FCustId"
    )
    assert header == [
        (
            "JHT-20261125-0001",
            1,
            AT.isoformat(),
            "李娜",
            "江苏省无锡市新吴区长江路 88 号 3 号厂房",
            "请用木箱包装，轻拿轻放",
            "750.00",
            0,
            None,
        )
    ]
    lines = erp.sql(
        "SELECT e.FSeq, m.FNumber, e.FQty, e.FPrice, e.FAmount, e.FNote FROM SAL_ORDER_ENTRY e"
        " JOIN BD_MATERIAL m ON m.FMaterialId = e.FMaterialId ORDER BY e.FSeq"
    )
    assert lines == [
        (1, "01.10.001", "10", "12.50", "125.00", "PSA 100×20×32 WA60K5V 35m/s"),
        (2, "02.10.002", "20", "12.50", "250.00", "PSA 200×20×32 WA60K5V 35m/s"),
        (3, "03.10.003", "30", "12.50", "375.00", "PSA 300×20×32 WA60K5V 35m/s"),
    ]
    erp.audit("JHT-20261125-0001", "XSDD000123")
    assert conn.push_order(doc) == "XSDD000123"  # the ERP's own number, read back
    assert erp.one("SELECT COUNT(*) FROM SAL_ORDER") == 1 and erp.one("SELECT COUNT(*) FROM SAL_ORDER_ENTRY") == 3


def test_e6_an_unknown_customer_or_item_is_permanent_and_leaves_nothing(conn, erp):
    with pytest.raises(PermanentError, match="FCustId"):
        conn.push_order(sample_order("JHT-20261125-0002", customer_id=99))
    conn.push_customer(sample_customer(1))
    doc = sample_order("JHT-20261125-0003")
    doc["lines"][1].update(erp_item_code="99.99.999", sku="NO-SUCH")
    with pytest.raises(PermanentError, match="FMaterialId"):
        conn.push_order(doc)
    assert erp.one("SELECT COUNT(*) FROM SAL_ORDER") == 0 and erp.one("SELECT COUNT(*) FROM SAL_ORDER_ENTRY") == 0


def test_e5_commands_set_states_and_a_repeat_is_harmless(conn, erp):
    conn.push_customer(sample_customer(1))
    conn.push_order(sample_order("JHT-20261125-0004"))
    conn.push_order(sample_order("JHT-20261125-0005"))
    for _ in range(2):
        conn.order_command("JHT-20261125-0004", "release", AT)
        conn.order_command("JHT-20261125-0004", "complete", "2026-11-30T10:00:00+08:00")
    conn.order_command("JHT-20261125-0004", "complete", "2026-12-01T10:00:00+08:00")  # the first date stays
    conn.order_command("JHT-20261125-0005", "cancel", AT)
    rows = erp.sql("SELECT F_JHT_OrderNo, F_JHT_Released, FCancelStatus, F_JHT_ReceivedAt FROM SAL_ORDER ORDER BY FId")
    assert rows == [("JHT-20261125-0004", 1, "A", "2026-11-30T10:00:00+08:00"), ("JHT-20261125-0005", 0, "B", None)]


def test_e2_stock_is_what_is_available_over_every_warehouse(conn):
    stock = conn.query_stock(["WA-100", "WA-200", "WA-300", "NO-SUCH"])
    assert stock == {"WA-100": Decimal("136.5"), "WA-200": Decimal("0"), "WA-300": Decimal("0")}


def test_e3_events_are_what_the_erp_wrote_in_its_order_log(conn, erp):
    conn.push_customer(sample_customer(1))
    conn.push_order(sample_order("JHT-20261125-0006"))
    # An order of the ERP's own (a phone order): its log is none of the bridge's business.
    customer = erp.one("SELECT FCustId FROM BD_CUSTOMER")
    erp.sql(
        "INSERT INTO SAL_ORDER (FBillNo, FDate, FCustId, FAmount) VALUES ('XSDD000001', '2026-11-25', ?, '10')",
        customer,
    )
    phone_order = erp.one("SELECT FId FROM SAL_ORDER WHERE FBillNo = 'XSDD000001'")
    erp.log(phone_order, "AUDIT")
    erp.audit("JHT-20261125-0006", "XSDD000124")
    erp.log(erp.order_id("JHT-20261125-0006"), "PRINT")  # an action the bridge does not read
    erp.log(erp.order_id("JHT-20261125-0006"), "STATUS", "生产中")
    erp.deliver(
        "JHT-20261125-0006", "XSCK000045", "顺丰速运", "SF1402837465012", {"01.10.001": "10", "02.10.002": "20"}, None
    )
    erp.deliver("JHT-20261125-0006", "XSCK000046", "德邦物流", "DPK301", {"03.10.003": "30"}, "已发货")

    events, cursor = conn.pull_events(None, limit=3)
    more, cursor = conn.pull_events(cursor)
    events += more
    assert [(e.kind, e.data.get("status") or e.data.get("order_status")) for e in events] == [
        ("order.accepted", None),
        ("order.status", "生产中"),
        ("order.shipment", None),
        ("order.shipment", "已发货"),
    ]
    accepted, status, first, last = events
    assert accepted.data == {"order_no": "JHT-20261125-0006", "erp_ref": "XSDD000124"}
    assert status.data["order_no"] == "JHT-20261125-0006" and status.data["erp_ref"] == "XSDD000124"
    assert first.data["shipment_id"] == "XSCK000045" and first.data["courier"] == "顺丰速运"
    assert first.data["tracking_no"] == "SF1402837465012" and first.data["shipped_at"] == "2026-11-27T15:40:00+08:00"
    assert first.data["lines"] == [{"sku": "WA-100", "quantity": 10}, {"sku": "WA-200", "quantity": 20}]
    assert last.data["lines"] == [{"sku": "WA-300", "quantity": 30}] and last.data["order_status"] == "已发货"
    assert cursor == last.cursor and conn.pull_events(cursor) == ([], cursor)
    # The cursor is the ERP's log id: the log entries skipped (PRINT, the phone order) are not lost
    # events, and the next entry the ERP writes is read from there.
    erp.log(erp.order_id("JHT-20261125-0006"), "STATUS", "已完成")
    assert [e.data["status"] for e in conn.pull_events(cursor)[0]] == ["已完成"]
