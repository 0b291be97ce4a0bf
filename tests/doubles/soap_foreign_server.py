"""A foreign-shaped ERP web service, for the test that drives a WSDL unlike ours by
configuration alone (and for the mapping guide's worked example).

``SalesOrderService`` (namespace ``http://example.com/erp/sales``) looks like the services of
older on-premises ERPs: its own names (bills, materials, "audit"), numeric status codes, a
customer call that answers ``Success=false`` instead of a fault, a plain ``Client`` fault with
Chinese text for a bill number already there (``单据编号已存在: <BillNo>``) or a business
rejection (``物料不存在: <MaterialNo>``), and a change feed numbered by ``Seq``. It is backed by
the same ERP core (``connectors.erpsim``) as every other ERP side, and served with the same
machinery and switches as the reference service (``tests.doubles.soap_erp_server.SoapServer``).

``tests/data/foreign-sales.wsdl`` is its WSDL as committed
(``python -m tests.doubles.soap_erp_server --foreign --write-wsdl tests/data/foreign-sales.wsdl``).
"""

from __future__ import annotations

from typing import Any

from spyne import Application, ComplexModel, Fault, ServiceBase, rpc
from spyne.model.complex import Array
from spyne.model.primitive import Boolean, DateTime, Decimal as XsDecimal, Integer32, Long, Unicode

from connectors.erpsim import ErpRejected, MemoryErp, UnknownOrder
from tests.doubles.soap_erp_server import SoapErpSide, SoapServer, build_application, erp_of, exact, invalid, iso, when

TNS = "http://example.com/erp/sales"
SERVICE_NAME = "SalesOrderService"
DEFAULT_PATH = "/ws/SalesOrderService"
WSDL_LOCATION = "http://localhost:8700/ws/SalesOrderService"

ACTIONS = {"AUDIT": "release", "CLOSE": "cancel", "FINISH": "complete"}
"""ChangeBillState's actions and the bridge commands they are."""
STATE_CODES = {
    "pending": "0",
    "in_production": "1",
    "awaiting_shipment": "2",
    "shipped": "3",
    "completed": "4",
    "cancelled": "9",
}
"""The ERP's status codes (``Change.State``) for the simulator's status words; another word is sent as it is."""
CHANGE_TYPES = {
    "order.accepted": "ACCEPT",
    "order.status": "STATUS",
    "order.released": "AUDIT",
    "order.shipment": "SHIP",
    "customer.code": "CUST",
    "stock": "STOCK",
}


def _required(cls):
    return cls.customize(min_occurs=1, nillable=False)


class CustRequest(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("CustNo", _required(Unicode)),
        ("CustName", Unicode),
        ("Linkman", Unicode),
        ("Mobile", Unicode),
        ("SalesmanCode", Unicode),
    ]


class CustResult(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("Success", _required(Boolean)),
        ("Code", Unicode),
        ("Message", Unicode),
    ]


class SalesEntry(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("Seq", Integer32),
        ("MaterialNo", _required(Unicode)),
        ("MaterialName", Unicode),
        ("Model", Unicode),
        ("Qty", _required(XsDecimal)),
        ("Price", XsDecimal),
        ("Amount", XsDecimal),
    ]


class SalesBill(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("BillNo", _required(Unicode)),
        ("CustNo", _required(Unicode)),
        ("CustCode", Unicode),
        ("CustName", Unicode),
        ("BillDate", DateTime),
        ("Remark", Unicode),
        ("Address", Unicode),
        ("Entries", Array(SalesEntry)),
    ]


class BillResult(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("BillId", Unicode),
        ("Message", Unicode),
    ]


class Inventory(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("MaterialNo", _required(Unicode)),
        ("QtyAvailable", _required(XsDecimal)),
    ]


class ChangeDetail(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("MaterialNo", _required(Unicode)),
        ("Qty", _required(XsDecimal)),
    ]


ChangeType = Unicode(
    values=list(CHANGE_TYPES.values()), type_name="ChangeType", __namespace__=TNS, min_occurs=1, nillable=False
)


class Change(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("Seq", _required(Long)),
        ("ChangeType", ChangeType),
        ("BillNo", Unicode),
        ("BillId", Unicode),
        ("State", Unicode),
        ("Express", Unicode),
        ("ExpressNo", Unicode),
        ("ShipNo", Unicode),
        ("ShipTime", DateTime),
        ("CustNo", Unicode),
        ("CustCode", Unicode),
        ("Details", Array(ChangeDetail)),
        ("Stock", Array(Inventory)),
    ]


class ChangeList(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("Items", Array(Change)),
    ]


# ---------------------------------------------------------------------------------- translation


def customer_id(cust_no: str) -> Any:
    """Our customer id from CustNo (digits: the bridge's integer id)."""
    text = (cust_no or "").strip()
    return int(text) if text.isdigit() else text


def bill_document(bill: SalesBill) -> dict[str, Any]:
    """The SalesBill as the ``jht.order/1``-shaped dict the ERP core keeps."""
    if bill is None or not (bill.BillNo or "").strip():
        raise invalid("BillNo is required")
    if not (bill.CustNo or "").strip():
        raise invalid(f"bill {bill.BillNo}: CustNo is required")
    entries = list(bill.Entries or [])
    if not entries:
        raise invalid(f"bill {bill.BillNo}: at least one SalesEntry is required")
    lines = []
    for n, entry in enumerate(entries, 1):
        if entry is None or not (entry.MaterialNo or "").strip():
            raise invalid(f"bill {bill.BillNo}, entry {n}: MaterialNo is required")
        if entry.Qty is None:
            raise invalid(f"bill {bill.BillNo}, entry {n} ({entry.MaterialNo}): Qty is required")
        lines.append(
            {
                "line_no": entry.Seq if entry.Seq is not None else n,
                "sku": entry.MaterialNo,
                "name": entry.MaterialName,
                "spec": entry.Model,
                "quantity": exact(entry.Qty),
                "unit_price": None if entry.Price is None else exact(entry.Price),
                "amount": None if entry.Amount is None else exact(entry.Amount),
            }
        )
    return {
        "schema": "jht.order/1",
        "order_no": bill.BillNo,
        "customer": {"id": customer_id(bill.CustNo), "erp_code": bill.CustCode, "name": bill.CustName},
        "customer_type": None,
        "released": False,
        "placed_at": iso(bill.BillDate),
        "ship_to": bill.Address,
        "remark": bill.Remark,
        "lines": lines,
    }


def state_code(status: str | None) -> str | None:
    return None if status is None else STATE_CODES.get(status, status)


def change_out(record: dict[str, Any], core: MemoryErp) -> Change:
    """One event of the ERP core as a Change of the feed."""
    kind, data = record["kind"], record["data"]
    change = Change(Seq=record["id"], ChangeType=CHANGE_TYPES[kind])
    if data.get("order_no") is not None:
        change.BillNo = data["order_no"]
        change.BillId = data.get("erp_ref") or core.erp_refs.get(data["order_no"])
    if kind == "order.status":
        change.State = state_code(data.get("status"))
    elif kind == "order.shipment":
        change.State = state_code(data.get("order_status"))
        change.ShipNo = data.get("shipment_id")
        change.Express = data.get("courier")
        change.ExpressNo = data.get("tracking_no")
        change.ShipTime = when(data.get("shipped_at"))
        change.Details = [
            ChangeDetail(MaterialNo=line["sku"], Qty=exact(line["quantity"])) for line in data.get("lines") or []
        ]
    elif kind == "customer.code":
        change.CustNo = str(data["customer_id"])
        change.CustCode = data.get("erp_code")
    elif kind == "stock":
        change.Stock = [
            Inventory(MaterialNo=sku, QtyAvailable=exact(q)) for sku, q in (data.get("items") or {}).items()
        ]
    return change


# ---------------------------------------------------------------------------------- the service


class SalesOrderService(ServiceBase):
    @rpc(_required(CustRequest), _returns=CustResult)
    def SaveCustomer(ctx, request):
        if request is None or not (request.CustNo or "").strip():
            return CustResult(Success=False, Message="客户编号不能为空")
        if not (request.CustName or "").strip():
            return CustResult(Success=False, Message=f"客户 {request.CustNo} 的名称不能为空")
        doc = {
            "schema": "jht.customer/1",
            "id": customer_id(request.CustNo),
            "erp_code": None,
            "name": request.CustName,
            "contact_name": request.Linkman,
            "phone": request.Mobile,
            "salesperson": {"username": request.SalesmanCode, "name": None} if request.SalesmanCode else None,
        }
        code = erp_of(ctx).upsert_customer(doc)
        return CustResult(Success=True, Code=code, Message="保存成功")

    @rpc(_required(SalesBill), _returns=BillResult)
    def CreateSalesOrder(ctx, bill):
        doc = bill_document(bill)
        try:
            bill_id, duplicate = erp_of(ctx).import_order(doc)
        except ErpRejected as exc:
            raise Fault("Client", str(exc) or f"物料不存在: {doc['lines'][-1]['sku']}") from None
        if duplicate:
            raise Fault("Client", f"单据编号已存在: {doc['order_no']}")
        return BillResult(BillId=bill_id, Message="单据已保存")

    @rpc(_required(Unicode), _required(Unicode), DateTime, _returns=Boolean)
    def ChangeBillState(ctx, BillNo, Action, OpTime):
        if not (BillNo or "").strip():
            raise invalid("BillNo is required")
        command = ACTIONS.get((Action or "").strip().upper())
        if command is None:
            raise Fault("Client", f"不支持的操作: {Action}（可用: {', '.join(ACTIONS)}）")
        try:
            erp_of(ctx).apply_command(BillNo, command)
        except UnknownOrder:
            return False  # this ERP answers "no" for a bill it does not have
        return True

    @rpc(Array(Unicode), _returns=Array(Inventory))
    def GetInventory(ctx, MaterialNos):
        stock = erp_of(ctx).stock_of([m for m in (MaterialNos or []) if m])
        return [Inventory(MaterialNo=sku, QtyAvailable=exact(q)) for sku, q in stock.items()]

    @rpc(_required(Long), _required(Integer32), _returns=ChangeList)
    def GetChanges(ctx, FromSeq, MaxCount):
        core = erp_of(ctx)
        limit = 100 if MaxCount is None else min(max(MaxCount, 0), 1000)
        return ChangeList(Items=[change_out(r, core) for r in core.events_after(FromSeq or 0, limit)])


def foreign_application(core: MemoryErp) -> Application:
    return build_application([SalesOrderService], TNS, SERVICE_NAME, core)


class ForeignErpServer(SoapServer):
    """``SalesOrderService`` on a threaded WSGI server, with the switches of ``SoapServer``
    (``reject(bill_no)`` answers ``物料不存在: <the bill's last MaterialNo>`` unless a text is given)."""

    service_name = SERVICE_NAME
    default_path = DEFAULT_PATH
    location = WSDL_LOCATION

    def build(self, core: MemoryErp) -> Application:
        return foreign_application(core)

    def reject(self, order_no: str, text: str | None = None) -> None:
        self.core.reject(order_no, text or "")


ForeignErpSide = SoapErpSide
"""The contract kit's ErpSide on a ForeignErpServer (event ids: the Seq numbers as text)."""
