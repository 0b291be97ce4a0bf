"""The ERP side of SOAP (issue 6, E1–E5): the reference service of ``etc/soap/jht-erp.wsdl`` and
the foreign-shaped ``SalesOrderService``, called by zeep over real HTTP on 127.0.0.1, with the
switches the connector tests use (slow, fault, HTTP 500, dropped connections, restart) and
authentication. The committed WSDLs are checked against the served ones like migrations.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import requests
import zeep
from zeep.exceptions import Fault, TransportError
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from bridge.resources import etc_path
from connectors.erpsim import MemoryErp
from tests.doubles.soap_erp_server import SoapErpServer, SoapErpSide

DATA = Path(__file__).parent / "data"
AT = datetime(2026, 11, 25, 8, 30, tzinfo=timezone.utc)


def client(
    server, *, timeout: float = 10, user: str | None = None, password: str | None = None, wsse=None
) -> zeep.Client:
    """zeep on the server's served WSDL (basic-auth credentials, if given, for every request)."""
    session = requests.Session()
    if user is not None:
        session.auth = (user, password)
    transport = Transport(session=session, timeout=timeout, operation_timeout=timeout)
    return zeep.Client(server.wsdl_url, transport=transport, wsse=wsse)


def service(c: zeep.Client, server):
    """The client's service bound to the server's address (the committed WSDL names another)."""
    return c.create_service(next(iter(c.wsdl.bindings)), server.url)


def order(order_no: str = "JHT-20261125-0001", *, customer_id: int = 1, lines: list | None = None) -> dict:
    return {
        "orderNo": order_no,
        "customerId": customer_id,
        "customerCode": "C0001",
        "customerName": "无锡精工磨具有限公司",
        "customerType": 2,
        "released": False,
        "placedAt": AT,
        "shipTo": "江苏省无锡市新吴区长江路 88 号 3 号厂房 李娜 13800001111",
        "remark": "请用木箱包装，轻拿轻放",
        "totalAmount": Decimal("375.00"),
        "lines": {
            "OrderLine": lines
            or [
                {
                    "lineNo": 1,
                    "sku": "WA-100",
                    "name": "白刚玉平形砂轮",
                    "spec": "PSA 100×20×32",
                    "quantity": Decimal(10),
                    "unit": "片",
                    "unitPrice": Decimal("12.50"),
                    "amount": Decimal("125.00"),
                },
                {
                    "lineNo": 2,
                    "sku": "WA-200",
                    "name": "白刚玉平形砂轮",
                    "quantity": Decimal(20),
                    "unitPrice": Decimal("12.50"),
                    "amount": Decimal("250.00"),
                },
            ]
        },
    }


@pytest.fixture
def core() -> MemoryErp:
    return MemoryErp(stock={"WA-100": 100, "WA-200": Decimal("3.5")})


@pytest.fixture
def erp(core):
    with SoapErpServer(core) as server:
        yield server


@pytest.fixture
def svc(erp):
    return client(erp).service


# ---------------------------------------------------------------------------------- the WSDL


def test_e1_committed_reference_wsdl_is_the_served_one(erp):
    """E1: etc/soap/jht-erp.wsdl is what the reference server serves (regenerate it with
    ``python -m tests.doubles.soap_erp_server --write-wsdl etc/soap/jht-erp.wsdl``)."""
    committed = etc_path("soap", "jht-erp.wsdl").read_bytes()
    assert erp.committed_form() == committed, (
        "the reference service changed: run python -m tests.doubles.soap_erp_server --write-wsdl "
        "etc/soap/jht-erp.wsdl and review the diff"
    )


def test_the_documented_command_regenerates_both_committed_wsdls(tmp_path, capsys):
    """The command of etc/soap/README.md writes exactly the committed files."""
    from tests.doubles.soap_erp_server import main

    main(["--write-wsdl", str(tmp_path / "ref.wsdl")])
    main(["--foreign", "--write-wsdl", str(tmp_path / "foreign.wsdl")])
    assert (tmp_path / "ref.wsdl").read_bytes() == etc_path("soap", "jht-erp.wsdl").read_bytes()
    assert (tmp_path / "foreign.wsdl").read_bytes() == (DATA / "foreign-sales.wsdl").read_bytes()


def test_e1_zeep_loads_the_committed_reference_wsdl_and_calls_the_server(erp):
    """E1: the committed file alone (no fetch from the ERP) is enough for zeep to call it."""
    c = zeep.Client(str(etc_path("soap", "jht-erp.wsdl")))
    assert set(c.wsdl.services) == {"JhtErpService"}
    assert service(c, erp).PushCustomer(customer={"id": 3, "name": "常州砂轮厂"}) == "C0001"


# ---------------------------------------------------------------------------------- operations


def test_e4_push_customer_gives_an_erp_code_and_keeps_chinese_text(svc, core):
    """E4: a customer reaches the ERP with its Chinese name; its code comes back (and again the
    same on a repeat), announced once by a customer.code event."""
    customer = {
        "id": 5,
        "name": "无锡精工磨具有限公司",
        "type": 2,
        "contactName": "王建国",
        "phone": "13912345678",
        "salespersonUsername": "zhangwei",
        "salespersonName": "张伟",
        "mergedIds": {"long": [8, 9]},
        "updatedAt": AT,
    }
    assert svc.PushCustomer(customer=customer) == "C0001"
    assert svc.PushCustomer(customer=customer) == "C0001"
    held = core.customers[5]
    assert (held["name"], held["contact_name"], held["salesperson"]["name"]) == (
        "无锡精工磨具有限公司",
        "王建国",
        "张伟",
    )
    assert held["merged_ids"] == [8, 9]
    assert [e["kind"] for e in core.emitted] == ["customer.code"]


def test_e4_push_customer_with_its_own_code_answers_it(svc):
    """E4: a customer that already has an ERP code keeps it."""
    assert svc.PushCustomer(customer={"id": 6, "name": "苏州磨料", "erpCode": "K-0042"}) == "K-0042"


def test_e1_same_order_number_twice_is_one_order(svc, core):
    """E1, E6: the same order number again makes no second order; the answer says duplicate,
    with the ERP number of the first time."""
    first = svc.PushOrder(order=order())
    again = svc.PushOrder(order=order())
    assert (first.erpOrderNo, first.duplicate) == ("SO-00001", False)
    assert (again.erpOrderNo, again.duplicate) == ("SO-00001", True)
    assert list(core.orders) == ["JHT-20261125-0001"] and core.imports["JHT-20261125-0001"] == 2


def test_e1_decimals_are_exact_end_to_end(svc, core):
    """E1, C7: quantities and amounts travel as exact decimals (12.345678 stays 12.345678), in
    and out."""
    lines = [
        {
            "lineNo": 1,
            "sku": "WA-100",
            "quantity": Decimal("12.345678"),
            "unitPrice": Decimal("0.10"),
            "amount": Decimal("1.2345678"),
        }
    ]
    svc.PushOrder(order=order(lines=lines))
    line = core.orders["JHT-20261125-0001"]["lines"][0]
    assert (line["quantity"], line["unit_price"], line["amount"]) == (
        Decimal("12.345678"),
        Decimal("0.10"),
        Decimal("1.2345678"),
    )
    assert str(line["quantity"]) == "12.345678"
    stock = svc.QueryStock(skus={"string": ["WA-100"]})  # zeep unwraps the StockItemArray to a list
    assert [(s.sku, s.quantity) for s in stock] == [("WA-100", Decimal("87.654322"))]
    assert isinstance(stock[0].quantity, Decimal)


def test_e1_order_header_and_lines_reach_the_erp_with_chinese_text(svc, core):
    """E1: the header and every line arrive as sent."""
    svc.PushOrder(order=order())
    held = core.orders["JHT-20261125-0001"]
    assert held["remark"] == "请用木箱包装，轻拿轻放"
    assert held["customer"] == {"id": 1, "erp_code": "C0001", "name": "无锡精工磨具有限公司"}
    assert [(line["sku"], line["quantity"], line["unit"]) for line in held["lines"]] == [
        ("WA-100", Decimal(10), "片"),
        ("WA-200", Decimal(20), None),
    ]
    assert held["placed_at"] == AT.isoformat()


def test_e6_business_rejection_is_a_client_rejected_fault_with_the_erps_words(svc, erp, core):
    """E6: a rejected order answers faultcode Client.Rejected with the ERP's (Chinese) words,
    and nothing is imported."""
    erp.reject("JHT-20261125-0009", "客户信用额度不足")
    with pytest.raises(Fault) as caught:
        svc.PushOrder(order=order("JHT-20261125-0009"))
    assert (caught.value.code, caught.value.message) == ("soap11env:Client.Rejected", "客户信用额度不足")
    assert core.orders == {} and core.imports["JHT-20261125-0009"] == 0


def test_e5_order_commands_apply_once_each_and_repeat_harmlessly(svc, core):
    """E5: release, cancel, complete reach the ERP; a repeat is harmless."""
    svc.PushOrder(order=order())
    assert svc.OrderCommand(orderNo="JHT-20261125-0001", command="release", at=AT) is None
    svc.OrderCommand(orderNo="JHT-20261125-0001", command="release", at=AT)
    assert core.released["JHT-20261125-0001"] is True
    svc.OrderCommand(orderNo="JHT-20261125-0001", command="cancel", at=AT)
    svc.OrderCommand(orderNo="JHT-20261125-0001", command="cancel", at=AT)
    assert core.status["JHT-20261125-0001"] == "cancelled"
    assert [c for n, c in core.commands] == ["release", "release", "cancel", "cancel"]
    assert [e["data"]["status"] for e in core.emitted if e["kind"] == "order.status"].count("cancelled") == 1


def test_e5_command_for_an_unknown_order_is_a_client_unknown_order_fault(svc):
    """E5: the ERP does not hold the order (yet): faultcode Client.UnknownOrder."""
    with pytest.raises(Fault) as caught:
        svc.OrderCommand(orderNo="JHT-20261125-0404", command="complete", at=AT)
    assert caught.value.code == "soap11env:Client.UnknownOrder"
    assert "JHT-20261125-0404" in caught.value.message


def test_e6_unknown_command_is_a_client_invalid_fault(svc):
    """E6: a command outside release|cancel|complete is refused by the schema: Client.Invalid."""
    svc.PushOrder(order=order())
    with pytest.raises(Fault) as caught:
        svc.OrderCommand(orderNo="JHT-20261125-0001", command="explode", at=AT)
    assert caught.value.code == "soap11env:Client.Invalid"


def _post(server, body: str, **headers) -> requests.Response:
    return requests.post(
        server.url,
        data=body.encode("utf-8"),
        timeout=10,
        headers={"Content-Type": "text/xml; charset=utf-8", **headers},
    )


def _envelope(inner: str, header: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:e="urn:jht-bridge:erp:1">'
        f"<soap:Header>{header}</soap:Header><soap:Body>{inner}</soap:Body></soap:Envelope>"
    )


def test_e6_missing_required_field_is_a_client_invalid_fault(erp, core):
    """E6: an order without lines or a line without quantity (zeep would refuse to send it;
    another client might) answers Client.Invalid naming the field, and nothing is imported."""
    no_lines = _envelope(
        "<e:PushOrder><e:order><e:orderNo>JHT-1</e:orderNo><e:customerId>1</e:customerId>"
        "<e:lines/></e:order></e:PushOrder>"
    )
    answer = _post(erp, no_lines)
    assert answer.status_code == 500 and "Client.Invalid" in answer.text
    no_quantity = _envelope(
        "<e:PushOrder><e:order><e:orderNo>JHT-1</e:orderNo><e:customerId>1</e:customerId>"
        "<e:lines><e:OrderLine><e:sku>WA-100</e:sku></e:OrderLine></e:lines></e:order>"
        "</e:PushOrder>"
    )
    answer = _post(erp, no_quantity)
    assert answer.status_code == 500 and "Client.Invalid" in answer.text and "quantity" in answer.text
    blank_number = _envelope(
        "<e:PushOrder><e:order><e:orderNo> </e:orderNo><e:customerId>1</e:customerId>"
        "<e:lines><e:OrderLine><e:sku>WA-100</e:sku><e:quantity>1</e:quantity></e:OrderLine>"
        "</e:lines></e:order></e:PushOrder>"
    )
    answer = _post(erp, blank_number)
    assert answer.status_code == 500 and "Client.Invalid" in answer.text and "orderNo" in answer.text
    assert core.orders == {}


def test_e6_an_internal_error_is_a_server_fault(svc, core, monkeypatch):
    """E6: anything that breaks inside the ERP answers faultcode Server (try again later)."""

    def broken(doc):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(core, "import_order", broken)
    with pytest.raises(Fault) as caught:
        svc.PushOrder(order=order())
    assert caught.value.code == "soap11env:Server"


def test_c7_query_stock_answers_known_skus_only(svc, core):
    """E2, C7: stock for the skus the ERP knows, as decimals; unknown ones left out."""
    stock = svc.QueryStock(skus={"string": ["WA-100", "NO-SUCH", "WA-200"]})
    assert {s.sku: s.quantity for s in stock} == {"WA-100": Decimal(100), "WA-200": Decimal("3.5")}
    assert svc.QueryStock(skus={"string": ["NO-SUCH"]}) is None


def test_e4_merge_customers_gives_the_absorbed_one_the_survivors_code(svc, core):
    """E4: after a merge the absorbed customer answers to the survivor's ERP code."""
    svc.PushCustomer(customer={"id": 1, "name": "甲"})
    assert svc.MergeCustomers(survivorId=1, absorbedId=2, at=AT) is None
    assert core.customer_codes[2] == core.customer_codes[1] == "C0001"
    assert core.merges[0]["survivor"] == {"id": 1}


def test_e3_pull_events_oldest_first_after_the_id_with_every_kind(svc, core):
    """E3: events come with increasing ids, oldest first, after the id asked for, at most
    ``limit``; every kind carries its data in its fields."""
    svc.PushOrder(order=order())  # WA-200 is short: accepted, then pending
    core.release_in_erp("JHT-20261125-0001")
    core.ship("JHT-20261125-0001", parts=2)
    core.set_stock({"WA-100": Decimal("7.25"), "GC-300": 0})
    svc.PushCustomer(customer={"id": 7, "name": "无锡"})
    events = svc.PullEvents(afterId=0, limit=100)
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert [e.kind for e in events] == [
        "order.accepted",
        "order.status",
        "order.released",
        "order.shipment",
        "order.shipment",
        "stock",
        "customer.code",
    ]
    accepted, status, released, ship1, ship2, stock, code = events
    assert (accepted.orderNo, accepted.erpRef) == ("JHT-20261125-0001", "SO-00001")
    assert (status.status, status.erpRef) == ("pending", "SO-00001")
    assert released.orderNo == "JHT-20261125-0001"
    assert ship1.courier and ship1.trackingNo and ship1.shipmentId == "SO-00001-S1" and ship1.orderStatus is None
    assert [(x.sku, x.quantity) for x in ship1.lines.EventLine] == [("WA-100", Decimal(10))]
    assert [(x.sku, x.quantity) for x in ship2.lines.EventLine] == [("WA-200", Decimal(20))]
    assert ship2.orderStatus == "shipped" and isinstance(ship2.shippedAt, datetime)
    assert {x.sku: x.quantity for x in stock.items.StockItem} == {"WA-100": Decimal("7.25"), "GC-300": Decimal(0)}
    assert (code.customerId, code.erpCode) == (7, "C0001")
    later = svc.PullEvents(afterId=3, limit=2)
    assert [e.id for e in later] == [4, 5]
    assert svc.PullEvents(afterId=len(events), limit=10) is None


def test_e3_chinese_text_of_events_round_trips(svc, core):
    """E3: an event's Chinese text comes back as written."""
    core.emit("order.status", {"order_no": "JHT-1", "status": "生产中", "note": "砂轮已上线，预计周五完工"})
    (event,) = svc.PullEvents(afterId=0, limit=10)
    assert (event.status, event.note) == ("生产中", "砂轮已上线，预计周五完工")


# ---------------------------------------------------------------------------------- switches


def test_e6_slow_erp_makes_the_clients_read_timeout_fire(erp):
    """E6: with ``delay_s`` the ERP answers slowly: a client with a shorter read timeout gives
    up; with the delay gone it answers again."""
    hasty = client(erp, timeout=1.5).service  # generous: a loaded CI machine is slow too
    erp.delay_s = 5.0
    with pytest.raises(requests.exceptions.Timeout):
        hasty.QueryStock(skus={"string": ["WA-100"]})
    erp.delay_s = 0
    assert [s.sku for s in hasty.QueryStock(skus={"string": ["WA-100"]})] == ["WA-100"]


def test_e6_a_slow_call_does_not_hold_up_the_others(erp, core):
    """E6: the server answers each call in its own thread: while one call waits in a slow
    handler another one is answered (checked by order of completion, not by time)."""
    import threading

    entered, release = threading.Event(), threading.Event()
    real = core.stock_of

    def slow_stock_of(skus):
        if "SLOW" in skus:
            entered.set()
            release.wait(10)
        return real(skus)

    core.stock_of = slow_stock_of
    svc = client(erp).service
    done: list[str] = []
    slow = threading.Thread(target=lambda: (svc.QueryStock(skus={"string": ["SLOW"]}), done.append("slow")))
    slow.start()
    assert entered.wait(10)
    svc.QueryStock(skus={"string": ["WA-100"]})
    done.append("quick")
    release.set()
    slow.join(10)
    assert done == ["quick", "slow"]


def test_e6_fault_mode_answers_server_unavailable_to_every_call(erp, svc, core):
    """E6: mode ``fault``: every call answers faultcode Server.Unavailable (transient), nothing
    is taken; back to ``ok`` it works."""
    erp.mode = "fault"
    with pytest.raises(Fault) as caught:
        svc.PushOrder(order=order())
    assert caught.value.code == "soap11env:Server.Unavailable"
    assert core.imports["JHT-20261125-0001"] == 0
    erp.mode = "ok"
    assert svc.PushOrder(order=order()).duplicate is False


def test_e6_http500_mode_answers_http_500_without_a_soap_fault(erp, svc):
    """E6: mode ``http500``: HTTP 500 with a body that is not SOAP (a proxy or a crashed web
    server), which zeep reports as a transport error, not a fault."""
    erp.mode = "http500"
    with pytest.raises(TransportError) as caught:
        svc.QueryStock(skus={"string": ["WA-100"]})
    assert caught.value.status_code == 500


def test_e6_drop_mode_closes_the_connection_without_an_answer(erp, svc, core):
    """E6: mode ``drop``: the connection is closed without a word (a connection error)."""
    erp.mode = "drop"
    with pytest.raises(requests.exceptions.ConnectionError):
        svc.PushOrder(order=order())
    erp.mode = "ok"
    assert svc.PushOrder(order=order()).erpOrderNo == "SO-00001"


def test_e6_restart_of_the_web_service_on_the_same_port_loses_nothing(erp, svc, core):
    """E6: the ERP's web service stops (connection refused) and starts again on the same port
    with everything it had accepted: a re-sent order is a duplicate, events are still there."""
    first = svc.PushOrder(order=order())
    port = erp.port
    erp.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        svc.QueryStock(skus={"string": ["WA-100"]})
    erp.start()
    assert erp.port == port
    again = svc.PushOrder(order=order())
    assert (again.erpOrderNo, again.duplicate) == (first.erpOrderNo, True)
    assert [e.kind for e in svc.PullEvents(afterId=0, limit=10)] == ["order.accepted", "order.status"]


def test_mode_must_be_a_known_one(erp):
    with pytest.raises(ValueError):
        erp.mode = "flaky"


# ---------------------------------------------------------------------------------- authentication


def test_e1_http_basic_auth_when_configured(core):
    """E1: with basic auth on, a call without or with wrong credentials answers HTTP 401; with
    the right ones it goes through (the WSDL is protected too)."""
    with SoapErpServer(core, user="jht", password="s3cret") as server:
        assert requests.get(server.wsdl_url, timeout=10).status_code == 401
        good = client(server, user="jht", password="s3cret").service
        assert good.PushCustomer(customer={"id": 1, "name": "甲"}) == "C0001"
        offline = zeep.Client(str(etc_path("soap", "jht-erp.wsdl")))
        for session_auth in (None, ("jht", "wrong")):
            offline.transport.session.auth = session_auth
            with pytest.raises(TransportError) as caught:
                service(offline, server).QueryStock(skus={"string": ["WA-100"]})
            assert caught.value.status_code == 401


def test_e1_ws_security_username_token_when_configured(core):
    """E1: with WS-Security on, a call without a UsernameToken, with a wrong password or a
    digest password answers faultcode Client.Authentication; PasswordText with the right
    password goes through."""
    with SoapErpServer(core, wsse_user="jht", wsse_password="s3cret") as server:
        assert (
            client(server, wsse=UsernameToken("jht", "s3cret")).service.PushCustomer(customer={"id": 1, "name": "甲"})
            == "C0001"
        )
        for wsse in (
            None,
            UsernameToken("jht", "wrong"),
            UsernameToken("other", "s3cret"),
            UsernameToken("jht", "s3cret", use_digest=True),
        ):
            with pytest.raises(Fault) as caught:
                client(server, wsse=wsse).service.QueryStock(skus={"string": ["WA-100"]})
            assert caught.value.code == "soap11env:Client.Authentication", wsse
        assert list(core.customers) == [1]


def test_e1_basic_auth_and_ws_security_together(core):
    """E1: both at once: both must be right."""
    with SoapErpServer(core, user="jht", password="p1", wsse_user="erp", wsse_password="p2") as server:
        svc = client(server, user="jht", password="p1", wsse=UsernameToken("erp", "p2")).service
        assert svc.QueryStock(skus={"string": ["WA-100"]})[0].quantity == Decimal(100)
        with pytest.raises(Fault):
            client(server, user="jht", password="p1").service.QueryStock(skus={"string": ["WA-100"]})


def test_unknown_path_is_404(erp):
    assert requests.get(f"http://{erp.host}:{erp.port}/elsewhere?wsdl", timeout=10).status_code == 404


# ---------------------------------------------------------------------------------- ErpSide harness


def test_soap_erp_side_sees_what_the_server_took_and_pulls_its_levers(erp, svc):
    """The contract kit's ErpSide on the server: orders, import counts, customers, commands,
    events by id, stock, outage and a removed target."""
    side = SoapErpSide(erp)
    svc.PushOrder(order=order())
    svc.PushOrder(order=order())
    svc.PushCustomer(customer={"id": 5, "name": "无锡精工"})
    svc.OrderCommand(orderNo="JHT-20261125-0001", command="release", at=AT)
    side.process()
    assert list(side.orders()) == ["JHT-20261125-0001"] and side.import_count("JHT-20261125-0001") == 2
    assert side.customers()[5]["name"] == "无锡精工"
    assert side.commands("JHT-20261125-0001") == ["release"]
    event_id = side.emit("order.status", {"order_no": "JHT-20261125-0001", "status": "in_production"})
    assert [str(e.id) for e in svc.PullEvents(afterId=int(event_id) - 1, limit=10)] == [event_id]
    side.set_stock({"GC-300": Decimal("2.5")})
    assert svc.QueryStock(skus={"string": ["GC-300"]})[0].quantity == Decimal("2.5")
    side.go_down()
    with pytest.raises(requests.exceptions.ConnectionError):
        svc.QueryStock(skus={"string": ["GC-300"]})
    side.come_back()
    assert svc.QueryStock(skus={"string": ["GC-300"]})
    target = side.remove_target()
    assert target == f"127.0.0.1:{erp.port}" and target in erp.url
    with pytest.raises(requests.exceptions.ConnectionError):
        svc.QueryStock(skus={"string": ["GC-300"]})


# ---------------------------------------------------------------------------------- the foreign service

from tests.doubles.soap_foreign_server import ForeignErpServer, ForeignErpSide  # noqa: E402


def bill(bill_no: str = "JHT-20261125-0001", *, entries: list | None = None) -> dict:
    return {
        "BillNo": bill_no,
        "CustNo": "5",
        "CustCode": "C0005",
        "CustName": "无锡精工磨具有限公司",
        "BillDate": AT,
        "Remark": "请用木箱包装",
        "Address": "江苏省无锡市新吴区长江路 88 号",
        "Entries": {
            "SalesEntry": entries
            or [
                {
                    "Seq": 1,
                    "MaterialNo": "WA-100",
                    "MaterialName": "白刚玉平形砂轮",
                    "Model": "PSA 100×20×32",
                    "Qty": Decimal(10),
                    "Price": Decimal("12.50"),
                    "Amount": Decimal("125.00"),
                },
                {"Seq": 2, "MaterialNo": "WA-200", "Qty": Decimal(20)},
            ]
        },
    }


@pytest.fixture
def foreign(core):
    with ForeignErpServer(core) as server:
        yield server


@pytest.fixture
def fsvc(foreign):
    return client(foreign).service


def test_e1_committed_foreign_wsdl_is_the_served_one(foreign):
    """E1: tests/data/foreign-sales.wsdl is what the foreign server serves (regenerate with
    ``python -m tests.doubles.soap_erp_server --foreign --write-wsdl tests/data/foreign-sales.wsdl``)."""
    assert foreign.committed_form() == (DATA / "foreign-sales.wsdl").read_bytes(), (
        "the foreign service changed: regenerate tests/data/foreign-sales.wsdl and review the diff"
    )
    c = zeep.Client(str(DATA / "foreign-sales.wsdl"))
    assert set(c.wsdl.services) == {"SalesOrderService"}
    assert set(c.wsdl.services["SalesOrderService"].ports) == {"SalesOrderService"}


def test_e4_foreign_save_customer_answers_success_and_code_or_success_false(fsvc, core):
    """E4: SaveCustomer answers Success=true with the ERP code; a customer it cannot take
    answers Success=false with a message (no fault)."""
    ok = fsvc.SaveCustomer(
        request={
            "CustNo": "5",
            "CustName": "无锡精工磨具有限公司",
            "Linkman": "王建国",
            "Mobile": "13912345678",
            "SalesmanCode": "zhangwei",
        }
    )
    assert (ok.Success, ok.Code) == (True, "C0001")
    assert core.customers[5]["name"] == "无锡精工磨具有限公司" and core.customers[5]["contact_name"] == "王建国"
    refused = fsvc.SaveCustomer(request={"CustNo": "6", "CustName": ""})
    assert refused.Success is False and refused.Message and 6 not in core.customers


def test_e1_foreign_bill_number_twice_is_a_client_fault_already_there(fsvc, core):
    """E1: CreateSalesOrder answers the ERP's BillId; the same BillNo again is one order and
    answers faultcode Client with 单据编号已存在: <BillNo> (the bridge counts it as delivered)."""
    assert fsvc.CreateSalesOrder(bill=bill()).BillId == "SO-00001"
    with pytest.raises(Fault) as caught:
        fsvc.CreateSalesOrder(bill=bill())
    assert (caught.value.code, caught.value.message) == ("soap11env:Client", "单据编号已存在: JHT-20261125-0001")
    assert list(core.orders) == ["JHT-20261125-0001"] and core.imports["JHT-20261125-0001"] == 2
    held = core.orders["JHT-20261125-0001"]
    assert held["customer"]["id"] == 5 and [(x["sku"], x["quantity"]) for x in held["lines"]] == [
        ("WA-100", Decimal(10)),
        ("WA-200", Decimal(20)),
    ]


def test_e6_foreign_rejection_is_a_client_fault_with_the_erps_words(foreign, fsvc, core):
    """E6: a rejected bill answers faultcode Client, 物料不存在: <MaterialNo> (or the text given)."""
    foreign.reject("JHT-20261125-0002")
    with pytest.raises(Fault) as caught:
        fsvc.CreateSalesOrder(bill=bill("JHT-20261125-0002"))
    assert (caught.value.code, caught.value.message) == ("soap11env:Client", "物料不存在: WA-200")
    foreign.reject("JHT-20261125-0003", "客户已冻结")
    with pytest.raises(Fault, match="客户已冻结"):
        fsvc.CreateSalesOrder(bill=bill("JHT-20261125-0003"))
    assert core.orders == {}


def test_e5_foreign_change_bill_state_maps_actions_to_commands(fsvc, core):
    """E5: AUDIT = release, CLOSE = cancel, FINISH = complete; a bill it does not have answers
    false; an unknown action is a Client fault."""
    fsvc.CreateSalesOrder(bill=bill())
    assert fsvc.ChangeBillState(BillNo="JHT-20261125-0001", Action="AUDIT", OpTime=AT) is True
    assert fsvc.ChangeBillState(BillNo="JHT-20261125-0001", Action="FINISH", OpTime=AT) is True
    assert fsvc.ChangeBillState(BillNo="JHT-20261125-0404", Action="CLOSE", OpTime=AT) is False
    with pytest.raises(Fault) as caught:
        fsvc.ChangeBillState(BillNo="JHT-20261125-0001", Action="EXPLODE", OpTime=AT)
    assert caught.value.code == "soap11env:Client"
    assert core.commands == [("JHT-20261125-0001", "release"), ("JHT-20261125-0001", "complete")]


def test_c7_foreign_inventory_exact_and_known_only(fsvc, core):
    """E2, C7: GetInventory answers exact decimals for known materials only."""
    core.set_stock({"WA-300": Decimal("12.345678")})
    stock = fsvc.GetInventory(MaterialNos={"string": ["WA-300", "WA-200", "NO-SUCH"]})
    assert {i.MaterialNo: i.QtyAvailable for i in stock} == {"WA-300": Decimal("12.345678"), "WA-200": Decimal("3.5")}
    assert str(stock[0].QtyAvailable) == "12.345678"


def test_e3_foreign_changes_carry_every_kind_with_state_codes(fsvc, core):
    """E3: GetChanges: Seq increasing, oldest first, after FromSeq, at most MaxCount; each
    event kind as its ChangeType with the ERP's numeric state codes."""
    fsvc.CreateSalesOrder(bill=bill())  # WA-200 short: ACCEPT, STATUS 0 (pending)
    core.produce("JHT-20261125-0001")
    core.release_in_erp("JHT-20261125-0001")
    core.ship("JHT-20261125-0001")
    fsvc.SaveCustomer(request={"CustNo": "7", "CustName": "常州砂轮厂"})
    core.set_stock({"WA-100": Decimal("0.5")})
    # zeep unwraps GetChangesResponse/GetChangesResult(ChangeList)/Items: the answer is the
    # ChangeArray, {'Change': [...]}, or None when there is no change.
    items = fsvc.GetChanges(FromSeq=0, MaxCount=100).Change
    assert [c.Seq for c in items] == list(range(1, 8))
    assert [c.ChangeType for c in items] == ["ACCEPT", "STATUS", "STATUS", "AUDIT", "SHIP", "CUST", "STOCK"]
    accept, pending, producing, audit, ship, cust, stock = items
    assert (accept.BillNo, accept.BillId) == ("JHT-20261125-0001", "SO-00001")
    assert (pending.State, producing.State) == ("0", "1")
    assert audit.BillNo == "JHT-20261125-0001"
    assert (ship.State, ship.ShipNo, ship.BillId) == ("3", "SO-00001-S1", "SO-00001")
    assert ship.Express and ship.ExpressNo and isinstance(ship.ShipTime, datetime)
    assert [(d.MaterialNo, d.Qty) for d in ship.Details.ChangeDetail] == [
        ("WA-100", Decimal(10)),
        ("WA-200", Decimal(20)),
    ]
    assert (cust.CustNo, cust.CustCode) == ("7", "C0001")
    assert [(i.MaterialNo, i.QtyAvailable) for i in stock.Stock.Inventory] == [("WA-100", Decimal("0.5"))]
    assert [c.Seq for c in fsvc.GetChanges(FromSeq=5, MaxCount=1).Change] == [6]
    assert fsvc.GetChanges(FromSeq=7, MaxCount=10) is None


def test_e1_foreign_basic_auth_required_when_configured(core):
    """E1: SalesOrderService with HTTP basic auth: 401 without credentials, served with them."""
    with ForeignErpServer(core, user="kingdee", password="k1ngdee") as server:
        assert requests.get(server.wsdl_url, timeout=10).status_code == 401
        svc = client(server, user="kingdee", password="k1ngdee").service
        assert svc.SaveCustomer(request={"CustNo": "1", "CustName": "甲"}).Success is True
        offline = zeep.Client(str(DATA / "foreign-sales.wsdl"))
        with pytest.raises(TransportError) as caught:
            service(offline, server).GetInventory(MaterialNos={"string": ["WA-100"]})
        assert caught.value.status_code == 401


def test_e6_foreign_switches_and_harness(foreign, fsvc):
    """E6: the foreign server has the same switches; its ErpSide sees what it took."""
    side = ForeignErpSide(foreign)
    foreign.mode = "fault"
    with pytest.raises(Fault, match="不可用"):
        fsvc.CreateSalesOrder(bill=bill())
    foreign.mode = "ok"
    fsvc.CreateSalesOrder(bill=bill())
    assert side.import_count("JHT-20261125-0001") == 1 and list(side.orders()) == ["JHT-20261125-0001"]
    event_id = side.emit("order.status", {"order_no": "JHT-20261125-0001", "status": "completed"})
    (change,) = fsvc.GetChanges(FromSeq=int(event_id) - 1, MaxCount=10).Change
    assert (str(change.Seq), change.State) == (event_id, "4")
    side.go_down()
    with pytest.raises(requests.exceptions.ConnectionError):
        fsvc.GetChanges(FromSeq=0, MaxCount=1)
    side.come_back()
    assert fsvc.GetChanges(FromSeq=0, MaxCount=1).Change[0].ChangeType == "ACCEPT"
