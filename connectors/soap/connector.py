"""The SOAP connector (``connector.name = "soap"``): the bridge calls the ERP's web service
through zeep.

Which operations are called, and how our documents become their parameters (and their answers
our results), is data: a mapping file (``connectors.soap.mapping``). The default mapping
``etc/soap/jht-erp.mapping.toml`` drives the reference service of ``etc/soap/jht-erp.wsdl``; an
integrator writes another for an ERP's own WSDL (docs/soap-connector.md) without touching Python.

Each mapped operation is on the service it names (``[connector.soap.services.NAME]``: a WSDL
per entity) or the default one (``wsdl``), and may be a short sequence of steps whose templates
see the answers before them (read the record, then update it with its Key); a concurrency fault
runs the sequence again (``connectors.soap.mapping``).

Behaviour:

- each WSDL is loaded once per connector (lazily, so the bridge starts while the ERP is down); a
  WSDL given by URL is fetched fresh when possible and kept in ``wsdl_cache``, so a restart
  works from the cached copy while the ERP's web server is down;
- timeouts on connect and read for every call; TLS verified by default (``ca_bundle`` for a
  private CA); HTTP basic auth and/or WS-Security UsernameToken;
- errors: no connection, a timeout, an HTTP error without a SOAP fault, an unreadable answer and
  faults whose code is in ``transient_faults`` (``Server``, ``Receiver``, ``Client.Authentication``
  by default) are transient, and so are faults without a code (an HTML error page read as a
  fault); a fault whose code or text matches ``already_exists`` is success (the order or
  customer is already there); any other fault is a business rejection: permanent, with the
  fault's code and text kept for the dead-letter view. An answer the mapping reads as
  ``ok = false`` is a rejection too (with its ``message``), unless the message matches
  ``already_exists``.
- events are pulled with the cursor the mapping reads from each event (the last event's id by
  default; whole-number ids skipped below the highest read are asked for again for a while,
  see ``bridge.idcursor``); an event the mapping cannot read is handed over with ``problem`` set
  (quarantined).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator

from bridge import extras
from bridge.config import relative_to_config
from bridge.connector import (
    CheckLine,
    Connector,
    ConnectorContext,
    ErpEvent,
    PermanentError,
    Rendered,
    TransientError,
    check_command,
    command_args,
)
from bridge.idcursor import IdCursor, select_new
from bridge.resources import etc_path
from connectors.soap.mapping import MappingError, load_mapping, render, services_of, steps_of
from connectors.soap.shapes import (
    ANY,
    Shape,
    StepsRoot,
    answer_shape,
    path_problems,
    request_problems,
    value_problems,
)

DEFAULT_MAPPING = ("soap", "jht-erp.mapping.toml")


def is_url(location: str) -> bool:
    return urlparse(location).scheme in ("http", "https")


def _wsdl_location(value: str, info: ValidationInfo) -> str:
    value = value.strip()
    if not value:
        raise ValueError("the WSDL's URL or file is required")
    if is_url(value) or urlparse(value).scheme == "file":
        return value
    return str(relative_to_config(Path(value), info))


class SoapService(BaseModel):
    """``[connector.soap.services.NAME]``: one more web service of the ERP (an ERP with a WSDL per
    entity), named by the mapping's ``service = "NAME"``."""

    model_config = ConfigDict(extra="forbid")

    wsdl: str
    """Its WSDL: a URL or a file, relative to the config folder."""
    service: str | None = None
    """Service name in the WSDL (default: the first)."""
    port: str | None = None
    """Port name in the service (default: the first)."""
    endpoint: str | None = None
    """Address to call instead of the one written in the WSDL."""

    @field_validator("wsdl")
    @classmethod
    def _wsdl(cls, value: str, info: ValidationInfo) -> str:
        return _wsdl_location(value, info)


class SoapSettings(BaseModel):
    """``[connector.soap]``."""

    model_config = ConfigDict(extra="forbid")

    wsdl: str | None = None
    """The ERP's WSDL: a URL (``https://erp/Service.asmx?wsdl``) or a file, relative to the config
    folder: the service of every mapped operation that names none. Required unless every one
    names one of ``services``."""
    services: dict[str, SoapService] = Field(default_factory=dict)
    """More web services, by the name the mapping's ``service`` keys give them (an ERP with one
    WSDL per entity): each with its ``wsdl`` and optional ``service``, ``port``, ``endpoint``."""
    wsdl_cache: Path | None = None
    """Folder keeping the last fetched copy of a WSDL given by URL (default: ``var/soap-cache``
    beside the config)."""
    service: str | None = None
    """Service name in the WSDL (default: the first)."""
    port: str | None = None
    """Port name in the service (default: the first)."""
    endpoint: str | None = None
    """Address to call instead of the one written in the WSDL."""
    mapping: Path | None = Field(None, validate_default=True)
    """Mapping file (TOML) from our documents to the operations; default: the reference mapping.
    Read and checked with the config, so a mistake in it is named when the bridge starts."""
    connect_timeout_s: float = Field(5, gt=0)
    read_timeout_s: float = Field(30, gt=0)
    verify_tls: bool = True
    ca_bundle: Path | None = None
    """PEM file of the CA that signed the ERP's certificate (a private CA)."""
    http_username: str | None = None
    http_password: SecretStr | None = None
    """From the environment: JHT_CONNECTOR__SOAP__HTTP_PASSWORD, or http_password_file."""
    http_password_file: Path | None = None
    wsse_username: str | None = None
    """WS-Security UsernameToken (PasswordText)."""
    wsse_password: SecretStr | None = None
    """From the environment: JHT_CONNECTOR__SOAP__WSSE_PASSWORD, or wsse_password_file."""
    wsse_password_file: Path | None = None
    event_gap_wait_s: float = Field(300, ge=0)
    """When event ids are whole numbers: an id skipped while higher ones were read is asked for
    again this long (the ERP may commit it later), then given up."""
    event_gap_max: int = Field(100, ge=0)
    """A jump of more ids than this at once is a jump of the ERP's sequence, not waited for."""
    already_exists: list[str] = Field(default_factory=list)
    """Fault codes, or words in a fault's text, that mean "already there": counted as delivered
    where the mapping says so for the operation (``already_exists``: by default an operation of
    one call, never a step the mapping does not mark)."""
    concurrency_faults: list[str] = Field(default_factory=list)
    """Fault codes, or words in a fault's text, that mean "the record changed since you read it"
    (optimistic concurrency, e.g. "Another user has modified the record"): the operation's whole
    sequence of steps is run again at once, from its first Read, up to ``concurrency_retries``
    times, then it is a transient failure (tried again later)."""
    concurrency_retries: int = Field(3, ge=0, le=20)
    transient_faults: list[str] = Field(default_factory=lambda: ["Server", "Receiver", "Client.Authentication"])
    """Fault codes (or their beginning, e.g. ``Server`` matches ``Server.Busy``) that mean "try
    again". A wrong password is one: the messages wait until it is fixed."""

    @field_validator("wsdl_cache", "ca_bundle", "http_password_file", "wsse_password_file")
    @classmethod
    def _relative_to_config(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return relative_to_config(value, info)

    @field_validator("mapping", mode="after")
    @classmethod
    def _mapping_loads(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        value = relative_to_config(value, info)
        try:
            load_mapping(value or etc_path(*DEFAULT_MAPPING))
        except MappingError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("wsdl")
    @classmethod
    def _wsdl_location(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _wsdl_location(value, info)

    @model_validator(mode="after")
    def _services_named(self) -> "SoapSettings":
        try:
            named = services_of(load_mapping(self.mapping_path()))
        except MappingError:
            return self  # named by the mapping's own validator
        if "" in named and self.wsdl is None:
            raise ValueError("wsdl is required: the mapping has operations that name no service")
        unknown = sorted(named - {""} - set(self.services))
        if unknown:
            known = ", ".join(sorted(self.services)) or "none"
            raise ValueError(
                f"the mapping names service(s) {', '.join(unknown)}, not in connector.soap.services (it has: {known})"
            )
        if self.wsdl is None and not self.services:
            raise ValueError("the WSDL's URL or file is required (wsdl, or services)")
        return self

    @model_validator(mode="after")
    def _pairs(self) -> "SoapSettings":
        if self.http_password is not None and self.http_password_file is not None:
            raise ValueError("set http_password or http_password_file, not both")
        if self.wsse_password is not None and self.wsse_password_file is not None:
            raise ValueError("set wsse_password or wsse_password_file, not both")
        return self

    def secret(self, which: str) -> str | None:
        value: SecretStr | None = getattr(self, f"{which}_password")
        path: Path | None = getattr(self, f"{which}_password_file")
        if value is not None:
            return value.get_secret_value()
        if path is not None:
            return path.read_text(encoding="utf-8").strip()
        return None

    def mapping_path(self) -> Path:
        return self.mapping or etc_path(*DEFAULT_MAPPING)

    def service_settings(self, name: str) -> SoapService:
        """The web service a step names ("": the one of ``wsdl`` and the top-level keys)."""
        if name:
            return self.services[name]
        return SoapService.model_construct(wsdl=self.wsdl, service=self.service, port=self.port, endpoint=self.endpoint)


def plain(value: Any) -> Any:
    """A zeep answer as JSON-like data: objects → dicts, whole decimals → int, other decimals →
    exact text, times → ISO text."""
    from zeep.helpers import serialize_object

    value = serialize_object(value, dict)
    return _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else format(value, "f")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def fault_code(fault: Any) -> str:
    """The fault code's local part: ``soap:Server.Busy`` / ``{ns}Server`` → ``Server.Busy``."""
    code = str(getattr(fault, "code", "") or "")
    if code.startswith("{"):
        code = code.split("}", 1)[1]
    return code.split(":", 1)[1] if ":" in code else code


class SoapConnector(Connector):
    name = "soap"
    description = "the ERP's SOAP web service through zeep (WSDL + mapping file)"
    Settings = SoapSettings

    def __init__(self, settings: SoapSettings | dict[str, Any], context: ConnectorContext | None = None):
        for module in ("requests", "lxml.etree", "zeep"):  # imported here, not with the module:
            extras.driver(module)  # a file-drop install needs no zeep (MissingDriver: jht-bridge[soap])
        if isinstance(settings, dict):
            base = (context or ConnectorContext()).base_dir
            settings = SoapSettings.model_validate(settings, context={"base_dir": base})
        super().__init__(settings, context)
        self.settings: SoapSettings
        self.mapping = load_mapping(self.settings.mapping_path())
        self._lock = threading.Lock()
        self._clients: dict[str, tuple[Any, Any, str]] = {}
        """By WSDL location: (zeep client, its transport, where the WSDL came from)."""
        self._bound: dict[str, _Bound] = {}
        """By service name ("": the default one): the service proxy to call."""

    # ------------------------------------------------------------------ the zeep client

    def _session(self):
        import requests
        from requests.auth import HTTPBasicAuth

        class Session(requests.Session):
            def request(self, method, url, **kwargs):
                # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's own
                # verify setting; the configured CA bundle (or verify_tls = false) must win.
                kwargs.setdefault("verify", self.verify)
                return super().request(method, url, **kwargs)

        session = Session()
        s = self.settings
        session.verify = str(s.ca_bundle) if s.ca_bundle else s.verify_tls
        if s.http_username:
            # UTF-8 (RFC 7617): requests would encode a str as Latin-1 and fail on Chinese.
            session.auth = HTTPBasicAuth(s.http_username.encode("utf-8"), (s.secret("http") or "").encode("utf-8"))
        return session

    def _client_for(self, wsdl: str):
        """The zeep client of one WSDL, loaded once (the lock held); TransientError while it can't be had."""
        if wsdl in self._clients:
            return self._clients[wsdl]
        import requests
        import zeep
        from lxml.etree import XMLSyntaxError

        s = self.settings
        try:
            session = self._session()
            wsse_password = s.secret("wsse") if s.wsse_username else None
        except OSError as exc:
            raise TransientError(f"cannot read a password file: {exc}") from exc
        transport = caching_transport(
            self._cache_dir(),
            session=session,
            timeout=(s.connect_timeout_s, s.read_timeout_s),
            operation_timeout=(s.connect_timeout_s, s.read_timeout_s),
        )
        wsse = None
        if s.wsse_username:
            from zeep.wsse.username import UsernameToken

            wsse = UsernameToken(s.wsse_username, wsse_password or "")
        try:
            client = zeep.Client(
                wsdl, transport=transport, wsse=wsse, settings=zeep.Settings(strict=False, xml_huge_tree=False)
            )
        except (requests.RequestException, OSError) as exc:
            raise TransientError(f"cannot load the WSDL {wsdl}: {exc}") from exc
        except (XMLSyntaxError, zeep.exceptions.Error) as exc:
            raise TransientError(f"the WSDL {wsdl} is not usable: {exc}") from exc
        self._clients[wsdl] = (client, transport, transport.last_source)
        return self._clients[wsdl]

    def _connect(self, name: str = "") -> "_Bound":
        """The zeep service proxy of service ``name`` ("": the default one), made on first use;
        one client per WSDL, shared by the services on it (TransientError while the WSDL can't
        be had)."""
        bound = self._bound.get(name)
        if bound is not None:
            return bound
        with self._lock:
            if name in self._bound:
                return self._bound[name]
            import zeep

            where = self.settings.service_settings(name)
            client, _, source = self._client_for(where.wsdl)
            try:
                service = client.bind(where.service, where.port) if (where.service or where.port) else client.service
                if where.endpoint:
                    service = client.create_service(service._binding.name, where.endpoint)
            except (ValueError, KeyError, zeep.exceptions.Error) as exc:
                raise TransientError(f"service/port not found in the WSDL {where.wsdl}: {exc}") from exc
            self._bound[name] = _Bound(name, where.wsdl, client, service, source)
            return self._bound[name]

    def _cache_dir(self) -> Path:
        return self.settings.wsdl_cache or (Path(self.context.base_dir) / "var" / "soap-cache")

    # ------------------------------------------------------------------ calling

    def _request(self, op: str, step: dict[str, Any], data: dict[str, Any]) -> tuple[Any, Any, dict[str, str], str]:
        """The request of one step of mapped operation ``op`` for ``data``: (zeep's operation,
        the envelope with WS-Security applied, the HTTP headers, the address) — what ``_post``
        posts and ``render`` shows. Loads the WSDL; sends nothing."""
        import zeep

        try:
            params = render(step.get("request", {}), data)
        except MappingError as exc:
            raise PermanentError(f"{op}: the document does not fit the mapping: {exc}") from exc
        bound = self._connect(step.get("service", ""))
        operation = step["operation"]
        binding, options = bound.service._binding, bound.service._binding_options
        # zeep's OperationProxy call, in its three steps, so that each failure is classified by
        # where it happened: building the request (our document: permanent), sending it (the
        # network: transient), reading the answer (a fault, or the ERP's trouble).
        try:
            operation_obj = binding.get(operation)
        except ValueError:
            raise TransientError(
                f"operation {operation} is not in the WSDL{_of(bound)} (check the mapping file)"
            ) from None
        try:
            envelope, headers = binding._create(operation, (), params, client=bound.client, options=options)
        except (zeep.exceptions.Error, TypeError, ValueError, AttributeError) as exc:
            raise PermanentError(f"{op}: the request does not fit operation {operation}: {exc}") from None
        return operation_obj, envelope, headers, options["address"]

    def _call(self, op: str, data: dict[str, Any]) -> dict[str, Any]:
        """Run mapped operation ``op`` on ``data``: its steps in order, then its response
        rendered; errors classified. A concurrency fault runs the whole sequence again."""
        tries = self.settings.concurrency_retries + 1
        for attempt in range(tries):
            try:
                return self._run(op, data)
            except _Conflict as conflict:
                last = conflict
        raise TransientError(f"{last} (the record changed {tries} time(s) between its Read and the call: later)")

    def _run(self, op: str, data: dict[str, Any]) -> dict[str, Any]:
        table = self.mapping[op]
        steps = steps_of(table)
        answers: list[Any] = []
        scope = {**data, "steps": answers} if "steps" in table else data  # one call: the document as it is
        for n, step in enumerate(steps):
            label = op if "steps" not in table else f"{op} step {n} ({step['operation']})"
            if "when" in step:
                try:
                    wanted = _truthy(render(step["when"], scope))
                except MappingError as exc:
                    raise PermanentError(f"{label}: the document does not fit the mapping's when: {exc}") from exc
                if not wanted:
                    answers.append(None)
                    continue
            answer = self._step(op, label, step, scope)
            if answer is _ALREADY and "steps" not in table:
                return {"already": True}
            answers.append(None if answer is _ALREADY else answer)
        try:
            result = render(table.get("response", {}), answers[0] if "steps" not in table else scope)
        except MappingError as exc:
            raise TransientError(f"{op}: the answer does not fit the mapping: {exc}") from exc
        _check_answer(op, result)
        if result.get("ok") is False:
            message = str(result.get("message") or f"{_last_operation(table)} answered failure")
            if self._already_exists("", message) and steps[-1].get("already_exists") is True:
                return {"already": True}
            raise PermanentError(f"{_last_operation(table)}: {message}")
        return result

    def _step(self, op: str, label: str, step: dict[str, Any], scope: dict[str, Any]) -> Any:
        """Post one step's request and read its answer as plain data (``_ALREADY`` for an
        "already exists" the step counts as delivered); errors classified."""
        import requests
        import zeep

        operation_obj, envelope, headers, address = self._request(op, step, scope)
        bound = self._connect(step.get("service", ""))
        operation, binding = step["operation"], bound.service._binding
        prefix = "" if label == op else f"{label}: "
        try:
            response = bound.client.transport.post_xml(address, envelope, headers)
        except requests.Timeout as exc:
            raise TransientError(f"{prefix}the ERP's web service did not answer in time: {exc}") from None
        except requests.RequestException as exc:
            raise TransientError(f"{prefix}cannot reach the ERP's web service: {exc}") from None
        try:
            answer = binding.process_reply(bound.client, operation_obj, response)
        except zeep.exceptions.Fault as fault:
            code, text = fault_code(fault), str(fault.message or "")
            if _matches(self.settings.concurrency_faults, code, text):
                raise _Conflict(f"{prefix}SOAP fault {code}: {text}") from None
            if self._already_exists(code, text):
                if step.get("already_exists") is True:
                    return _ALREADY
                if step.get("already_exists") == "retry":
                    raise TransientError(f"{prefix}SOAP fault {code}: {text} (already there: read again later)")
            if not code or any(code == t or code.startswith(t + ".") for t in self.settings.transient_faults):
                raise TransientError(f"{prefix}SOAP fault {code}: {text}") from None
            raise PermanentError(f"{prefix}SOAP fault {code}: {text}") from None
        except zeep.exceptions.TransportError as exc:
            raise TransientError(
                f"{prefix}HTTP {exc.status_code} from the ERP's web service: {_short(exc.content)}"
            ) from None
        except Exception as exc:  # noqa: BLE001 - an unreadable answer: try again, never lose
            status = getattr(response, "status_code", "?")
            raise TransientError(
                f"{prefix}unreadable answer from {operation} (HTTP {status}: "
                f"{_short(getattr(response, 'content', b''))})"
            ) from exc
        return plain(answer)

    def _already_exists(self, code: str, text: str) -> bool:
        return _matches(self.settings.already_exists, code, text)

    # ------------------------------------------------------------------ the contract

    def _message(self, operation: str, doc: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """The mapped operation and its data for an outgoing ``operation`` on ``doc`` (an order
        command's arguments read from the document), or None when nothing is sent."""
        if operation == "push_order":
            if not doc.get("order_no") or not doc.get("lines"):
                raise PermanentError("an order needs an order number and at least one line")
            return "push_order", doc
        if operation == "order_command":
            return "order_command", _command_data(*command_args(doc), doc)
        if operation == "push_merge":
            return ("push_merge", doc) if "push_merge" in self.mapping else None
        if operation == "push_customer":
            return "push_customer", doc
        raise PermanentError(f"the SOAP connector has no operation {operation!r}")

    def render(self, operation: str, doc: dict[str, Any]) -> list[Rendered]:
        """The request envelope ``operation`` would post for ``doc``, built as the delivery
        builds it (the WSDL is loaded for it; nothing is sent), a WS-Security password shown as
        ``***`` (E8). Of an operation of several steps, the first is shown as it is sent; the
        steps after it are built from the answers before them, so they are named, not shown."""
        from lxml import etree

        message = self._message(operation, doc)
        if message is None:
            return []
        op, data = message
        steps = steps_of(self.mapping[op])
        scope = {**data, "steps": []} if "steps" in self.mapping[op] else data
        shown: list[Rendered] = []
        for n, step in enumerate(steps):
            if n > 0:
                where = step.get("service") or "the default service"
                when = f", when {step['when']}" if "when" in step else ""
                shown.append(
                    Rendered(
                        f"then step {n}: {step['operation']} on {where}{when}",
                        "built from the answers of the steps before it, when it is delivered",
                    )
                )
                continue
            _, envelope, headers, address = self._request(op, step, scope)
            action = headers.get("SOAPAction")
            title = f"POST {address}: {step['operation']}" + (f" (SOAPAction {action})" if action else "")
            text = etree.tostring(_without_passwords(envelope), encoding="unicode", pretty_print=True)
            shown.append(Rendered(title, text))
        return shown

    def push_customer(self, doc: dict[str, Any]) -> str | None:
        result = self._call(*self._message("push_customer", doc))
        code = result.get("erp_code")
        return str(code) if code not in (None, "") else None

    def push_order(self, doc: dict[str, Any]) -> str | None:
        result = self._call(*self._message("push_order", doc))
        ref = result.get("erp_ref")
        return str(ref) if ref not in (None, "") else None

    def order_command(self, order_no: str, command: str, at: datetime | str, doc: dict[str, Any] | None = None) -> None:
        self._call("order_command", _command_data(order_no, command, at, doc))

    def push_merge(self, doc: dict[str, Any]) -> None:
        message = self._message("push_merge", doc)
        if message is not None:
            self._call(*message)

    def query_stock(self, skus: list[str]) -> dict[str, Decimal]:
        """Stock by sku. The mapping may ask by the shop's codes (``skus``) or by the ERP's item
        codes (``codes``: each sku's ``erp_item_code``, the sku itself where its product has
        none; ``erp_item_codes``: only those there are); an answer keyed by either is read back
        by sku."""
        wanted = list(dict.fromkeys(s for s in skus if s))
        if not wanted:
            return {}
        data = self._stock_data(wanted)
        by_code = {item["erp_item_code"]: item["sku"] for item in data["items"] if item["erp_item_code"]}
        stock = self._call("query_stock", data).get("stock") or {}
        out = {}
        for key, qty in stock.items():
            key = str(key)
            sku = key if key in wanted else by_code.get(key)
            if sku is not None and qty is not None:
                out[sku] = Decimal(str(qty))
        return out

    def _stock_data(self, skus: list[str]) -> dict[str, Any]:
        """What the mapping of ``query_stock`` is rendered on: ``skus``, ``codes``,
        ``erp_item_codes`` and ``items`` [{sku, erp_item_code}] (see ``query_stock``)."""
        lookup = self.context.item_codes
        codes = dict(lookup.erp_item_codes(skus)) if lookup is not None and skus else {}
        return {
            "skus": skus,
            "codes": [codes.get(sku) or sku for sku in skus],
            "erp_item_codes": [codes[sku] for sku in skus if codes.get(sku)],
            "items": [{"sku": sku, "erp_item_code": codes.get(sku)} for sku in skus],
        }

    def pull_events(self, cursor: str | None, limit: int = 100) -> tuple[list[ErpEvent], str | None]:
        """Events after the cursor. When the ERP's event cursors are whole numbers (the usual
        "events after id N"), ids skipped below the highest one read are asked for again for
        ``event_gap_wait_s`` (``bridge.idcursor``: an ERP writing events from its database sees
        them committed out of id order); other cursors are handed back as the ERP gave them."""
        try:
            position: IdCursor | None = IdCursor.parse(cursor)
        except (ValueError, KeyError, TypeError):
            position = None  # the ERP's own kind of cursor
        after, ask = 0, limit
        if position is not None:
            position.expire(time.time(), self.settings.event_gap_wait_s)
            after = position.read_from()
            ask = limit + (position.after - after)
        result = self._call("pull_events", {"cursor": cursor or "", "after": after, "limit": ask})
        items = [self._event(item) for item in result.get("events") or []]
        if position is not None and all(c.isdigit() for _, c in items):
            by_id = {int(c): event for event, c in items}
            taken = select_new(
                position,
                sorted(by_id),
                limit,
                gap_wait_s=self.settings.event_gap_wait_s,
                max_gap=self.settings.event_gap_max,
            )
            return [replace(by_id[n], cursor=text) for n, text in taken], position.text()
        events = [replace(event, cursor=c) for event, c in items[:limit]]
        return events, (events[-1].cursor if events else cursor)

    def _event(self, item: dict[str, Any]) -> tuple[ErpEvent, str]:
        """One mapped event, and its cursor (the mapping's, else its id) as text."""
        event_id = item.get("id")
        if event_id in (None, ""):
            raise TransientError("pull_events: an event without an id (check the mapping's events.$item.id)")
        event_cursor = str(item.get("cursor") if item.get("cursor") not in (None, "") else event_id)
        kind, data = item.get("kind"), item.get("data")
        problem = None
        if not isinstance(kind, str) or not kind:
            problem = f"event {event_id}: no kind the bridge knows (mapped kind: {kind!r})"
        if not isinstance(data, dict):
            problem = problem or f"event {event_id}: data is not an object"
            data = {"raw": json.loads(json.dumps(data, default=str))}
        source = f"{_last_operation(self.mapping['pull_events'])} #{event_id}"
        return ErpEvent(str(event_id), kind or "unknown", data, problem=problem, source=source), event_cursor

    # ------------------------------------------------------------------ operations

    def check(self) -> list[CheckLine]:
        lines = [CheckLine("mapping", True, str(self.settings.mapping_path()))]
        names = sorted(services_of(self.mapping), key=lambda n: (n != "", n))
        bound: dict[str, _Bound] = {}
        for name in names:
            suffix = f" {name}" if name else ""
            try:
                bound[name] = self._connect(name)
            except TransientError as exc:
                hint = (
                    "the *_password_file settings"
                    if "password file" in str(exc)
                    else f"connector.soap.{'services.' + name + '.' if name else ''}wsdl and the network"
                )
                lines.append(CheckLine(f"wsdl{suffix}", False, f"{exc} — check {hint}"))
                continue
            b = bound[name]
            lines.append(CheckLine(f"wsdl{suffix}", True, f"{b.wsdl} ({b.source})"))
            lines.append(CheckLine(f"endpoint{suffix}", True, b.address))
        if len(bound) < len(names):
            return lines
        for op, table in self.mapping.items():
            steps = steps_of(table)
            answers: list[Shape] = []
            for n, step in enumerate(steps):
                label = f"operation {op}" if "steps" not in table else f"operation {op} step {n}"
                line, operation = self._check_operation(op, label, step, bound[step.get("service", "")], answers)
                lines.append(line)
                answers.append(ANY if operation is None else answer_shape(operation))
            if "steps" in table:
                root: Shape = StepsRoot(answers)
            else:
                root = answers[0]
            response = table.get("response", {})
            problems = path_problems(response, root, f"{op}.response")
            problems += value_problems(response, root, f"{op}.response")
            if response:
                lines.append(
                    CheckLine(
                        f"answer {op}",
                        not problems,
                        "; ".join(problems) or "every field the mapping reads is in the answer's type",
                    )
                )
        stock_service = steps_of(self.mapping["query_stock"])[0].get("service", "")
        lines.append(self._check_call(bound[stock_service].address))
        return lines

    def _check_operation(
        self, op: str, label: str, step: dict[str, Any], bound: "_Bound", before: list[Shape]
    ) -> tuple[CheckLine, Any]:
        """One step checked against its service: the operation is there, every key of its
        request is an element of the parameters' types (by name, nested ones too), a request
        built from a sample document fits them, and the answers of the steps ``before`` it have
        the fields its templates read. Returns the line and zeep's operation (None: missing)."""
        import zeep

        name = step["operation"]
        binding = bound.service._binding
        try:
            operation = binding.get(name)
        except ValueError:
            known = ", ".join(sorted(binding._operations))
            return CheckLine(label, False, f"{name} is not in the WSDL{_of(bound)} (it has: {known})"), None
        where = f"{op}.request" if label == f"operation {op}" else f"{op}.steps[{len(before)}].request"
        problems = request_problems(step.get("request", {}), operation, where)
        if "steps" in self.mapping[op]:
            scope = StepsRoot(list(before))
            problems += path_problems(step.get("request", {}), scope, where)
            if "when" in step:
                problems += path_problems(step["when"], scope, where.replace(".request", ".when"))
        if not problems:
            data = {**_sample(op), "steps": [None] * len(before)}
            try:
                params = render(step.get("request", {}), data)
                binding._create(name, (), params, client=bound.client, options=bound.service._binding_options)
            except (TypeError, ValueError, AttributeError, MappingError) as exc:
                problems.append(f"a request built from a sample {op} document does not fit {name}: {exc}")
            except zeep.exceptions.ValidationError as exc:
                if "steps" not in json.dumps(step.get("request", {})):  # else: a value from an answer
                    problems.append(f"a request built from a sample {op} document does not fit {name}: {exc}")
            except zeep.exceptions.Error as exc:
                problems.append(f"a request built from a sample {op} document does not fit {name}: {exc}")
        if problems:
            return CheckLine(label, False, f"{name}: " + "; ".join(problems)), operation
        signature = operation.input.signature(as_output=False)
        return CheckLine(label, True, f"{name}({signature})"), operation

    def _check_call(self, address: str) -> CheckLine:
        """Reachable and authenticated: one harmless call (query_stock of one made-up code)."""
        try:
            self._call("query_stock", self._stock_data(["__jht_check__"]))
        except TransientError as exc:
            text = str(exc)
            hint = " — check the user name and password" if ("401" in text or "403" in text or "uthent" in text) else ""
            return CheckLine("endpoint reachable and authenticated", False, f"{address}: {text}{hint}")
        except PermanentError as exc:
            return CheckLine("endpoint reachable and authenticated", False, f"{address}: {exc}")
        return CheckLine("endpoint reachable and authenticated", True, "a query_stock call was answered")

    def close(self) -> None:
        clients = list(self._clients.values())
        self._clients, self._bound = {}, {}
        for client, _, _ in clients:
            try:
                client.transport.session.close()
            except Exception:  # noqa: BLE001 - closing must not fail
                pass


class _Bound:
    """One web service the connector calls: its name in the settings, its WSDL, zeep's client
    and service proxy, and where the WSDL came from."""

    def __init__(self, name: str, wsdl: str, client: Any, service: Any, source: str):
        self.name, self.wsdl, self.client, self.service, self.source = name, wsdl, client, service, source

    @property
    def address(self) -> str:
        return self.service._binding_options.get("address", "?")


class _Conflict(Exception):
    """A concurrency fault: the record changed between the Read and the call (run the steps again)."""


_ALREADY = object()
"""A step's answer when the ERP said "already there" and the step counts that as delivered."""


def _of(bound: _Bound) -> str:
    return f" of service {bound.name}" if bound.name else ""


def _check_answer(op: str, result: dict[str, Any]) -> None:
    """The answer keys the connector reads as one value have one: ``ok`` true or false,
    ``erp_ref`` / ``erp_code`` a text or a number, ``stock`` a table of numbers. Anything else is
    the mapping reading the wrong part of the answer (a whole record, a list, a flag kept as
    text): said now, as an answer that does not fit (transient: fix the mapping, the messages
    wait), rather than taken as success or stored as the ERP's number."""
    if "ok" in result and not isinstance(result["ok"], bool):
        raise TransientError(
            f"{op}: the mapping's ok gives {_kind(result['ok'])}, not true or false: make it a test, "
            "e.g. ok = \"Code == '0'\" (the answer does not fit the mapping)"
        )
    for key in ("erp_ref", "erp_code"):
        value = result.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int, Decimal))):
            raise TransientError(
                f"{op}: the mapping's {key} gives {_kind(value)}, not a text or a number: point it at the "
                "number itself (the answer does not fit the mapping)"
            )
    stock = result.get("stock")
    if stock is not None:
        if not isinstance(stock, dict):
            raise TransientError(f"{op}: the mapping's stock gives {_kind(stock)}, not a table of quantities")
        for key, quantity in stock.items():
            try:
                if quantity is not None and (isinstance(quantity, bool) or not Decimal(str(quantity)).is_finite()):
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                raise TransientError(
                    f"{op}: the mapping's stock gives {_kind(quantity)} for {key}, not a quantity"
                ) from None


def _kind(value: Any) -> str:
    """``a list (['A', 'B'])``: what a rendered value is, for a message; short."""
    if value is None:
        return "null (the answer has nothing there)"
    name = {dict: "an object", list: "a list", str: "a text", bool: "a boolean"}.get(type(value), type(value).__name__)
    shown = repr(value)
    return f"{name} ({shown[:60]}{'…' if len(shown) > 60 else ''})"


def _truthy(value: Any) -> bool:
    """JMESPath's truth: null, false, "", [] and {} are false."""
    return value not in (None, False, "", [], {})


def _matches(markers: list[str], code: str, text: str) -> bool:
    """A fault's code is one of ``markers``, or one of them is in its text."""
    return any(marker and (code == marker or marker in text) for marker in markers)


def _last_operation(table: dict[str, Any]) -> str:
    return steps_of(table)[-1]["operation"]


def _sample(op: str) -> dict[str, Any]:
    """A document of operation ``op`` with every field filled, for ``check`` to build requests from."""
    at = "2026-11-25T08:30:00+08:00"
    customer = {"id": 1, "erp_code": "C0001", "name": "示例客户有限公司"}
    if op == "push_customer":
        return {
            "schema": "jht.customer/1",
            **customer,
            "type": 2,
            "contact_name": "王建国",
            "phone": "13912345678",
            "salesperson": {"username": "sales", "name": "张伟"},
            "merged_ids": [2],
            "updated_at": at,
        }
    if op == "push_order":
        line = {
            "line_no": 1,
            "sku": "WA-100",
            "erp_item_code": "01.10.001",
            "name": "白刚玉平形砂轮",
            "spec": "PSA 100×20×32",
            "marking": "WA60K5V",
            "quantity": 10,
            "unit": "片",
            "unit_price": "12.50",
            "amount": "125.00",
        }
        return {
            "schema": "jht.order/1",
            "order_no": "JHT-CHECK-0001",
            "customer": customer,
            "customer_type": 2,
            "released": False,
            "placed_at": at,
            "ship_to": {
                "recipient": "李娜",
                "phone": "13800001111",
                "province": "江苏省",
                "city": "无锡市",
                "district": "新吴区",
                "detail": "长江路 88 号",
            },
            "remark": "示例",
            "total_amount": "125.00",
            "lines": [line],
        }
    if op == "order_command":
        return _command_data("JHT-CHECK-0001", "release", at, None)
    if op == "push_merge":
        return {"schema": "jht.customer_merge/1", "survivor": customer, "absorbed": {**customer, "id": 2}, "at": at}
    if op == "query_stock":
        return {"skus": ["WA-100"], "codes": ["01.10.001"], "erp_item_codes": ["01.10.001"], "items": []}
    return {"cursor": "0", "after": 0, "limit": 100}


def _command_data(order_no: str, command: str, at: datetime | str, doc: dict[str, Any] | None) -> dict[str, Any]:
    """What the mapping of ``order_command`` is rendered on."""
    check_command(order_no, command)
    at_text = at.isoformat() if isinstance(at, datetime) else str(at)
    return {**(doc or {}), "order_no": order_no, "command": command, "at": at_text}


def _without_passwords(envelope: Any) -> Any:
    """A copy of ``envelope`` with every WS-Security password's text replaced by ``***``."""
    import copy

    shown = copy.deepcopy(envelope)
    for element in shown.iter("{*}Password"):
        element.text = "***"
    return shown


def _short(content: Any, limit: int = 200) -> str:
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    text = " ".join(str(content or "").split())
    return text[:limit] + ("…" if len(text) > limit else "")


def caching_transport(cache_dir: Path, **kwargs: Any):
    """zeep's transport, keeping a copy of every WSDL/XSD fetched over HTTP in ``cache_dir``:
    it tries the network first (so a changed WSDL is seen), and falls back to the copy when the
    ERP's web server cannot be reached, so the bridge starts while the ERP is down. (zeep is
    imported here, not at module level: it costs a quarter second every other connector
    should not pay.)"""
    import requests
    from zeep.transports import Transport

    class CachingTransport(Transport):
        last_source = "file"

        def _path(self, url: str) -> Path:
            return Path(cache_dir) / (hashlib.sha256(url.encode("utf-8")).hexdigest()[:32] + ".xml")

        def load(self, url: str) -> bytes:
            if urlparse(url).scheme not in ("http", "https"):
                return super().load(url)
            try:
                content = self._load_remote_data(url)
            except requests.RequestException:
                cached = self._path(url)
                if cached.is_file():
                    self.last_source = f"cached copy {cached}: the server did not answer"
                    return cached.read_bytes()
                raise
            self.last_source = "fetched"
            try:
                target = self._path(url)
                target.parent.mkdir(parents=True, exist_ok=True)
                temp = target.with_suffix(".tmp")
                temp.write_bytes(content)
                temp.replace(target)
            except OSError:
                pass  # a cache we cannot write only costs the fallback
            return content

    return CachingTransport(**kwargs)
