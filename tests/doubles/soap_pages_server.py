"""An ERP whose web services are "pages": one WSDL per entity, with optimistic concurrency — a
test double for the SOAP connector's services and steps (issue #19), shaped like the page web
services of a widely installed mid-market ERP.

On one HTTP server, four services, each with its own WSDL (``PagesErpServer.wsdl_urls``):

- ``/WS/Page/SalesOrder`` — ``Create(SalesOrder)``, ``Read(No)``, ``ReadMultiple(filter[],
  bookmarkKey, setSize)``, ``Update(SalesOrder)``, ``Delete(Key)``. A ``SalesOrder`` has the
  ERP's own ``No`` (``SO-00001``), our order number as ``External_Document_No``, an
  ``Order_Date`` that is an ``xs:date``, ``Status`` (Open, Released, Cancelled, Completed: an
  Update of it is the bridge's release, cancel or complete) and ``SalesLines`` whose ``No`` is
  the ERP's item code. A second order with an External Document No. it holds is a fault
  ``External Document No. … already exists in Sales Order SO-…``.
- ``/WS/Page/Customer`` — the same five on ``Customer`` (``No`` is the ERP's customer code;
  ``Shop_Customer_Id`` our customer id); a second Create for a ``Shop_Customer_Id`` it holds is
  the fault ``The record in table Customer already exists. …``.
- ``/WS/Page/Item`` — ``Read`` and ``ReadMultiple`` of ``Item{No, Description, Inventory}``,
  the stock by ERP item code (a filter's ``Criteria`` may list codes as ``A|B|C``).
- ``/WS/Codeunit/JhtBridge`` — a custom procedure: ``GetEvents(afterId, limit)``, the reference
  interface's events (``tests.doubles.soap_erp_server.Event``).

**The Key rule.** Every record has a ``Key`` that changes with each change of it; only a Read,
a ReadMultiple, a Create or an Update answers it. An Update (or Delete) without it is the fault
``Parameter Key in method Update in service SalesOrder is null!``; with a Key that is not the
record's current one, ``Another user has modified the record for this Sales Order after you
retrieved it from the database. Refresh the record and try again.`` ``touch(order_no)`` changes
an order's Key behind the bridge's back (someone edits it in the ERP); ``touch_next_read(n)``
does that right after each of the next ``n`` Reads, so an Update from them meets the concurrency
fault.

The ERP keeps item codes: ``PagesErpSide`` (the contract kit's ErpSide) translates its order
lines and stock back and forth by ``ITEM_CODES`` {sku: ERP item code}, as a test's item
catalogue (``ItemCatalogue``) tells the bridge.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from spyne import Application, ComplexModel, Fault, ServiceBase, rpc
from spyne.model.complex import Array
from spyne.model.primitive import Boolean, Date, Decimal as XsDecimal, Integer32, Long, Unicode
from spyne.server.wsgi import WsgiApplication

from connectors.erpsim import ErpRejected, MemoryErp, UnknownOrder
from tests.doubles.soap_erp_server import (
    Event,
    SoapErpSide,
    SoapServer,
    _Gate,
    _answer,
    build_application,
    erp_of,
    event_out,
    exact,
)

NS = "urn:jht-test:page"
PATHS = {
    "sales_order": "/WS/Page/SalesOrder",
    "customer": "/WS/Page/Customer",
    "item": "/WS/Page/Item",
    "bridge": "/WS/Codeunit/JhtBridge",
}
ITEM_CODES = {"WA-100": "01.10.001", "WA-200": "02.10.002", "WA-300": "03.10.003", "GC-300": "03.10.003G"}
"""The shop's skus and the ERP's item codes of the kit's sample products."""
STATUSES = {"Released": "release", "Cancelled": "cancel", "Completed": "complete"}
"""An Update of ``SalesOrder.Status`` to one of these is the bridge command beside it."""
CONFLICT = (
    "Another user has modified the record for this {entity} after you retrieved it from the database. "
    "Refresh the record and try again."
)


def _required(cls):
    return cls.customize(min_occurs=1, nillable=False)


# ---------------------------------------------------------------------------------- types


class Sales_Order_Line(ComplexModel):
    __namespace__ = NS + "/salesorder"
    _type_info = [
        ("Line_No", Integer32),
        ("No", _required(Unicode)),
        ("Description", Unicode(max_len=50)),
        ("Quantity", _required(XsDecimal)),
        ("Unit_Price", XsDecimal),
        ("Line_Amount", XsDecimal),
    ]


class SalesOrder(ComplexModel):
    __namespace__ = NS + "/salesorder"
    _type_info = [
        ("Key", Unicode),
        ("No", Unicode),
        ("Sell_to_Customer_No", Unicode),
        ("Shop_Customer_Id", Long),
        ("External_Document_No", Unicode(max_len=35)),
        ("Order_Date", Date),
        ("Status", Unicode(values=["Open", *STATUSES], type_name="SalesOrder_Status")),
        ("Ship_to_Name", Unicode(max_len=50)),
        ("Ship_to_Address", Unicode(max_len=100)),
        ("Work_Description", Unicode),
        ("SalesLines", Array(Sales_Order_Line)),
    ]


class SalesOrder_Filter(ComplexModel):
    __namespace__ = NS + "/salesorder"
    _type_info = [
        ("Field", _required(Unicode(values=["No", "External_Document_No", "Status"], type_name="SalesOrder_Fields"))),
        ("Criteria", _required(Unicode)),
    ]


class Customer(ComplexModel):
    __namespace__ = NS + "/customer"
    _type_info = [
        ("Key", Unicode),
        ("No", Unicode),
        ("Shop_Customer_Id", Long),
        ("Name", Unicode(max_len=100)),
        ("Contact", Unicode),
        ("Phone_No", Unicode),
        ("Salesperson_Code", Unicode),
    ]


class Customer_Filter(ComplexModel):
    __namespace__ = NS + "/customer"
    _type_info = [
        ("Field", _required(Unicode(values=["No", "Shop_Customer_Id", "Name"], type_name="Customer_Fields"))),
        ("Criteria", _required(Unicode)),
    ]


class Item(ComplexModel):
    __namespace__ = NS + "/item"
    _type_info = [
        ("Key", Unicode),
        ("No", Unicode),
        ("Description", Unicode),
        ("Inventory", XsDecimal),
    ]


class Item_Filter(ComplexModel):
    __namespace__ = NS + "/item"
    _type_info = [
        ("Field", _required(Unicode(values=["No", "Description"], type_name="Item_Fields"))),
        ("Criteria", _required(Unicode)),
    ]


# ---------------------------------------------------------------------------------- the ERP's records


class Pages:
    """The records behind the pages, over the ERP core: each order's and customer's Key (a
    version), and the switches of the Key rule."""

    def __init__(self, core: MemoryErp):
        self.core = core
        self.lock = threading.RLock()
        self.versions: dict[tuple[str, str], int] = {}
        self.touch_after_reads = 0
        self.updates: list[tuple[str, str]] = []
        """(entity, record No) of every Update applied, in order."""

    def key(self, entity: str, no: str) -> str:
        with self.lock:
            return f"{self.versions.setdefault((entity, no), 1)};{entity};{no}"

    def bump(self, entity: str, no: str) -> None:
        with self.lock:
            self.versions[(entity, no)] = self.versions.get((entity, no), 1) + 1

    def check_key(self, entity: str, service: str, method: str, no: str, key: str | None) -> None:
        if not key:
            raise Fault("Client", f"Parameter Key in method {method} in service {service} is null!")
        with self.lock:
            if key != self.key(entity, no):
                raise Fault("Client", CONFLICT.format(entity=service.replace("SalesOrder", "Sales Order")))

    def after_read(self, entity: str, nos: list[str]) -> None:
        with self.lock:
            if self.touch_after_reads > 0 and nos:
                self.touch_after_reads -= 1
                for no in nos:
                    self.bump(entity, no)

    # -- orders

    def order_no_of(self, order_no: str) -> str:
        return self.core.erp_refs[order_no]

    def order_by_no(self, no: str) -> tuple[str, dict[str, Any]] | None:
        for order_no, ref in self.core.erp_refs.items():
            if ref == no:
                return order_no, self.core.orders[order_no]
        return None

    def sales_order(self, order_no: str) -> SalesOrder:
        doc = self.core.orders[order_no]
        no = self.core.erp_refs[order_no]
        command_status = {"release": "Released", "cancel": "Cancelled", "complete": "Completed"}
        done = [c for n, c in self.core.commands if n == order_no]
        return SalesOrder(
            Key=self.key("SalesOrder", no),
            No=no,
            Sell_to_Customer_No=(doc["customer"] or {}).get("erp_code"),
            Shop_Customer_Id=(doc["customer"] or {}).get("id"),
            External_Document_No=order_no,
            Order_Date=date.fromisoformat(doc["placed_at"]) if doc.get("placed_at") else None,
            Status=command_status[done[-1]] if done else "Open",
            Ship_to_Name=doc.get("ship_to_name"),
            Ship_to_Address=doc.get("ship_to"),
            Work_Description=doc.get("remark"),
            SalesLines=[
                Sales_Order_Line(
                    Line_No=line["line_no"],
                    No=line["sku"],
                    Description=line.get("name"),
                    Quantity=exact(line["quantity"]),
                    Unit_Price=None if line.get("unit_price") is None else exact(line["unit_price"]),
                )
                for line in doc["lines"]
            ],
        )

    # -- customers

    def customer_by(self, field: str, value: str) -> list[Customer]:
        found = []
        for customer_id, doc in self.core.customers.items():
            code = self.core.customer_codes.get(customer_id)
            if (field == "No" and code == value) or (field == "Shop_Customer_Id" and str(customer_id) == value):
                found.append(self.customer(customer_id))
            elif field == "Name" and doc.get("name") == value:
                found.append(self.customer(customer_id))
        return found

    def customer(self, customer_id: Any) -> Customer:
        doc = self.core.customers[customer_id]
        code = self.core.customer_codes[customer_id]
        return Customer(
            Key=self.key("Customer", code),
            No=code,
            Shop_Customer_Id=customer_id,
            Name=doc.get("name"),
            Contact=doc.get("contact_name"),
            Phone_No=doc.get("phone"),
            Salesperson_Code=(doc.get("salesperson") or {}).get("username"),
        )


def pages_of(ctx) -> Pages:
    return ctx.app.pages


def _criteria(filters) -> dict[str, list[str]]:
    """{field: [values]} of a filter list (``A|B`` is either value)."""
    out: dict[str, list[str]] = {}
    for f in filters or []:
        if f is not None and f.Field:
            out.setdefault(f.Field, []).extend(v for v in (f.Criteria or "").split("|"))
    return out


def _set_size(size) -> int:
    return 1000 if not size or size <= 0 else min(size, 1000)


# ---------------------------------------------------------------------------------- the pages


class SalesOrderPage(ServiceBase):
    @rpc(_required(SalesOrder), _returns=SalesOrder)
    def Create(ctx, SalesOrder):  # noqa: N803 - the page's own names
        pages, core = pages_of(ctx), erp_of(ctx)
        so = SalesOrder
        if not (so.External_Document_No or "").strip():
            raise Fault("Client", "External Document No. must have a value in Sales Header")
        if so.Key or so.No:
            raise Fault("Client", "Key and No are given by the ERP: leave them out of Create")
        lines = list(so.SalesLines or [])
        if not lines:
            raise Fault("Client", f"There is nothing to post: {so.External_Document_No} has no lines")
        doc = {
            "schema": "jht.order/1",
            "order_no": so.External_Document_No,
            "customer": {"id": so.Shop_Customer_Id, "erp_code": so.Sell_to_Customer_No, "name": None},
            "customer_type": None,
            "released": False,
            "placed_at": so.Order_Date.isoformat() if so.Order_Date else None,
            "ship_to": so.Ship_to_Address,
            "ship_to_name": so.Ship_to_Name,
            "remark": so.Work_Description,
            "lines": [
                {
                    "line_no": line.Line_No if line.Line_No is not None else n,
                    "sku": line.No,
                    "name": line.Description,
                    "quantity": exact(line.Quantity),
                    "unit_price": None if line.Unit_Price is None else exact(line.Unit_Price),
                }
                for n, line in enumerate(lines, 1)
            ],
        }
        with pages.lock:
            if doc["order_no"] in core.orders:
                core.imports[doc["order_no"]] += 1
                raise Fault(
                    "Client",
                    f"External Document No. {doc['order_no']} already exists in Sales Order "
                    f"{pages.order_no_of(doc['order_no'])}",
                )
            try:
                core.import_order(doc)
            except ErpRejected as exc:
                raise Fault("Client", str(exc) or "The order cannot be taken") from None
            return pages.sales_order(doc["order_no"])

    @rpc(_required(Unicode), _returns=SalesOrder)
    def Read(ctx, No):  # noqa: N803
        pages = pages_of(ctx)
        with pages.lock:
            found = pages.order_by_no(No or "")
            if found is None:
                return None
            answer = pages.sales_order(found[0])
            pages.after_read("SalesOrder", [answer.No])
            return answer

    @rpc(SalesOrder_Filter.customize(max_occurs="unbounded"), Unicode, Integer32, _returns=Array(SalesOrder))
    def ReadMultiple(ctx, filter, bookmarkKey, setSize):  # noqa: A002, N803
        pages, core = pages_of(ctx), erp_of(ctx)
        wanted = _criteria(filter)
        with pages.lock:
            found = []
            for order_no in sorted(core.orders):
                so = pages.sales_order(order_no)
                if all(str(getattr(so, field)) in values for field, values in wanted.items()):
                    found.append(so)
            found = found[: _set_size(setSize)]
            pages.after_read("SalesOrder", [so.No for so in found])
            return found

    @rpc(_required(SalesOrder), _returns=SalesOrder)
    def Update(ctx, SalesOrder):  # noqa: N803
        pages, core = pages_of(ctx), erp_of(ctx)
        so = SalesOrder
        with pages.lock:
            found = pages.order_by_no(so.No or "")
            if found is None:
                if not so.Key:
                    raise Fault("Client", "Parameter Key in method Update in service SalesOrder is null!")
                raise Fault(
                    "Client", f"The Sales Header does not exist. Identification fields and values: No.='{so.No}'"
                )
            order_no, _ = found
            pages.check_key("SalesOrder", "SalesOrder", "Update", so.No, so.Key)
            if so.Status and so.Status != "Open":
                try:
                    core.apply_command(order_no, STATUSES[so.Status])
                except UnknownOrder as exc:  # pragma: no cover - found above
                    raise Fault("Client", str(exc)) from None
            if so.Work_Description is not None:
                core.orders[order_no]["remark"] = so.Work_Description
            pages.bump("SalesOrder", so.No)
            pages.updates.append(("SalesOrder", so.No))
            return pages.sales_order(order_no)

    @rpc(_required(Unicode), _returns=Boolean)
    def Delete(ctx, Key):  # noqa: N803
        pages = pages_of(ctx)
        _, _, no = (Key or "").partition(";SalesOrder;")
        with pages.lock:
            found = pages.order_by_no(no)
            if found is None:
                return False
            pages.check_key("SalesOrder", "SalesOrder", "Delete", no, Key)
            erp_of(ctx).apply_command(found[0], "cancel")
            pages.bump("SalesOrder", no)
            return True


class CustomerPage(ServiceBase):
    @rpc(_required(Customer), _returns=Customer)
    def Create(ctx, Customer):  # noqa: N803
        pages, core = pages_of(ctx), erp_of(ctx)
        c = Customer
        if c.Shop_Customer_Id is None or not (c.Name or "").strip():
            raise Fault("Client", "Shop_Customer_Id and Name must have a value in Customer")
        with pages.lock:
            if c.Shop_Customer_Id in core.customers:
                code = core.customer_codes[c.Shop_Customer_Id]
                raise Fault(
                    "Client",
                    f"The record in table Customer already exists. Identification fields and values: No.='{code}'",
                )
            core.upsert_customer(_customer_doc(c, code=c.No))
            return pages.customer(c.Shop_Customer_Id)

    @rpc(_required(Unicode), _returns=Customer)
    def Read(ctx, No):  # noqa: N803
        pages = pages_of(ctx)
        with pages.lock:
            found = pages.customer_by("No", No or "")
            pages.after_read("Customer", [c.No for c in found])
            return found[0] if found else None

    @rpc(Customer_Filter.customize(max_occurs="unbounded"), Unicode, Integer32, _returns=Array(Customer))
    def ReadMultiple(ctx, filter, bookmarkKey, setSize):  # noqa: A002, N803
        pages = pages_of(ctx)
        wanted = _criteria(filter)
        with pages.lock:
            found = [pages.customer(i) for i in sorted(erp_of(ctx).customers, key=str)]
            found = [c for c in found if all(str(getattr(c, f)) in v for f, v in wanted.items())]
            found = found[: _set_size(setSize)]
            pages.after_read("Customer", [c.No for c in found])
            return found

    @rpc(_required(Customer), _returns=Customer)
    def Update(ctx, Customer):  # noqa: N803
        pages, core = pages_of(ctx), erp_of(ctx)
        c = Customer
        with pages.lock:
            found = pages.customer_by("No", c.No or "")
            if not found:
                if not c.Key:
                    raise Fault("Client", "Parameter Key in method Update in service Customer is null!")
                raise Fault("Client", f"The Customer does not exist. Identification fields and values: No.='{c.No}'")
            pages.check_key("Customer", "Customer", "Update", c.No, c.Key)
            customer_id = found[0].Shop_Customer_Id
            old = core.customers[customer_id]
            core.upsert_customer({**old, **_customer_doc(c, code=c.No, customer_id=customer_id, base=old)})
            pages.bump("Customer", c.No)
            pages.updates.append(("Customer", c.No))
            return pages.customer(customer_id)

    @rpc(_required(Unicode), _returns=Boolean)
    def Delete(ctx, Key):  # noqa: N803
        raise Fault("Client", "You cannot delete a customer with ledger entries")


def _customer_doc(c: Customer, *, code: str | None, customer_id: Any = None, base: dict | None = None) -> dict:
    base = base or {}
    salesperson = {"username": c.Salesperson_Code, "name": None} if c.Salesperson_Code else base.get("salesperson")
    return {
        "schema": "jht.customer/1",
        "id": customer_id if customer_id is not None else c.Shop_Customer_Id,
        "erp_code": code,
        "name": c.Name if c.Name is not None else base.get("name"),
        "contact_name": c.Contact if c.Contact is not None else base.get("contact_name"),
        "phone": c.Phone_No if c.Phone_No is not None else base.get("phone"),
        "salesperson": salesperson,
    }


class ItemPage(ServiceBase):
    @rpc(_required(Unicode), _returns=Item)
    def Read(ctx, No):  # noqa: N803
        stock = erp_of(ctx).stock_of([No or ""])
        return Item(Key=f"1;Item;{No}", No=No, Inventory=exact(stock[No])) if No in stock else None

    @rpc(Item_Filter.customize(max_occurs="unbounded"), Unicode, Integer32, _returns=Array(Item))
    def ReadMultiple(ctx, filter, bookmarkKey, setSize):  # noqa: A002, N803
        core = erp_of(ctx)
        wanted = _criteria(filter)
        with core._lock:
            codes = wanted.get("No", sorted(core.stock))
            stock = core.stock_of([c for c in codes if c])
        items = [Item(Key=f"1;Item;{no}", No=no, Inventory=exact(q)) for no, q in stock.items()]
        return items[: _set_size(setSize)]


class JhtBridgeCodeunit(ServiceBase):
    @rpc(_required(Long), _required(Integer32), _returns=Array(Event))
    def GetEvents(ctx, afterId, limit):  # noqa: N803
        limit = 100 if limit is None else min(max(limit, 0), 1000)
        return [event_out(r) for r in erp_of(ctx).events_after(afterId or 0, limit)]


PAGES = {
    "sales_order": (SalesOrderPage, NS + "/salesorder", "SalesOrder_Service"),
    "customer": (CustomerPage, NS + "/customer", "Customer_Service"),
    "item": (ItemPage, NS + "/item", "Item_Service"),
    "bridge": (JhtBridgeCodeunit, NS + "/codeunit/jhtbridge", "JhtBridge"),
}


def page_application(name: str, core: MemoryErp, pages: Pages) -> Application:
    service, tns, service_name = PAGES[name]
    app = build_application([service], tns, service_name, core)
    app.pages = pages
    return app


# ---------------------------------------------------------------------------------- the server


class _PathView:
    """What ``_Gate`` reads of a server, for one of its paths."""

    def __init__(self, server: "PagesErpServer", path: str, service_name: str):
        self._server, self.path, self.service_name = server, path, service_name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


class PagesErpServer(SoapServer):
    """The four services on one threaded WSGI server, with the switches of ``SoapServer``
    (``mode``, ``delay_s``, basic auth, WS-Security) for every one of them."""

    service_name = "SalesOrder_Service"
    default_path = PATHS["sales_order"]

    def __init__(self, core: MemoryErp | None = None, *args: Any, **kwargs: Any):
        super().__init__(core, *args, **kwargs)
        self.pages = Pages(self.core)
        gates = {
            PATHS[name]: _Gate(
                _PathView(self, PATHS[name], PAGES[name][2]),
                WsgiApplication(page_application(name, self.core, self.pages)),
            )
            for name in PAGES
        }

        def dispatch(environ: dict, start_response):
            gate = gates.get(environ.get("PATH_INFO", ""))
            if gate is None:
                return _answer(start_response, "404 Not Found", b"no service here", "text/plain; charset=utf-8")
            return gate(environ, start_response)

        self._wsgi = dispatch

    def build(self, core: MemoryErp) -> Application:
        return page_application("bridge", core, Pages(core))  # replaced by the four in __init__

    def url_of(self, name: str) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.port}{PATHS[name]}"

    @property
    def wsdl_urls(self) -> dict[str, str]:
        return {name: self.url_of(name) + "?wsdl" for name in PAGES}

    def touch(self, order_no: str) -> None:
        """Someone changes the order in the ERP: its Key changes."""
        self.pages.bump("SalesOrder", self.pages.order_no_of(order_no))

    def touch_next_read(self, times: int = 1) -> None:
        """Right after each of the next ``times`` Reads (or ReadMultiples) the records read change."""
        with self.pages.lock:
            self.pages.touch_after_reads = times


class ItemCatalogue:
    """The bridge's products and their ERP item codes (``bridge.connector.ItemCodes``)."""

    def __init__(self, codes: dict[str, str] | None = None):
        self.codes = dict(ITEM_CODES if codes is None else codes)

    def erp_item_codes(self, skus: list[str]) -> dict[str, str]:
        return {sku: self.codes[sku] for sku in skus if sku in self.codes}

    def skus(self, erp_item_codes: list[str]) -> dict[str, str]:
        back = {code: sku for sku, code in self.codes.items()}
        return {code: back[code] for code in erp_item_codes if code in back}


class PagesErpSide(SoapErpSide):
    """The contract kit's ErpSide on a PagesErpServer: order lines and stock are by ERP item
    code in the ERP, by sku here (``ITEM_CODES``)."""

    def __init__(self, server: PagesErpServer, codes: dict[str, str] | None = None):
        super().__init__(server)
        self.to_code = dict(ITEM_CODES if codes is None else codes)
        self.to_sku = {code: sku for sku, code in self.to_code.items()}

    def orders(self) -> dict[str, dict[str, Any]]:
        out = {}
        for order_no, doc in super().orders().items():
            lines = [{**line, "sku": self.to_sku.get(line["sku"], line["sku"])} for line in doc["lines"]]
            out[order_no] = {**doc, "lines": lines, "erp_item_codes": [line["sku"] for line in doc["lines"]]}
        return out

    def set_stock(self, items: dict[str, Any]) -> None:
        self.core.set_stock({self.to_code.get(sku, sku): q for sku, q in items.items()})

    def remove_target(self) -> str:
        self.server.stop()
        return f"{self.server.host}:{self.server.port}"
