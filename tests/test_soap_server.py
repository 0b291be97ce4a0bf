"""The ERP side of SOAP (issue 6, E1–E5): the reference service of ``etc/soap/jht-erp.wsdl`` and
the foreign-shaped ``SalesOrderService``, called by zeep over real HTTP on 127.0.0.1, with the
switches the connector tests use (slow, fault, HTTP 500, dropped connections, restart) and
authentication. The committed WSDLs are checked against the served ones like migrations.
"""

from __future__ import annotations

import base64
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
from connectors.soap.erp_server import SoapErpServer, SoapErpSide

DATA = Path(__file__).parent / "data"
AT = datetime(2026, 11, 25, 8, 30, tzinfo=timezone.utc)


def client(server, *, timeout: float = 10, user: str | None = None, password: str | None = None,
           wsse=None) -> zeep.Client:
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
        "lines": {"OrderLine": lines or [
            {"lineNo": 1, "sku": "WA-100", "name": "白刚玉平形砂轮", "spec": "PSA 100×20×32", "quantity": Decimal(10),
             "unit": "片", "unitPrice": Decimal("12.50"), "amount": Decimal("125.00")},
            {"lineNo": 2, "sku": "WA-200", "name": "白刚玉平形砂轮", "quantity": Decimal(20),
             "unitPrice": Decimal("12.50"), "amount": Decimal("250.00")},
        ]},
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
    ``python -m connectors.soap.erp_server --write-wsdl etc/soap/jht-erp.wsdl``)."""
    committed = etc_path("soap", "jht-erp.wsdl").read_bytes()
    assert erp.committed_form() == committed, (
        "the reference service changed: run python -m connectors.soap.erp_server --write-wsdl "
        "etc/soap/jht-erp.wsdl and review the diff")


def test_e1_zeep_loads_the_committed_reference_wsdl_and_calls_the_server(erp):
    """E1: the committed file alone (no fetch from the ERP) is enough for zeep to call it."""
    c = zeep.Client(str(etc_path("soap", "jht-erp.wsdl")))
    assert set(c.wsdl.services) == {"JhtErpService"}
    assert service(c, erp).PushCustomer(customer={"id": 3, "name": "常州砂轮厂"}) == "C0001"


# ---------------------------------------------------------------------------------- operations


def test_e4_push_customer_gives_an_erp_code_and_keeps_chinese_text(svc, core):
    """E4: a customer reaches the ERP with its Chinese name; its code comes back (and again the
    same on a repeat), announced once by a customer.code event."""
    customer = {"id": 5, "name": "无锡精工磨具有限公司", "type": 2, "contactName": "王建国",
                "phone": "13912345678", "salespersonUsername": "zhangwei", "salespersonName": "张伟",
                "mergedIds": {"long": [8, 9]}, "updatedAt": AT}
    assert svc.PushCustomer(customer=customer) == "C0001"
    assert svc.PushCustomer(customer=customer) == "C0001"
    held = core.customers[5]
    assert (held["name"], held["contact_name"], held["salesperson"]["name"]) == ("无锡精工磨具有限公司", "王建国", "张伟")
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
    lines = [{"lineNo": 1, "sku": "WA-100", "quantity": Decimal("12.345678"), "unitPrice": Decimal("0.10"),
              "amount": Decimal("1.2345678")}]
    svc.PushOrder(order=order(lines=lines))
    line = core.orders["JHT-20261125-0001"]["lines"][0]
    assert (line["quantity"], line["unit_price"], line["amount"]) == (Decimal("12.345678"), Decimal("0.10"),
                                                                      Decimal("1.2345678"))
    assert str(line["quantity"]) == "12.345678"
    stock = svc.QueryStock(skus={"string": ["WA-100"]})
    assert [(s.sku, s.quantity) for s in stock] == [("WA-100", Decimal("87.654322"))]
    assert isinstance(stock[0].quantity, Decimal)


def test_e1_order_header_and_lines_reach_the_erp_with_chinese_text(svc, core):
    """E1: the header and every line arrive as sent."""
    svc.PushOrder(order=order())
    held = core.orders["JHT-20261125-0001"]
    assert held["remark"] == "请用木箱包装，轻拿轻放"
    assert held["customer"] == {"id": 1, "erp_code": "C0001", "name": "无锡精工磨具有限公司"}
    assert [(line["sku"], line["quantity"], line["unit"]) for line in held["lines"]] == [
        ("WA-100", Decimal(10), "片"), ("WA-200", Decimal(20), None)]
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
    return requests.post(server.url, data=body.encode("utf-8"), timeout=10,
                         headers={"Content-Type": "text/xml; charset=utf-8", **headers})


def _envelope(inner: str, header: str = "") -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>'
            '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:e="urn:jht-bridge:erp:1">'
            f'<soap:Header>{header}</soap:Header><soap:Body>{inner}</soap:Body></soap:Envelope>')


def test_e6_missing_required_field_is_a_client_invalid_fault(erp, core):
    """E6: an order without lines or a line without quantity (zeep would refuse to send it;
    another client might) answers Client.Invalid naming the field, and nothing is imported."""
    no_lines = _envelope("<e:PushOrder><e:order><e:orderNo>JHT-1</e:orderNo><e:customerId>1</e:customerId>"
                         "<e:lines/></e:order></e:PushOrder>")
    answer = _post(erp, no_lines)
    assert answer.status_code == 500 and "Client.Invalid" in answer.text
    no_quantity = _envelope("<e:PushOrder><e:order><e:orderNo>JHT-1</e:orderNo><e:customerId>1</e:customerId>"
                            "<e:lines><e:OrderLine><e:sku>WA-100</e:sku></e:OrderLine></e:lines></e:order>"
                            "</e:PushOrder>")
    answer = _post(erp, no_quantity)
    assert answer.status_code == 500 and "Client.Invalid" in answer.text and "quantity" in answer.text
    blank_number = _envelope("<e:PushOrder><e:order><e:orderNo> </e:orderNo><e:customerId>1</e:customerId>"
                             "<e:lines><e:OrderLine><e:sku>WA-100</e:sku><e:quantity>1</e:quantity></e:OrderLine>"
                             "</e:lines></e:order></e:PushOrder>")
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
    assert [e.kind for e in events] == ["order.accepted", "order.status", "order.released", "order.shipment",
                                        "order.shipment", "stock", "customer.code"]
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
