"""The SOAP connector against real SOAP servers on 127.0.0.1: the reference service of
etc/soap/jht-erp.wsdl and a foreign-shaped one driven by configuration alone."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.connector import ConnectorContext, PermanentError, TransientError
from connectors.erpsim import MemoryErp
from connectors.soap.connector import SoapConnector
from tests.doubles.connector_kit import ConnectorContract, sample_customer, sample_order
from tests.doubles.soap_erp_server import SoapErpServer, SoapErpSide

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _quiet_spyne():
    logging.getLogger("spyne").setLevel(logging.CRITICAL)


def soap_connector(server, tmp_path: Path, **settings) -> SoapConnector:
    values = {"wsdl": server.wsdl_url, "wsdl_cache": str(tmp_path / "cache"), "read_timeout_s": 5, **settings}
    return SoapConnector(values, ConnectorContext(base_dir=tmp_path))


@pytest.fixture
def reference_server():
    with SoapErpServer(MemoryErp(stock={"WA-100": 50})) as server:
        yield server


class TestSoapReferenceContract(ConnectorContract):
    """The shared connector contract against the reference SOAP service, over real HTTP."""

    @pytest.fixture
    def connector(self, reference_server, tmp_path):
        connector = soap_connector(reference_server, tmp_path)
        yield connector
        connector.close()

    @pytest.fixture
    def erp(self, reference_server):
        return SoapErpSide(reference_server)


# =========================================================================== a foreign WSDL

FOREIGN_MAPPING = ROOT / "docs" / "examples" / "soap-foreign" / "mapping.toml"


@pytest.fixture
def foreign_server():
    from tests.doubles.soap_foreign_server import ForeignErpServer

    with ForeignErpServer(MemoryErp(), user="bridge", password="桥接-secret") as server:
        yield server


def foreign_connector(server, tmp_path: Path, **settings) -> SoapConnector:
    """The SOAP connector configured for SalesOrderService by its settings alone: the WSDL, the
    worked example's mapping file, basic auth and the fault text meaning "already there"."""
    return soap_connector(
        server,
        tmp_path,
        mapping=str(FOREIGN_MAPPING),
        http_username="bridge",
        http_password="桥接-secret",
        already_exists=["单据编号已存在"],
        **settings,
    )


class TestSoapForeignContract(ConnectorContract):
    """The same contract against a service whose operations, names and shapes differ from ours
    (SaveCustomer / CreateSalesOrder{bill{Entries}} / ChangeBillState{Action} / GetInventory /
    GetChanges{Seq, ChangeType, State codes}), driven by configuration alone."""

    @pytest.fixture
    def connector(self, foreign_server, tmp_path):
        connector = foreign_connector(foreign_server, tmp_path)
        yield connector
        connector.close()

    @pytest.fixture
    def erp(self, foreign_server):
        from tests.doubles.soap_foreign_server import ForeignErpSide

        return ForeignErpSide(foreign_server)


# =========================================================================== errors, classified


def wait_until(predicate, timeout: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_e6_a_business_rejection_is_permanent_and_keeps_the_erps_words(reference_server, tmp_path):
    reference_server.reject("JHT-20261125-0009", "客户信用额度不足")
    connector = soap_connector(reference_server, tmp_path)
    with pytest.raises(PermanentError, match="SOAP fault Client.Rejected: 客户信用额度不足"):
        connector.push_order(sample_order("JHT-20261125-0009"))
    assert "JHT-20261125-0009" not in SoapErpSide(reference_server).orders()


def test_e6_an_order_command_for_an_order_the_erp_lacks_is_permanent(reference_server, tmp_path):
    connector = soap_connector(reference_server, tmp_path)
    with pytest.raises(PermanentError, match="Client.UnknownOrder"):
        connector.order_command("JHT-20261125-0404", "cancel", "2026-11-25T08:30:00+00:00")


@pytest.mark.parametrize("mode", ["fault", "http500", "drop"])
def test_e6_an_erp_in_trouble_is_transient_and_the_order_goes_later_once(reference_server, tmp_path, mode):
    """A Server fault, an HTTP 500 without a SOAP fault, a dropped connection: try again later."""
    connector = soap_connector(reference_server, tmp_path)
    connector.push_customer(sample_customer(1))  # the WSDL is loaded: only the calls fail below
    reference_server.mode = mode
    with pytest.raises(TransientError):
        connector.push_order(sample_order("JHT-20261125-0010"))
    with pytest.raises(TransientError):
        connector.query_stock(["WA-100"])
    reference_server.mode = "ok"
    connector.push_order(sample_order("JHT-20261125-0010"))
    erp = SoapErpSide(reference_server)
    assert erp.import_count("JHT-20261125-0010") == 1
    assert list(erp.orders()) == ["JHT-20261125-0010"]


def test_e6_a_slow_erp_times_out_as_transient_and_a_late_success_is_not_doubled(reference_server, tmp_path):
    connector = soap_connector(reference_server, tmp_path, read_timeout_s=1.5)  # generous: CI may be loaded
    assert connector.query_stock(["WA-100"]) == {"WA-100": Decimal(50)}
    reference_server.delay_s = 4.0
    with pytest.raises(TransientError, match="did not answer in time"):
        connector.push_order(sample_order("JHT-20261125-0011"))
    erp = SoapErpSide(reference_server)
    # The ERP took the order after all, after the bridge gave up (a lost answer)…
    assert wait_until(lambda: erp.import_count("JHT-20261125-0011") == 1)
    reference_server.delay_s = 0
    # …so the bridge's retry is answered as a duplicate: one order, the same ERP number.
    first_ref = erp.orders()["JHT-20261125-0011"]
    assert connector.push_order(sample_order("JHT-20261125-0011")) is not None
    assert list(erp.orders()) == ["JHT-20261125-0011"] and erp.orders()["JHT-20261125-0011"] == first_ref


def test_e6_foreign_already_exists_fault_is_delivered_and_success_false_is_a_rejection(foreign_server, tmp_path):
    from tests.doubles.soap_foreign_server import ForeignErpSide

    connector = foreign_connector(foreign_server, tmp_path)
    erp = ForeignErpSide(foreign_server)
    ref = connector.push_order(sample_order("JHT-20261125-0012"))
    assert ref
    assert connector.push_order(sample_order("JHT-20261125-0012")) is None  # 单据编号已存在: already there
    assert erp.import_count("JHT-20261125-0012") == 2 and list(erp.orders()) == ["JHT-20261125-0012"]
    with pytest.raises(PermanentError, match="名称不能为空"):
        connector.push_customer(sample_customer(3, name=""))
    with pytest.raises(PermanentError, match="ChangeBillState answered failure"):
        connector.order_command("JHT-20261125-0404", "release", "2026-11-25T08:30:00+00:00")
    connector.order_command("JHT-20261125-0012", "release", "2026-11-25T08:30:00+00:00")
    assert erp.commands("JHT-20261125-0012") == ["release"]
    foreign_server.reject("JHT-20261125-0013", "物料不存在: WA-300")
    with pytest.raises(PermanentError, match="SOAP fault Client: 物料不存在: WA-300"):
        connector.push_order(sample_order("JHT-20261125-0013"))


def test_e6_a_document_that_cannot_be_sent_is_permanent(reference_server, tmp_path):
    connector = soap_connector(reference_server, tmp_path)
    with pytest.raises(PermanentError, match="does not fit"):
        connector.push_order(sample_order("JHT-20261125-0014", lines=1) | {"remark": {"not": "text"}})
    assert SoapErpSide(reference_server).import_count("JHT-20261125-0014") == 0


# =========================================================================== auth, TLS, WSDL cache


def test_ws_security_username_token(tmp_path):
    with SoapErpServer(MemoryErp(stock={"WA-100": 5}), wsse_user="jht", wsse_password="口令-1") as server:
        good = soap_connector(server, tmp_path, wsse_username="jht", wsse_password="口令-1")
        assert good.query_stock(["WA-100"]) == {"WA-100": Decimal(5)}
        assert all(line.ok for line in good.check())
        bad = soap_connector(server, tmp_path, wsse_username="jht", wsse_password="wrong")
        with pytest.raises(TransientError, match="Client.Authentication"):  # waits for a fixed password
            bad.push_order(sample_order())
        line = bad.check()[-1]
        assert not line.ok and "check the user name and password" in line.detail
        assert SoapErpSide(server).orders() == {}


def test_p12_14_e8_render_is_the_envelope_a_delivery_posts(tmp_path, monkeypatch):
    """#12 point 14, E8: ``render`` shows the request envelope an operation posts (WS-Security
    password masked), built as the delivery builds it and without calling the service; the
    delivery then posts that envelope."""
    from lxml import etree

    with SoapErpServer(MemoryErp(), wsse_user="jht", wsse_password="口令-1") as server:
        connector = soap_connector(server, tmp_path, wsse_username="jht", wsse_password="口令-1")
        order = {**sample_order("JHT-20261125-0301", lines=2), "_outbox_id": 1}
        [shown] = connector.render("push_order", order)
        [command] = connector.render(
            "order_command", {"order_no": "JHT-20261125-0301", "command": "cancel", "at": "2026-11-25T08:30:00+00:00"}
        )
        assert SoapErpSide(server).orders() == {}  # nothing was sent
        assert shown.title.startswith(f"POST {server.url}") and "PushOrder" in shown.title
        assert "JHT-20261125-0301" in shown.text and "无锡精工磨具有限公司" in shown.text
        assert "口令-1" not in shown.text and ">***</" in shown.text
        assert "cancel" in command.text.lower() and "JHT-20261125-0301" in command.text

        posted = []
        transport = connector._connect().client.transport
        post_xml = transport.post_xml
        monkeypatch.setattr(
            transport,
            "post_xml",
            lambda address, envelope, headers: (
                posted.append(etree.tostring(envelope, encoding="unicode")) or post_xml(address, envelope, headers)
            ),
        )
        connector.push_order(order)
        assert list(SoapErpSide(server).orders()) == ["JHT-20261125-0301"]
        [sent] = posted
        masked = sent.replace(">口令-1</", ">***</")
        unindented = etree.fromstring(shown.text, etree.XMLParser(remove_blank_text=True))
        assert etree.tostring(unindented, encoding="unicode") == masked
        with pytest.raises(PermanentError, match="at least one line"):  # as the delivery refuses it
            connector.render("push_order", {**order, "lines": []})


def test_http_basic_auth_wrong_password_is_transient_and_check_says_so(tmp_path):
    with SoapErpServer(MemoryErp(), user="bridge", password="right") as server:
        # The WSDL is behind the same auth: give it as a file so the calls are what fails.
        wsdl = tmp_path / "service.wsdl"
        import requests

        wsdl.write_bytes(requests.get(server.wsdl_url, auth=("bridge", "right"), timeout=5).content)
        bad = soap_connector(server, tmp_path, wsdl=str(wsdl), http_username="bridge", http_password="wrong")
        with pytest.raises(TransientError, match="HTTP 401"):
            bad.push_customer(sample_customer())
        lines = {line.name: line for line in bad.check()}
        assert lines["wsdl"].ok
        assert not lines["endpoint reachable and authenticated"].ok
        assert "401" in lines["endpoint reachable and authenticated"].detail
        good = soap_connector(server, tmp_path, http_username="bridge", http_password="right")
        assert all(line.ok for line in good.check()), good.check()


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    import subprocess

    cert, key = tmp_path / "erp.pem", tmp_path / "erp.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_tls_is_verified_by_default_and_a_private_ca_can_be_given(tmp_path):
    import ssl

    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with SoapErpServer(MemoryErp(stock={"WA-100": 7}), ssl_context=context) as server:
        assert server.wsdl_url.startswith("https://")
        untrusting = soap_connector(server, tmp_path)
        with pytest.raises(TransientError, match="(?i)certificate"):
            untrusting.query_stock(["WA-100"])
        assert not untrusting.check()[1].ok
        trusting = soap_connector(server, tmp_path, ca_bundle=str(cert))
        assert trusting.query_stock(["WA-100"]) == {"WA-100": Decimal(7)}
        assert all(line.ok for line in trusting.check())


def test_a_restart_while_the_erp_web_server_is_down_uses_the_cached_wsdl(reference_server, tmp_path):
    first = soap_connector(reference_server, tmp_path)
    assert "fetched" in {line.name: line for line in first.check()}["wsdl"].detail
    first.close()
    reference_server.stop()
    restarted = soap_connector(reference_server, tmp_path)  # same cache folder, as after a bridge restart
    with pytest.raises(TransientError):
        restarted.push_order(sample_order())  # loaded from the cache; the call itself cannot go
    lines = {line.name: line for line in restarted.check()}
    assert lines["wsdl"].ok and "cached copy" in lines["wsdl"].detail
    assert not lines["endpoint reachable and authenticated"].ok
    reference_server.start()
    restarted.push_order(sample_order())
    assert SoapErpSide(reference_server).import_count(sample_order()["order_no"]) == 1
    # With no cache at all, a WSDL that cannot be fetched is a transient error, not a crash.
    reference_server.stop()
    empty = soap_connector(reference_server, tmp_path / "elsewhere")
    with pytest.raises(TransientError, match="cannot load the WSDL"):
        empty.push_order(sample_order())


# =========================================================================== check


def test_o3_check_names_each_mapped_operation_with_its_parameters(reference_server, tmp_path):
    lines = {line.name: line for line in soap_connector(reference_server, tmp_path).check()}
    assert lines["operation push_order"].ok and "PushOrder(order:" in lines["operation push_order"].detail
    assert lines["operation pull_events"].ok and "afterId" in lines["operation pull_events"].detail
    assert lines["endpoint"].detail == reference_server.url


def test_o3_check_names_a_mapped_operation_the_wsdl_lacks_and_a_wrong_parameter(reference_server, tmp_path):
    text = (ROOT / "etc" / "soap" / "jht-erp.mapping.toml").read_text(encoding="utf-8")
    text = text.replace('operation = "PushOrder"', 'operation = "SaveOrder"')
    text = text.replace(
        'request = { afterId = "after", limit = "limit" }', 'request = { fromId = "after", limit = "limit" }'
    )
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(text, encoding="utf-8")
    lines = {line.name: line for line in soap_connector(reference_server, tmp_path, mapping=str(mapping)).check()}
    assert not lines["operation push_order"].ok
    assert "SaveOrder is not in the WSDL" in lines["operation push_order"].detail
    assert "PushOrder" in lines["operation push_order"].detail  # what it has instead
    assert not lines["operation pull_events"].ok and "fromId" in lines["operation pull_events"].detail


def _mapping_with(tmp_path: Path, old: str, new: str) -> str:
    text = (ROOT / "etc" / "soap" / "jht-erp.mapping.toml").read_text(encoding="utf-8")
    assert old in text, old
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(text.replace(old, new, 1), encoding="utf-8")
    return str(mapping)


def test_o3_check_names_an_answer_key_that_reads_a_whole_record(reference_server, tmp_path):
    """O3: erp_ref, erp_code and ok are read as one value; a path to a whole record of the
    answer fails ``check`` by name, with the record's fields."""
    mapping = _mapping_with(tmp_path, 'erp_ref = "erpOrderNo"', 'erp_ref = "@"')
    lines = {line.name: line for line in soap_connector(reference_server, tmp_path, mapping=mapping).check()}
    answer = lines["answer push_order"]
    assert not answer.ok and "push_order.response.erp_ref: @ is a whole" in answer.detail, answer.detail
    assert "erpOrderNo, duplicate" in answer.detail and "not one value" in answer.detail
    assert [name for name, line in lines.items() if not line.ok] == ["answer push_order"]


@pytest.mark.parametrize(
    ("key", "path", "says"),
    [
        ("erp_ref", "@", "the mapping's erp_ref gives an object ({"),
        ("ok", "erpOrderNo", "the mapping's ok gives a text ('SO-"),
    ],
)
def test_e6_an_answer_key_of_the_wrong_kind_is_an_answer_that_does_not_fit(reference_server, tmp_path, key, path, says):
    """E6: a mapping reading the wrong part of the answer — a whole record as the ERP's order
    number, a text as ok — is not taken as success nor stored: the delivery fails as an answer
    that does not fit (transient: the message waits for the mapping to be fixed), saying what it
    got."""
    mapping = _mapping_with(tmp_path, 'erp_ref = "erpOrderNo"', f'{key} = "{path}"')
    connector = soap_connector(reference_server, tmp_path, mapping=mapping)
    with pytest.raises(TransientError) as failed:
        connector.push_order(sample_order("JHT-20261125-0031"))
    assert says in str(failed.value) and "does not fit the mapping" in str(failed.value), str(failed.value)


def test_a_bad_mapping_file_is_a_config_error_naming_the_key(tmp_path):
    from bridge.config import ConfigError, load_config
    from bridge.plugins import load_connector

    (tmp_path / "bad.toml").write_text('[push_order]\noperation = "X"\n', encoding="utf-8")
    (tmp_path / "bridge.toml").write_text(
        '[connector]\nname = "soap"\n[connector.soap]\nwsdl = "service.wsdl"\nmapping = "bad.toml"\n'
        "read_timeout_s = -1\n",
        encoding="utf-8",
    )
    config = load_config(tmp_path / "bridge.toml", environ={})
    with pytest.raises(ConfigError, match="connector.soap.read_timeout_s"):
        load_connector(config)
    (tmp_path / "bridge.toml").write_text(
        '[connector]\nname = "soap"\n[connector.soap]\nwsdl = "service.wsdl"\nmapping = "bad.toml"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"connector.soap.mapping: .*bad.toml: .*query_stock: missing"):
        load_connector(load_config(tmp_path / "bridge.toml", environ={}))


# =========================================================================== a slow ERP and the API


def test_c7_a_slow_erp_never_holds_up_order_placement(engine, tmp_path):
    """The ERP's web service takes 10 s to answer: the order is still taken at once, after the
    stock-check deadline (0.5 s), on the last stock figures, and delivered once the ERP is quick."""
    import time

    from sqlmodel import Session

    from bridge.models import Product
    from tests.api_helpers import key, login, make_client

    with SoapErpServer(MemoryErp(stock={"WA-400": 100})) as server:
        client, rt = make_client(
            engine,
            tmp_path,
            JHT_CONNECTOR__NAME="soap",
            JHT_CONNECTOR__SOAP__WSDL=server.wsdl_url,
            JHT_CONNECTOR__SOAP__WSDL_CACHE=str(tmp_path / "cache"),
            JHT_ORDERS__STOCK_CHECK_DEADLINE_S="0.5",
        )
        with Session(engine, expire_on_commit=False) as s:
            wheel = Product(sku="WA-400", name="平形砂轮 400×50×127", price=Decimal("186.00"))
            s.add(wheel)
            s.commit()
        try:
            with client:
                me = login(client, "wx-slow-erp")
                address = client.post(
                    "/api/mp/v1/addresses",
                    headers=me["headers"],
                    json={
                        "recipient": "李工",
                        "phone": "13800000000",
                        "detail": "狮山镇科技路 18 号",
                        "is_default": True,
                    },
                ).json()["id"]
                server.delay_s = 10.0
                started = time.monotonic()
                answer = client.post(
                    "/api/mp/v1/orders",
                    headers={**me["headers"], **key()},
                    json={"lines": [{"product_id": wheel.id, "quantity": 3}], "address_id": address},
                )
                waited = time.monotonic() - started
                assert answer.status_code == 201, answer.text
                # Answered long before the ERP would have (a functional bound, not a speed test).
                assert waited < 5.0, f"order placement waited {waited:.1f} s for a 10 s ERP"
                order_no = answer.json()["order_no"]
                server.delay_s = 0
                rt.dispatcher().drain()
                erp = SoapErpSide(server)
                assert erp.import_count(order_no) == 1
                assert erp.orders()[order_no]["lines"][0]["quantity"] == 3
        finally:
            rt.connector.close()


# =========================================================================== with the sync engine


def test_e6_soap_erp_stopped_slow_faulting_and_restarted_under_load(engine, tmp_path):
    """E6: the worker delivers orders and pulls events through the SOAP connector while the
    ERP's web service is stopped, answers too slowly, faults, answers HTTP 500 without a fault,
    drops connections, and comes back: every order is in the ERP once, every shipment in the
    bridge once, and every order ends shipped."""
    from sqlmodel import Session, select

    from bridge.config import load_config
    from bridge.models import CustomerType, Order, OrderStatus, OutboxMessage, OutboxStatus, Shipment
    from bridge.app import open_runtime
    from bridge.worker import wait_until as wait
    from tests.sync_helpers import make_shop, place

    core = MemoryErp(stock={"WA-400": 10_000}, seed=7)
    server = SoapErpServer(core).start()
    environ = {
        "JHT_DATABASE__URL": engine.url.render_as_string(hide_password=False),
        "JHT_CONNECTOR__NAME": "soap",
        "JHT_CONNECTOR__SOAP__WSDL": server.wsdl_url,
        "JHT_CONNECTOR__SOAP__WSDL_CACHE": str(tmp_path / "cache"),
        "JHT_CONNECTOR__SOAP__READ_TIMEOUT_S": "1.0",
        "JHT_CONNECTOR__SOAP__CONNECT_TIMEOUT_S": "0.5",
        "JHT_OUTBOX__POLL_INTERVAL_S": "0.05",
        "JHT_OUTBOX__LEASE_S": "5",
        "JHT_OUTBOX__BACKOFF_BASE_S": "0.1",
        "JHT_OUTBOX__BACKOFF_MAX_S": "0.4",
        "JHT_OUTBOX__MAX_ATTEMPTS": "1000",
        "JHT_INBOX__POLL_INTERVAL_S": "0.1",
    }
    rt = open_runtime(load_config(None, environ=environ), engine)
    assert isinstance(rt.connector, SoapConnector)
    shop = make_shop(engine, customers=3, type=CustomerType.TYPE_1)
    placed: list[str] = []
    erp = SoapErpSide(server)

    def place_some(n: int) -> None:
        placed.extend(place(engine, shop, shop["customers"][len(placed) % 3]).order_no for _ in range(n))

    def failures() -> int:
        with Session(engine) as s:
            return sum(
                m.attempts
                for m in s.exec(select(OutboxMessage).where(OutboxMessage.target == "erp")).all()
                if m.last_error
            )

    def trouble(start, stop) -> None:
        before = failures()
        start()
        try:
            place_some(6)
            assert wait(lambda: failures() > before, timeout=20), "the outage was never felt"
        finally:
            stop()

    worker = rt.worker()
    worker.start()
    try:
        place_some(4)
        trouble(server.stop, server.start)

        def slow():
            server.delay_s = 3.0

        def quick():
            server.delay_s = 0.0

        trouble(slow, quick)
        for mode in ("fault", "http500", "drop"):
            trouble(lambda m=mode: setattr(server, "mode", m), lambda: setattr(server, "mode", "ok"))
        place_some(4)

        def delivered():
            with Session(engine) as s:
                return not s.exec(
                    select(OutboxMessage.id).where(
                        OutboxMessage.status != OutboxStatus.DELIVERED, OutboxMessage.target == "erp"
                    )
                ).first()

        assert wait(delivered, timeout=60)
        assert sorted(erp.orders()) == sorted(placed)  # each order number once in the ERP

        def all_shipped():
            core.auto_tick()
            with Session(engine) as s:
                statuses = s.exec(select(Order.status)).all()
            return all(status == OrderStatus.SHIPPED for status in statuses)

        assert wait(all_shipped, timeout=120)
        with Session(engine) as s:
            for order in s.exec(select(Order)).all():
                ids = sorted(x.erp_shipment_id for x in s.exec(select(Shipment).where(Shipment.order_id == order.id)))
                assert ids == sorted(x["shipment_id"] for x in core.shipments[order.order_no]), order.order_no
    finally:
        worker.stop()
        worker.join(10)
        rt.connector.close()
        server.stop()


def test_the_committed_wsdl_file_with_an_endpoint_override_and_named_service_port(reference_server, tmp_path):
    """The integrator's usual set-up: the WSDL kept as a file (its address is the vendor's
    example), the real address given as ``endpoint``, service and port named."""
    wsdl = ROOT / "etc" / "soap" / "jht-erp.wsdl"
    assert reference_server.url not in wsdl.read_text(encoding="utf-8")
    connector = soap_connector(
        reference_server,
        tmp_path,
        wsdl=str(wsdl),
        endpoint=reference_server.url,
        service="JhtErpService",
        port="JhtErpService",
    )
    assert connector.push_order(sample_order("JHT-20261125-0020"))
    assert SoapErpSide(reference_server).import_count("JHT-20261125-0020") == 1
    lines = {line.name: line for line in connector.check()}
    assert lines["endpoint"].detail == reference_server.url and lines["wsdl"].detail.endswith("(file)")
    wrong = soap_connector(reference_server, tmp_path, wsdl=str(wsdl), service="NoSuchService")
    with pytest.raises(TransientError, match="service/port not found"):
        wrong.push_order(sample_order("JHT-20261125-0021"))
    assert not wrong.check()[1].ok


def test_e3_an_event_the_erp_shows_late_below_the_cursor_is_still_pulled_once(reference_server, tmp_path):
    """E3: an ERP that numbers its events in its database may show event 1 only after event 2
    (committed later). The connector asks again below its cursor for a while and hands 1 over once."""
    core = reference_server.core
    first = core.emit("order.status", {"order_no": "JHT-20261125-0031", "status": "in_production"})
    second = core.emit("order.status", {"order_no": "JHT-20261125-0032", "status": "in_production"})
    real = core.events_after
    hidden = {int(first)}
    core.events_after = lambda after_id, limit: [e for e in real(after_id, limit) if e["id"] not in hidden]
    connector = soap_connector(reference_server, tmp_path)
    events, cursor = connector.pull_events(None)
    assert [e.event_id for e in events] == [second] and cursor != second  # 1 is waited for
    assert connector.pull_events(cursor)[0] == []
    hidden.clear()  # the ERP's transaction committed
    events, cursor = connector.pull_events(cursor)
    assert [e.event_id for e in events] == [first] and cursor == second
    assert connector.pull_events(cursor) == ([], second)


def test_a_missing_password_file_is_reported_not_raised(reference_server, tmp_path):
    connector = soap_connector(
        reference_server, tmp_path, http_username="bridge", http_password_file=str(tmp_path / "no-such-file")
    )
    with pytest.raises(TransientError, match="cannot read a password file"):
        connector.push_order(sample_order())
    line = connector.check()[1]
    assert not line.ok and "no-such-file" in line.detail
