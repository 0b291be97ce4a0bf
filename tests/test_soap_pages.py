"""The SOAP connector on an ERP of "page" web services — one WSDL per entity, Create / Read /
ReadMultiple / Update, an Update needing the Key a Read returns — driven by a mapping file
alone (docs/examples/soap-pages/mapping.toml, the guide's worked example §4b), issue #19."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.connector import ConnectorContext, PermanentError, TransientError
from connectors.erpsim import MemoryErp
from connectors.soap.connector import SoapConnector, SoapSettings
from tests.doubles.connector_kit import AT, ConnectorContract, sample_command, sample_customer, sample_order
from tests.doubles.soap_pages_server import ITEM_CODES, ItemCatalogue, PagesErpServer, PagesErpSide

ROOT = Path(__file__).resolve().parents[1]
PAGES_MAPPING = ROOT / "docs" / "examples" / "soap-pages" / "mapping.toml"
CONFLICT = "Another user has modified the record"


@pytest.fixture(autouse=True)
def _quiet_spyne():
    logging.getLogger("spyne").setLevel(logging.CRITICAL)


@pytest.fixture
def pages_server():
    with PagesErpServer(MemoryErp()) as server:
        yield server


def pages_settings(server: PagesErpServer, tmp_path: Path, **settings) -> dict:
    """The connector's settings for the page services: a WSDL per service, the worked example's
    mapping, and the ERP's words for "already there" and "changed since you read it"."""
    return {
        "services": {name: {"wsdl": url} for name, url in server.wsdl_urls.items()},
        "mapping": str(PAGES_MAPPING),
        "wsdl_cache": str(tmp_path / "cache"),
        "read_timeout_s": 5,
        "already_exists": ["already exists"],
        "concurrency_faults": [CONFLICT],
        **settings,
    }


def pages_connector(server: PagesErpServer, tmp_path: Path, codes: dict | None = None, **settings) -> SoapConnector:
    context = ConnectorContext(base_dir=tmp_path, item_codes=ItemCatalogue(codes))
    return SoapConnector(pages_settings(server, tmp_path, **settings), context)


class TestSoapPagesContract(ConnectorContract):
    """#19 "what must hold": the whole connector contract on the page services, through the
    mapping file alone — orders (lines by ERP item code), customers, release / cancel / complete
    by read-then-update, stock by ERP item code, events from a codeunit."""

    @pytest.fixture
    def connector(self, pages_server, tmp_path):
        connector = pages_connector(pages_server, tmp_path)
        yield connector
        connector.close()

    @pytest.fixture
    def erp(self, pages_server):
        return PagesErpSide(pages_server)


# =========================================================================== points 1 and 2


def test_p19_1_e7_each_operation_on_its_own_service_and_check_per_service(pages_server, tmp_path):
    """#19 point 1, E7, O3: four WSDLs, each operation on the one it names; ``check`` loads each
    and checks every step against its own service's operations."""
    connector = pages_connector(pages_server, tmp_path)
    lines = {line.name: line for line in connector.check()}
    assert [n for n, line in lines.items() if not line.ok] == []
    for name in ("sales_order", "customer", "item", "bridge"):
        assert lines[f"wsdl {name}"].detail.startswith(pages_server.wsdl_urls[name])
        assert lines[f"endpoint {name}"].detail == pages_server.url_of(name)
    assert lines["operation query_stock"].detail.startswith("ReadMultiple(filter: ns0:Item_Filter[]")
    assert lines["operation order_command step 1"].detail == "Update(SalesOrder: ns0:SalesOrder)"
    assert lines["operation pull_events"].detail.startswith("GetEvents(")

    pages_server.stop()  # a WSDL that cannot be had is named with its service
    lines = pages_connector(pages_server, tmp_path / "elsewhere").check()
    failing = [line for line in lines if not line.ok]
    assert failing and all(line.name.startswith("wsdl ") for line in failing)
    assert "connector.soap.services.bridge.wsdl" in next(line for line in failing if line.name == "wsdl bridge").detail


def test_p19_1_e7_a_service_the_mapping_names_must_be_configured(pages_server, tmp_path):
    """#19 point 1, E7: a mapping naming a service the settings lack, or operations naming none
    without a top-level wsdl, is refused when the config is read, by name."""
    settings = pages_settings(pages_server, tmp_path)
    del settings["services"]["item"]
    with pytest.raises(ValueError, match=r"names service\(s\) item, not in connector.soap.services"):
        SoapSettings.model_validate(settings, context={"base_dir": tmp_path})
    reference = {"services": settings["services"], "wsdl_cache": str(tmp_path)}  # the default mapping: no service
    with pytest.raises(ValueError, match="wsdl is required: the mapping has operations that name no service"):
        SoapSettings.model_validate(reference, context={"base_dir": tmp_path})


def test_p19_2_e5_commands_read_the_order_then_update_it_with_its_key(pages_server, tmp_path):
    """#19 point 2, E5: release, cancel and complete are a ReadMultiple by our order number, then
    an Update with the Key it answered; an order the ERP lacks is a rejection (dead letter)."""
    connector = pages_connector(pages_server, tmp_path)
    erp = PagesErpSide(pages_server)
    connector.push_order(sample_order("JHT-20261125-0101"))
    connector.order_command("JHT-20261125-0101", "release", AT, sample_command("JHT-20261125-0101", "release"))
    connector.order_command("JHT-20261125-0101", "cancel", AT, sample_command("JHT-20261125-0101", "cancel"))
    assert erp.commands("JHT-20261125-0101") == ["release", "cancel"]
    assert pages_server.pages.updates == [("SalesOrder", "SO-00001")] * 2
    with pytest.raises(PermanentError, match="no sales order with External Document No. JHT-20261125-0404"):
        connector.order_command("JHT-20261125-0404", "complete", AT, None)


def test_p19_2_e6_the_key_rule_an_update_without_the_key_is_refused(pages_server, tmp_path):
    """#19 point 2, E6: the test ERP holds the Key rule: an Update without the Key is refused
    with its words (so a mapping that skips the Read cannot pass)."""
    mapping = tmp_path / "no-read.toml"
    text = PAGES_MAPPING.read_text(encoding="utf-8").replace('Key = "steps[0][0].Key", ', "")
    assert text != PAGES_MAPPING.read_text(encoding="utf-8")
    mapping.write_text(text, encoding="utf-8")
    connector = pages_connector(pages_server, tmp_path, mapping=str(mapping))
    connector.push_order(sample_order("JHT-20261125-0102"))
    with pytest.raises(PermanentError, match="Parameter Key in method Update in service SalesOrder is null!"):
        connector.order_command("JHT-20261125-0102", "release", AT, None)
    assert PagesErpSide(pages_server).commands("JHT-20261125-0102") == []


def test_p19_2_e6_a_concurrency_fault_runs_the_steps_again_then_waits(pages_server, tmp_path):
    """#19 point 2, E6: "Another user has modified the record" after the Read: the whole
    sequence runs again from its Read (with the new Key); still changing after
    ``concurrency_retries`` more runs, it is transient (tried later), and nothing was applied."""
    connector = pages_connector(pages_server, tmp_path, concurrency_retries=2)
    erp = PagesErpSide(pages_server)
    connector.push_order(sample_order("JHT-20261125-0103"))
    pages_server.touch_next_read(2)  # the first two Reads are overtaken; the third is not
    connector.order_command("JHT-20261125-0103", "release", AT, None)
    assert erp.commands("JHT-20261125-0103") == ["release"]
    pages_server.touch_next_read(3)  # one run and two more: all overtaken
    with pytest.raises(TransientError, match=f"{CONFLICT}.*changed 3 time"):
        connector.order_command("JHT-20261125-0103", "complete", AT, None)
    assert erp.commands("JHT-20261125-0103") == ["release"]
    connector.order_command("JHT-20261125-0103", "complete", AT, None)  # the retry, later
    assert erp.commands("JHT-20261125-0103") == ["release", "complete"]
    without = pages_connector(pages_server, tmp_path, concurrency_faults=[])
    pages_server.touch_next_read(1)  # not configured as a concurrency fault: a plain rejection
    with pytest.raises(PermanentError, match=CONFLICT):
        without.order_command("JHT-20261125-0103", "cancel", AT, None)


def test_p19_2_e8_preview_shows_the_first_step_and_names_the_next(pages_server, tmp_path):
    """#19 point 2, E8: the preview of a sequence is the first step's envelope as it is posted,
    and the steps after it by name (they are built from answers not known without calling)."""
    connector = pages_connector(pages_server, tmp_path)
    first, then = connector.render("order_command", sample_command("JHT-20261125-0104", "release"))
    assert first.title.startswith(f"POST {pages_server.url_of('sales_order')}: ReadMultiple")
    assert "JHT-20261125-0104" in first.text and "External_Document_No" in first.text
    assert then.title == "then step 1: Update on sales_order, when steps[0][0]"


# =========================================================================== points 3 and 4


def test_p19_3_e4_a_changed_customer_is_updated_not_created_again(pages_server, tmp_path):
    """#19 point 3, E4: a new customer is created; a changed one is read and updated with its
    Key (the ERP's record changes, its code stays); "already exists" on Create — someone created
    it between the Read and the Create — is tried again later, never counted as delivered."""
    connector = pages_connector(pages_server, tmp_path)
    erp = PagesErpSide(pages_server)
    code = connector.push_customer(sample_customer(5))
    assert code == "C0001" and erp.customers()[5]["name"] == sample_customer(5)["name"]
    changed = sample_customer(5, name="无锡精工磨具集团", phone="13900000000")
    assert connector.push_customer(changed) == "C0001"
    assert (erp.customers()[5]["name"], erp.customers()[5]["phone"]) == ("无锡精工磨具集团", "13900000000")
    assert pages_server.pages.updates == [("Customer", "C0001")]

    racing = tmp_path / "racing.toml"  # as if the Read had found nothing
    racing.write_text(
        PAGES_MAPPING.read_text(encoding="utf-8").replace("to_string(id)", "'nobody'", 1), encoding="utf-8"
    )
    with pytest.raises(TransientError, match="already exists.*read again later"):
        pages_connector(pages_server, tmp_path, mapping=str(racing)).push_customer(sample_customer(5, name="又改了"))
    assert erp.customers()[5]["name"] == "无锡精工磨具集团"


def test_p19_3_e4_already_exists_counts_as_delivered_only_where_the_mapping_says(pages_server, tmp_path):
    """#19 point 3, E4: the same "already exists" on a step not marked so is a fault like any
    other (here: a dead letter), not a delivery."""
    unmarked = tmp_path / "unmarked.toml"
    text = PAGES_MAPPING.read_text(encoding="utf-8").replace('already_exists = "retry", ', "")
    text = text.replace("to_string(id)", "'nobody'", 1)
    unmarked.write_text(text, encoding="utf-8")
    connector = pages_connector(pages_server, tmp_path)
    connector.push_customer(sample_customer(6))
    with pytest.raises(PermanentError, match="The record in table Customer already exists"):
        pages_connector(pages_server, tmp_path, mapping=str(unmarked)).push_customer(sample_customer(6))


def test_p19_4_e1_a_redelivered_order_reads_the_erps_number_back(pages_server, tmp_path):
    """#19 point 4, E1, E6: an order sent again is answered "External Document No. … already
    exists": counted as delivered, and the ERP's number is read back by a ReadMultiple."""
    connector = pages_connector(pages_server, tmp_path)
    erp = PagesErpSide(pages_server)
    assert connector.push_order(sample_order("JHT-20261125-0105")) == "SO-00001"
    assert connector.push_order(sample_order("JHT-20261125-0106")) == "SO-00002"
    assert connector.push_order(sample_order("JHT-20261125-0105")) == "SO-00001"
    assert erp.import_count("JHT-20261125-0105") == 2 and list(erp.orders()) == [
        "JHT-20261125-0105",
        "JHT-20261125-0106",
    ]


# =========================================================================== points 5 and 7


def test_p19_5_e2_stock_is_asked_by_erp_item_code_and_answered_by_sku(pages_server, tmp_path):
    """#19 point 5, E2: the ERP keys its items by its own code; the bridge asks by each product's
    ``erp_item_code`` (its sku where it has none) and reads the answer back by sku."""
    pages_server.core.set_stock({ITEM_CODES["WA-100"]: 12, "GC-900": 4, "WA-200": 99})
    connector = pages_connector(pages_server, tmp_path, codes={"WA-100": ITEM_CODES["WA-100"], "WA-200": "02.99"})
    stock = connector.query_stock(["WA-100", "GC-900", "WA-200"])
    assert stock == {"WA-100": Decimal(12), "GC-900": Decimal(4)}  # WA-200 is 02.99 in the ERP: unknown there


def test_p19_5_7_e1_order_lines_carry_erp_item_codes_and_the_date_is_an_xs_date(pages_server, tmp_path):
    """#19 points 5 and 7, E1: the lines reach the ERP by its item codes, ``Order_Date`` (an
    ``xs:date``) is the order's day in Asia/Shanghai, the address is cut to its field's length."""
    connector = pages_connector(pages_server, tmp_path)
    order = sample_order("JHT-20261125-0107", placed_at="2026-11-25T17:30:00+00:00")
    order["ship_to"]["detail"] = "长江路 88 号" + "很长的地址" * 30
    connector.push_order(order)
    held = pages_server.core.orders["JHT-20261125-0107"]
    assert [line["sku"] for line in held["lines"]] == [line["erp_item_code"] for line in order["lines"]]
    assert held["placed_at"] == "2026-11-26"  # 01:30 the next morning in Wuxi
    assert len(held["ship_to"]) == 100 and held["ship_to"].startswith("江苏省 无锡市 新吴区 长江路 88 号")


# =========================================================================== point 6


def mistaken(tmp_path: Path, *changes: tuple[str, str]) -> str:
    """The worked example's mapping with ``changes`` (each text must be there), as a file."""
    text = PAGES_MAPPING.read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "mistaken.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_p19_6_o3_check_names_a_wrong_field_inside_a_parameter(pages_server, tmp_path):
    """#19 point 6, O3: a key of a request that is not an element of its parameter's type —
    inside the SalesOrder, inside each of its lines — fails ``check`` by its path, with the
    elements there are; so does a value the type cannot take, built from a sample document."""
    mapping = mistaken(
        tmp_path,
        ('External_Document_No = "order_no"', 'External_Doc_No = "order_no"'),
        ('Quantity = "quantity"', 'Qty = "quantity"'),
    )
    lines = {line.name: line for line in pages_connector(pages_server, tmp_path, mapping=mapping).check()}
    create = lines["operation push_order step 0"]
    assert not create.ok
    assert "push_order.steps[0].request.SalesOrder.External_Doc_No: not an element of SalesOrder (it has: Key, No," in (
        create.detail
    )
    assert "push_order.steps[0].request.SalesOrder.SalesLines.Sales_Order_Line[].Qty: not an element of" in (
        create.detail
    )
    assert [name for name, line in lines.items() if not line.ok] == ["operation push_order step 0"]

    mapping = mistaken(tmp_path, ("Order_Date = \"date(placed_at, 'Asia/Shanghai')\"", 'Order_Date = "ship_to"'))
    lines = {line.name: line for line in pages_connector(pages_server, tmp_path, mapping=mapping).check()}
    create = lines["operation push_order step 0"]
    assert not create.ok and "a request built from a sample push_order document does not fit Create" in create.detail
    assert "The Date type doesn't accept collections" in create.detail


def test_p19_6_o3_check_names_a_wrong_answer_path_and_an_operation_on_the_wrong_service(pages_server, tmp_path):
    """#19 point 6 and point 1, O3: a field the response (or a later step) reads that the
    answer's type lacks fails ``check`` by name; query_stock pointed at the sales-order service
    (which has a ReadMultiple too) fails on the answer it reads."""
    mapping = mistaken(
        tmp_path,
        ('erp_ref = "steps[0].No || steps[1][0].No"', 'erp_ref = "steps[0].No || steps[1][0].Number"'),
        (
            'Key = "steps[0][0].Key", No = "steps[0][0].No", Status',
            'Key = "steps[0].Key", No = "steps[0][0].No", Status',
        ),
        ('service = "item"', 'service = "sales_order"'),
    )
    lines = {line.name: line for line in pages_connector(pages_server, tmp_path, mapping=mapping).check()}
    assert not lines["answer push_order"].ok
    assert "steps[1][0].Number: Number is not in SalesOrder (it has: Key, No," in lines["answer push_order"].detail
    update = lines["operation order_command step 1"]
    assert not update.ok and "Key: the answer there is a list of SalesOrder (index it: [0])" in update.detail
    assert lines["operation query_stock"].ok  # the operation and its filter exist there too…
    stock = lines["answer query_stock"]
    assert not stock.ok and "Inventory is not in SalesOrder" in stock.detail  # …the answer does not fit
    assert sorted(name for name, line in lines.items() if not line.ok) == [
        "answer push_order",
        "answer query_stock",
        "operation order_command step 1",
    ]


def test_p19_1_e7_a_bridge_toml_with_a_service_per_wsdl_loads_and_checks(pages_server, tmp_path):
    """#19 point 1, E7: the services as an integrator writes them in bridge.toml — one
    [connector.soap.services.NAME] table per WSDL — load with the config and check all ok; a
    service the mapping names but the file lacks is a config error naming it."""
    from bridge.config import ConfigError, load_config
    from bridge.plugins import load_connector

    tables = "".join(
        f'[connector.soap.services.{name}]\nwsdl = "{url}"\n' for name, url in pages_server.wsdl_urls.items()
    )
    head = (
        '[connector]\nname = "soap"\n[connector.soap]\n'
        f'mapping = "{PAGES_MAPPING.as_posix()}"\nwsdl_cache = "cache"\n'
        f'already_exists = ["already exists"]\nconcurrency_faults = ["{CONFLICT}"]\n'
    )
    (tmp_path / "bridge.toml").write_text(head + tables, encoding="utf-8")
    connector = load_connector(load_config(tmp_path / "bridge.toml", environ={}))
    try:
        assert [line for line in connector.check() if not line.ok] == []
    finally:
        connector.close()
    (tmp_path / "bridge.toml").write_text(head + tables.split("[connector.soap.services.bridge]")[0], encoding="utf-8")
    with pytest.raises(ConfigError, match=r"names service\(s\) bridge, not in connector.soap.services"):
        load_connector(load_config(tmp_path / "bridge.toml", environ={}))
