"""The ERP's SOAP web service, a test double (not installed with the bridge): the reference interface of
``etc/soap/jht-erp.wsdl`` served by spyne over real HTTP, backed by the ERP simulator logic
(``connectors.erpsim``) that every transport shares.

``SoapErpServer(core)`` serves it on a threaded WSGI server (``.url``, ``.wsdl_url``, ``start``,
``stop``, a context manager); the ERP's state lives in ``core``, so a ``stop()`` and
``start()`` on the same port lose nothing already accepted. Switches for tests: ``delay_s``
(answer slowly), ``mode`` (``ok``; ``fault``: every call answers a ``Server.Unavailable``
fault; ``http500``: HTTP 500 with a plain-text body; ``drop``: the connection is closed without an
answer), ``reject(order_no, text)`` (a business rejection), and optional HTTP basic and/or
WS-Security UsernameToken authentication. ``SoapErpSide`` is the contract kit's ``ErpSide``
on top of a server. ``tests.doubles.soap_foreign_server`` serves a differently shaped service
with the same machinery.

Fault codes (``faultcode`` is ``soap11env:<code>``): ``Client.Rejected`` (business rejection,
the ERP's words in ``faultstring``), ``Client.Invalid`` (a field missing or malformed),
``Client.UnknownOrder``, ``Client.Authentication`` (WS-Security), ``Server.Unavailable``
(switch ``fault``), ``Server`` (anything internal).

From a shell in a source checkout, to try the SOAP connector by hand::

    python -m tests.doubles.soap_erp_server --port 8700 --auto-tick 5
    python -m tests.doubles.soap_erp_server --write-wsdl etc/soap/jht-erp.wsdl   # regenerate the reference

spyne is a test dependency only (``pip install -e '.[soap,test]'``).
"""

from __future__ import annotations

import argparse
import base64
import hmac
import io
import logging
import socket
import ssl
import threading
import time
from datetime import datetime
from decimal import Decimal
from socketserver import ThreadingMixIn
from typing import Any, Callable, Iterable
from urllib.request import Request, urlopen
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

try:
    import spyne  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "tests.doubles.soap_erp_server needs spyne (a test dependency only): "
        "pip install spyne   (or pip install -e '.[test]')"
    ) from exc

from lxml import etree
from spyne import Application, ComplexModel, Fault, ServiceBase, rpc
from spyne.error import ValidationError
from spyne.model.complex import Array
from spyne.model.primitive import Boolean, DateTime, Decimal as XsDecimal, Integer32, Long, Unicode
from spyne.protocol.soap import Soap11
from spyne.protocol.xml import SchemaValidationError
from spyne.server.wsgi import WsgiApplication

from bridge.connector import EVENT_KINDS
from connectors.erpsim import COMMANDS, ErpCore, ErpRejected, MemoryErp, UnknownOrder

TNS = "urn:jht-bridge:erp:1"
SERVICE_NAME = "JhtErpService"
DEFAULT_PATH = "/jht-erp"
WSDL_LOCATION = "http://localhost:8700/jht-erp"
"""The endpoint written into the committed WSDL (the demo's default); connectors override it."""
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
XS = "http://www.w3.org/2001/XMLSchema"
MODES = ("ok", "fault", "http500", "drop")
MAX_EVENTS = 1000
DEFAULT_REJECTION = "客户信用额度不足，订单不能接收"

log = logging.getLogger(__name__)
# spyne logs every fault a handler raises, with its traceback; here a client fault is an answer
# (a rejection, a bad field), not an error of the server. Server faults are still logged.
for _name in ("spyne.application.client", "spyne.server._base"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)


# ---------------------------------------------------------------------------------- types


def _required(cls):
    return cls.customize(min_occurs=1, nillable=False)


class Customer(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("id", _required(Long)),
        ("erpCode", Unicode),
        ("name", _required(Unicode)),
        ("type", Integer32),
        ("contactName", Unicode),
        ("phone", Unicode),
        ("salespersonUsername", Unicode),
        ("salespersonName", Unicode),
        ("mergedIds", Array(Long)),
        ("updatedAt", DateTime),
    ]


class OrderLine(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("lineNo", Integer32),
        ("sku", _required(Unicode)),
        ("erpItemCode", Unicode),
        ("name", Unicode),
        ("spec", Unicode),
        ("marking", Unicode),
        ("quantity", _required(XsDecimal)),
        ("unit", Unicode),
        ("unitPrice", XsDecimal),
        ("amount", XsDecimal),
    ]


class ShipTo(ComplexModel):
    """Where the goods go (the customer's choice at order time)."""

    __namespace__ = TNS
    _type_info = [
        ("recipient", Unicode),
        ("phone", Unicode),
        ("province", Unicode),
        ("city", Unicode),
        ("district", Unicode),
        ("detail", Unicode),
    ]


class Order(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("orderNo", _required(Unicode)),
        ("customerId", _required(Long)),
        ("customerCode", Unicode),
        ("customerName", Unicode),
        ("customerType", Integer32),
        ("released", Boolean),
        ("placedAt", DateTime),
        ("shipTo", ShipTo),
        ("remark", Unicode),
        ("totalAmount", XsDecimal),
        ("lines", Array(_required(OrderLine), min_occurs=1, nillable=False)),
    ]


class PushOrderResult(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("erpOrderNo", Unicode),
        ("duplicate", _required(Boolean)),
    ]


class StockItem(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("sku", _required(Unicode)),
        ("quantity", _required(XsDecimal)),
    ]


class EventLine(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("sku", _required(Unicode)),
        ("quantity", _required(XsDecimal)),
    ]


# Enumerations are declared required where they are used (a customised copy would get another name).
EventKind = Unicode(values=sorted(EVENT_KINDS), type_name="EventKind", __namespace__=TNS, min_occurs=1, nillable=False)
OrderCommandName = Unicode(
    values=list(COMMANDS), type_name="OrderCommandName", __namespace__=TNS, min_occurs=1, nillable=False
)


class Event(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("id", _required(Long)),
        ("kind", EventKind),
        ("orderNo", Unicode),
        ("status", Unicode),
        ("erpRef", Unicode),
        ("note", Unicode),
        ("shipmentId", Unicode),
        ("courier", Unicode),
        ("trackingNo", Unicode),
        ("shippedAt", DateTime),
        ("orderStatus", Unicode),
        ("customerId", Long),
        ("erpCode", Unicode),
        ("lines", Array(EventLine)),
        ("items", Array(StockItem)),
    ]


# ---------------------------------------------------------------------------------- helpers


def exact(value: Any) -> Decimal:
    """A quantity or amount as a Decimal written without exponent (xs:decimal has none)."""
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    return Decimal(format(d, "f"))


def when(value: Any) -> datetime | None:
    """An ISO text or datetime as a datetime (None stays None)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def invalid(text: str) -> Fault:
    return Fault("Client.Invalid", text)


def erp_of(ctx) -> MemoryErp:
    """The ERP core behind the application that serves this call."""
    return ctx.app.erp_core


class ValidatingSoap11(Soap11):
    """SOAP 1.1 with lxml schema validation whose faults say ``Client.Invalid`` (spyne's own
    codes are ``Client.SchemaValidationError`` / ``Client.ValidationError``)."""

    def validate_body(self, ctx, message):
        try:
            return super().validate_body(ctx, message)
        except SchemaValidationError as exc:
            raise invalid(f"the request does not match the WSDL: {exc.faultstring}") from None

    def deserialize(self, ctx, message):
        try:
            return super().deserialize(ctx, message)
        except ValidationError as exc:
            raise invalid(f"a value could not be read: {exc.faultstring}") from None


def build_application(services: list, tns: str, name: str, core: ErpCore) -> Application:
    """A spyne Application (SOAP 1.1 document/literal, lxml validation) with ``core`` behind it."""
    app = Application(
        services, tns=tns, name=name, in_protocol=ValidatingSoap11(validator="lxml"), out_protocol=Soap11()
    )
    app.erp_core = core
    return app


# ---------------------------------------------------------------------------------- the service


def order_document(order: Order) -> dict[str, Any]:
    """The SOAP Order as the ``jht.order/1``-shaped dict the ERP core keeps (required fields
    checked here: spyne does not enforce minOccurs on every element)."""
    if not order or not (order.orderNo or "").strip():
        raise invalid("order.orderNo is required")
    if order.customerId is None:
        raise invalid(f"order {order.orderNo}: customerId is required")
    lines = list(order.lines or [])
    if not lines:
        raise invalid(f"order {order.orderNo}: at least one line is required")
    body = []
    for n, line in enumerate(lines, 1):
        if line is None or not (line.sku or "").strip():
            raise invalid(f"order {order.orderNo}, line {n}: sku is required")
        if line.quantity is None:
            raise invalid(f"order {order.orderNo}, line {n} ({line.sku}): quantity is required")
        body.append(
            {
                "line_no": line.lineNo if line.lineNo is not None else n,
                "sku": line.sku,
                "erp_item_code": line.erpItemCode,
                "name": line.name,
                "spec": line.spec,
                "marking": line.marking,
                "quantity": exact(line.quantity),
                "unit": line.unit,
                "unit_price": None if line.unitPrice is None else exact(line.unitPrice),
                "amount": None if line.amount is None else exact(line.amount),
            }
        )
    return {
        "schema": "jht.order/1",
        "order_no": order.orderNo,
        "customer": {"id": order.customerId, "erp_code": order.customerCode, "name": order.customerName},
        "customer_type": order.customerType,
        "released": bool(order.released),
        "placed_at": iso(order.placedAt),
        "ship_to": None
        if order.shipTo is None
        else {
            key: getattr(order.shipTo, key) for key in ("recipient", "phone", "province", "city", "district", "detail")
        },
        "remark": order.remark,
        "total_amount": None if order.totalAmount is None else exact(order.totalAmount),
        "lines": body,
    }


def customer_document(customer: Customer) -> dict[str, Any]:
    """The SOAP Customer as a ``jht.customer/1``-shaped dict."""
    if customer is None or customer.id is None:
        raise invalid("customer.id is required")
    if not (customer.name or "").strip():
        raise invalid(f"customer {customer.id}: name is required")
    salesperson = None
    if customer.salespersonUsername or customer.salespersonName:
        salesperson = {"username": customer.salespersonUsername, "name": customer.salespersonName}
    return {
        "schema": "jht.customer/1",
        "id": customer.id,
        "erp_code": customer.erpCode,
        "name": customer.name,
        "type": customer.type,
        "contact_name": customer.contactName,
        "phone": customer.phone,
        "salesperson": salesperson,
        "merged_ids": list(customer.mergedIds or []),
        "updated_at": iso(customer.updatedAt),
    }


def event_out(record: dict[str, Any]) -> Event:
    """One event of the ERP core as the SOAP Event (``data`` flattened into its fields)."""
    data = record["data"]
    event = Event(id=record["id"], kind=record["kind"])
    for field, key in (
        ("orderNo", "order_no"),
        ("status", "status"),
        ("erpRef", "erp_ref"),
        ("note", "note"),
        ("shipmentId", "shipment_id"),
        ("courier", "courier"),
        ("trackingNo", "tracking_no"),
        ("orderStatus", "order_status"),
        ("customerId", "customer_id"),
        ("erpCode", "erp_code"),
    ):
        if data.get(key) is not None:
            setattr(event, field, data[key])
    if data.get("shipped_at") is not None:
        event.shippedAt = when(data["shipped_at"])
    if data.get("lines") is not None:
        event.lines = [EventLine(sku=line["sku"], quantity=exact(line["quantity"])) for line in data["lines"]]
    if record["kind"] == "stock":
        event.items = [StockItem(sku=sku, quantity=exact(q)) for sku, q in (data.get("items") or {}).items()]
    return event


class JhtErpService(ServiceBase):
    """The reference interface (see etc/soap/README.md for what each operation must do)."""

    @rpc(_required(Customer), _returns=Unicode)
    def PushCustomer(ctx, customer):
        return erp_of(ctx).upsert_customer(customer_document(customer))

    @rpc(_required(Order), _returns=PushOrderResult)
    def PushOrder(ctx, order):
        doc = order_document(order)
        try:
            erp_ref, duplicate = erp_of(ctx).import_order(doc)
        except ErpRejected as exc:
            raise Fault("Client.Rejected", str(exc)) from None
        return PushOrderResult(erpOrderNo=erp_ref, duplicate=duplicate)

    @rpc(_required(Unicode), OrderCommandName, DateTime, _returns=None)
    def OrderCommand(ctx, orderNo, command, at):
        if not (orderNo or "").strip():
            raise invalid("orderNo is required")
        if command not in COMMANDS:
            raise invalid(f"order {orderNo}: unknown command {command!r} (one of {', '.join(COMMANDS)})")
        try:
            erp_of(ctx).apply_command(orderNo, command)
        except UnknownOrder as exc:
            raise Fault("Client.UnknownOrder", str(exc)) from None

    @rpc(_required(Long), _required(Long), DateTime, _returns=None)
    def MergeCustomers(ctx, survivorId, absorbedId, at):
        if survivorId is None or absorbedId is None:
            raise invalid("survivorId and absorbedId are required")
        erp_of(ctx).merge_customers(
            {
                "schema": "jht.customer_merge/1",
                "survivor": {"id": survivorId},
                "absorbed": {"id": absorbedId},
                "at": iso(at),
            }
        )

    @rpc(Array(Unicode), _returns=Array(StockItem))
    def QueryStock(ctx, skus):
        stock = erp_of(ctx).stock_of([s for s in (skus or []) if s])
        return [StockItem(sku=sku, quantity=exact(q)) for sku, q in stock.items()]

    @rpc(_required(Long), _required(Integer32), _returns=Array(Event))
    def PullEvents(ctx, afterId, limit):
        limit = 100 if limit is None else min(max(limit, 0), MAX_EVENTS)
        return [event_out(r) for r in erp_of(ctx).events_after(afterId or 0, limit)]


def reference_application(core: ErpCore) -> Application:
    return build_application([JhtErpService], TNS, SERVICE_NAME, core)


# ---------------------------------------------------------------------------------- HTTP plumbing


def fault_envelope(code: str, text: str) -> bytes:
    """A SOAP 1.1 fault envelope written like spyne writes its own."""
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap11env": SOAP_ENV})
    body = etree.SubElement(env, f"{{{SOAP_ENV}}}Body")
    fault = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = f"soap11env:{code}"
    etree.SubElement(fault, "faultstring").text = text
    etree.SubElement(fault, "faultactor").text = ""
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def _answer(start_response, status: str, body: bytes, content_type: str, extra: list | None = None) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))] + (extra or []))
    return [body]


def _soap_fault(start_response, code: str, text: str) -> list[bytes]:
    return _answer(start_response, "500 Internal Server Error", fault_envelope(code, text), "text/xml; charset=utf-8")


def wsse_credentials(envelope: bytes) -> tuple[str, str, str] | None:
    """(username, password, password type) of the WS-Security UsernameToken in a SOAP
    envelope's header, or None when there is none (or the envelope is not XML)."""
    try:
        root = etree.fromstring(envelope, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
    except etree.XMLSyntaxError:
        return None
    token = root.find(f"{{{SOAP_ENV}}}Header/{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    if token is None:
        return None
    password = token.find(f"{{{WSSE}}}Password")
    return (
        token.findtext(f"{{{WSSE}}}Username") or "",
        "" if password is None else (password.text or ""),
        "" if password is None else password.get("Type", ""),
    )


class _Gate:
    """WSGI middleware in front of spyne: the endpoint path, authentication and the switches."""

    def __init__(self, server: "SoapServer", inner: Callable):
        self.server = server
        self.inner = inner

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        s = self.server
        if environ.get("PATH_INFO", "") != s.path:
            return _answer(
                start_response,
                "404 Not Found",
                f"no service at {environ.get('PATH_INFO')}".encode(),
                "text/plain; charset=utf-8",
            )
        if s.user is not None and not self._basic_ok(environ.get("HTTP_AUTHORIZATION", "")):
            return _answer(
                start_response,
                "401 Unauthorized",
                b"authentication required",
                "text/plain; charset=utf-8",
                [("WWW-Authenticate", f'Basic realm="{s.service_name}"')],
            )
        if environ.get("REQUEST_METHOD") != "POST":
            return self.inner(environ, start_response)  # the WSDL: switches apply to calls only
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if s.delay_s > 0:
            time.sleep(s.delay_s)
        if s.mode == "fault":
            return _soap_fault(start_response, "Server.Unavailable", "ERP 服务暂不可用（维护中），请稍后再试")
        if s.mode == "http500":
            # Not XML (zeep raises TransportError); an HTML page that happens to be well-formed
            # XML would reach a zeep client as Fault(code=None, "Unknown fault occured") instead.
            return _answer(
                start_response,
                "500 Internal Server Error",
                b"500 Internal Server Error: the application pool is stopping\n",
                "text/plain",
            )
        if s.wsse_user is not None:
            problem = self._wsse_problem(body)
            if problem:
                return _soap_fault(start_response, "Client.Authentication", problem)
        return self.inner(environ, start_response)

    def _basic_ok(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user.encode(), (self.server.user or "").encode()) and hmac.compare_digest(
            password.encode(), (self.server.password or "").encode()
        )

    def _wsse_problem(self, body: bytes) -> str | None:
        found = wsse_credentials(body)
        if found is None:
            return "WS-Security UsernameToken required"
        user, password, kind = found
        if kind and not kind.endswith("#PasswordText"):
            return f"WS-Security: only PasswordText is accepted (got {kind})"
        if not (
            hmac.compare_digest(user.encode(), (self.server.wsse_user or "").encode())
            and hmac.compare_digest(password.encode(), (self.server.wsse_password or "").encode())
        ):
            return "WS-Security: unknown user or wrong password"
        return None


class _Handler(WSGIRequestHandler):
    def get_environ(self) -> dict:
        environ = super().get_environ()
        if self.server.owner.ssl_context is not None:
            environ["HTTPS"] = "on"  # wsgiref then says https, and the WSDL's address does too
        return environ

    def handle(self) -> None:
        if self.server.owner.mode == "drop":
            self._drop()
            return
        super().handle()

    def _drop(self) -> None:
        """Read the request, then close the connection without a word."""
        self.raw_requestline = self.rfile.readline(65537)
        if self.parse_request():
            length = int(self.headers.get("Content-Length") or 0)
            if length > 0:
                self.rfile.read(length)
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        log.debug("%s %s", self.address_string(), format % args)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow call never holds up stop()
    allow_reuse_address = True  # stop() then start() on the same port


class SoapServer:
    """A spyne application on a threaded WSGI server, with switches and authentication (see
    the module docstring). Subclasses say which application (``build``) and where (``path``)."""

    service_name = SERVICE_NAME
    default_path = DEFAULT_PATH
    location = WSDL_LOCATION

    def __init__(
        self,
        core: MemoryErp | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        path: str | None = None,
        user: str | None = None,
        password: str | None = None,
        wsse_user: str | None = None,
        wsse_password: str | None = None,
        delay_s: float = 0.0,
        mode: str = "ok",
        ssl_context: "ssl.SSLContext | None" = None,
    ):
        self.core = core if core is not None else MemoryErp()
        self.host = host
        self.port = port
        self.path = path or self.default_path
        self.user, self.password = user, password
        self.wsse_user, self.wsse_password = wsse_user, wsse_password
        self.delay_s = delay_s
        self.mode = mode
        self.ssl_context = ssl_context
        """Serve HTTPS with this server-side context (tests of TLS verification)."""
        self._httpd: _ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._wsgi = _Gate(self, WsgiApplication(self.build(self.core)))

    def build(self, core: MemoryErp) -> Application:
        return reference_application(core)

    # ------------------------------------------------------------------ switches

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {value!r}")
        self._mode = value

    def reject(self, order_no: str, text: str | None = None) -> None:
        """The order will be refused as a business rejection with ``text`` (the ERP's words)."""
        self.core.reject(order_no, text or DEFAULT_REJECTION)

    # ------------------------------------------------------------------ running

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.port}{self.path}"

    @property
    def wsdl_url(self) -> str:
        return self.url + "?wsdl"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> "SoapServer":
        """Listen (on the same port as before after a ``stop``); returns self."""
        if self._httpd is None:
            httpd = _ThreadingWSGIServer((self.host, self.port), _Handler)
            httpd.owner = self
            if self.ssl_context is not None:
                httpd.socket = self.ssl_context.wrap_socket(httpd.socket, server_side=True)
            httpd.set_app(self._wsgi)
            self.port = httpd.server_port
            self._httpd = httpd
            self._thread = threading.Thread(
                target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=f"soap-erp:{self.port}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening; the ERP's state (``core``) stays."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
            if self._thread is not None:
                self._thread.join(5)

    def __enter__(self) -> "SoapServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------ its WSDL

    def served_wsdl(self) -> bytes:
        """The WSDL as served now (credentials sent when basic auth is on)."""
        request = Request(self.wsdl_url)
        if self.user is not None:
            token = base64.b64encode(f"{self.user}:{self.password or ''}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        with urlopen(request, timeout=10) as answer:
            return answer.read()

    def committed_form(self, raw: bytes | None = None) -> bytes:
        """The served WSDL as it is committed: endpoint set to ``location``, pretty-printed."""
        return normalized_wsdl(self.served_wsdl() if raw is None else raw, self.location)


def normalized_wsdl(raw: bytes, location: str) -> bytes:
    """A WSDL as committed: every soap:address set to ``location``, the schema's declarations
    sorted (spyne's order changes from run to run), indented, UTF-8, ending in a newline."""
    root = etree.fromstring(raw, etree.XMLParser(remove_blank_text=True))
    for address in root.iter(f"{{{WSDL_SOAP}}}address"):
        address.set("location", location)
    rank = {f"{{{XS}}}{tag}": n for n, tag in enumerate(("import", "simpleType", "complexType", "element"))}
    for schema in root.iter(f"{{{XS}}}schema"):
        children = sorted(schema, key=lambda e: (rank.get(e.tag, 9), e.get("name") or e.get("namespace") or ""))
        schema[:] = children
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")


SoapErpServer = SoapServer
"""The reference service (``etc/soap/jht-erp.wsdl``)."""


# ---------------------------------------------------------------------------------- ErpSide


class SoapErpSide:
    """A SOAP ERP server as the ERP side of the connector contract kit
    (``tests.doubles.connector_kit.ErpSide``). Event ids are the ERP's event numbers as text."""

    def __init__(self, server: SoapServer):
        self.server = server
        self.core = server.core

    def orders(self) -> dict[str, dict[str, Any]]:
        with self.core._lock:
            return dict(self.core.orders)

    def import_count(self, order_no: str) -> int:
        return self.core.imports[order_no]

    def customers(self) -> dict[Any, dict[str, Any]]:
        with self.core._lock:
            return dict(self.core.customers)

    def commands(self, order_no: str) -> list[str]:
        with self.core._lock:
            return [command for no, command in self.core.commands if no == order_no]

    def process(self) -> None:
        """Nothing to do: the ERP takes what it is sent during the call."""

    def emit(self, kind: str, data: dict[str, Any]) -> str:
        return self.core.emit(kind, data)

    def set_stock(self, items: dict[str, Any]) -> None:
        self.core.set_stock(items)

    def go_down(self) -> None:
        """The web service stops (connections refused); the ERP keeps its state."""
        self.server.stop()

    def come_back(self) -> None:
        self.server.start()

    def remove_target(self) -> str:
        """The web service is gone; returns its ``host:port``, which a failing check must name."""
        self.server.stop()
        return f"{self.server.host}:{self.server.port}"


# ---------------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the ERP's side of jht-bridge's SOAP interface.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument(
        "--foreign",
        action="store_true",
        help="serve the foreign-shaped SalesOrderService instead of the reference interface",
    )
    parser.add_argument(
        "--auto-tick",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="move every open order one step every SECONDS (0: never)",
    )
    parser.add_argument("--user", help="require HTTP basic authentication with this user")
    parser.add_argument("--password", default="", help="the basic-auth password")
    parser.add_argument("--wsse-user", help="require a WS-Security UsernameToken with this user")
    parser.add_argument("--wsse-password", default="", help="the UsernameToken password (PasswordText)")
    parser.add_argument("--stock", action="append", default=[], metavar="SKU=QTY", help="initial stock (repeatable)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--write-wsdl",
        metavar="FILE",
        help="write the service's WSDL as committed (see etc/soap/README.md) to FILE and exit",
    )
    args = parser.parse_args(argv)
    if args.foreign:
        from tests.doubles.soap_foreign_server import ForeignErpServer as server_class
    else:
        server_class = SoapErpServer
    if args.write_wsdl:
        with server_class(MemoryErp(), "127.0.0.1", 0) as server:
            text = server.committed_form()
        with open(args.write_wsdl, "wb") as out:
            out.write(text)
        print(f"wrote {args.write_wsdl}")
        return
    logging.getLogger("spyne").setLevel(logging.CRITICAL)  # faults are answers here, not errors to print
    stock = {}
    for item in args.stock:
        sku, _, qty = item.partition("=")
        try:
            stock[sku.strip()] = Decimal(qty)
        except ArithmeticError:
            parser.error(f"--stock {item!r}: expected SKU=QUANTITY, e.g. WA-400=120")
        if not sku.strip() or not stock[sku.strip()].is_finite() or stock[sku.strip()] < 0:
            parser.error(f"--stock {item!r}: expected SKU=QUANTITY with a quantity of 0 or more")
    core = MemoryErp(stock=stock or None, seed=args.seed)
    server = server_class(
        core,
        args.host,
        args.port,
        user=args.user,
        password=args.password,
        wsse_user=args.wsse_user,
        wsse_password=args.wsse_password,
    )
    server.start()
    print(f"ERP SOAP service {server.service_name} on {server.url}", flush=True)
    print(f"WSDL: {server.wsdl_url}", flush=True)
    print("Ctrl-C stops it", flush=True)
    stop = threading.Event()
    try:
        while not stop.wait(args.auto_tick or 3600):
            if args.auto_tick:
                try:
                    core.auto_tick()
                except Exception as exc:  # keep the demo going; the next round tries again
                    print(f"erp simulator: {type(exc).__name__}: {exc}")
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
