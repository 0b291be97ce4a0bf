"""The connector contract: how the bridge talks to an ERP, whatever the transport.

A connector is a class registered by a plugin (``bridge.hookspecs.register_connectors``); the
one named by ``connector.name`` in the config is the active one. It has the six operations
below, and raises exactly two kinds of error:

- ``TransientError``: try again later (the ERP is down, slow, locked, restarting…);
- ``PermanentError``: this message will never be accepted as it is (a business rejection,
  bad data); it goes to the dead letters at once, with the ERP's words kept.

Any other exception is treated as transient by the dispatcher, so a bug in a connector delays
messages but never loses them.

Operations are called from worker threads, never on the event loop: pyodbc and zeep block.
Every operation must be idempotent with respect to the document it carries: the bridge
delivers at least once, and the ERP side is made idempotent by the bridge order number.

Inbound events come from ``pull_events(cursor)`` as ``ErpEvent`` values. Each carries the
cursor *after* itself, so the bridge can store it in the same transaction that applies the
event. After the transaction commits the bridge calls ``ack(event, outcome)`` so a connector
with something to tidy (the file drop moves files to archive/ or error/) can do it; a crash
before ``ack`` means the event is pulled again and deduplicated by its id.

``render(operation, doc)`` (optional) says what an outgoing operation would send — the SQL
with its bound values, the file's name and bytes, the request envelope — without sending it:
what ``outbox preview`` shows (E8). A connector builds it with the code its operation sends
with, so the preview cannot differ from the delivery.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Protocol


class ConnectorError(Exception):
    """Base of the two families below."""


class TransientError(ConnectorError):
    """Retry later: the message is fine, the ERP could not take it now."""


class PermanentError(ConnectorError):
    """Never retry as is: the ERP rejected the message (its words are the message text)."""


class Command(StrEnum):
    """What ``order_command`` tells the ERP about an order (E5)."""

    RELEASE = "release"
    """Type 2: payment confirmed, produce and ship it."""
    CANCEL = "cancel"
    COMPLETE = "complete"
    """The customer confirmed receipt."""


COMMANDS: tuple[str, ...] = tuple(c.value for c in Command)
"""The command words, in the order above: every connector accepts exactly these."""


def check_command(order_no: str, command: str) -> Command:
    """The command, or a PermanentError naming the words there are (for ``order_command``)."""
    if command not in COMMANDS:
        raise PermanentError(f"order {order_no}: unknown command {command!r} (known: {', '.join(COMMANDS)})")
    return Command(command)


# Kinds of events an ERP sends (``ErpEvent.kind``) and what their ``data`` holds.
EVENT_KINDS = {
    "order.status": "order_no, status (the ERP's word, mapped by [sync.status_map]), erp_ref?, note?",
    "order.accepted": "order_no, erp_ref: the ERP took the order and gave it its own number",
    "order.released": "order_no: payment was confirmed in the ERP (type 2)",
    "order.shipment": "order_no, shipment_id, courier, tracking_no, lines [{sku, quantity}], "
    "shipped_at?, order_status? (e.g. shipped once the whole order has gone)",
    "stock": "items {sku: quantity}: the ERP's stock figures",
    "customer.code": "customer_id, erp_code: the ERP's code for a bridge customer",
}


def command_args(doc: dict[str, Any]) -> tuple[str, str, Any]:
    """``(order_no, command, at)`` of an order command document: what the dispatcher passes to
    ``order_command`` with the document, and what a connector's ``render`` reads from it."""
    return doc["order_no"], doc["command"], doc.get("at")


@dataclass(frozen=True)
class Rendered:
    """One thing an operation would send, for people to read (``Connector.render``)."""

    title: str
    """What it is: a statement's name, a file's name, an operation and its address."""
    text: str
    """What is sent: the statement with its values, the file's text, the envelope."""


@dataclass(frozen=True)
class ErpEvent:
    """One change reported by the ERP."""

    event_id: str
    """Unique per connector, stable when the same event is read twice."""
    kind: str
    data: dict[str, Any]
    cursor: str | None = None
    """Where reading resumes after this event."""
    problem: str | None = None
    """Set when the event could not be read (bad JSON, encoding…): it is quarantined."""
    source: str | None = None
    """Where it came from, for people (a file name, a table row id)."""


class StockFigures(dict[str, Decimal]):
    """What ``query_stock`` returns when its figures were taken before the call (the file
    drop's ``stock.json``): ``{sku: quantity}`` with ``as_of``, when they were taken (aware). The
    bridge weighs them against the figures of ``stock`` events by that time, per item; a plain
    dict is taken as stock of this moment."""

    def __init__(self, items: Any = (), as_of: datetime | None = None):
        super().__init__(items)
        self.as_of = as_of


@dataclass(frozen=True)
class CheckLine:
    name: str
    ok: bool
    detail: str


class ItemCodes(Protocol):
    """The shop's product codes (sku) and the ERP's item codes (``Product.erp_item_code``), for
    a connector whose ERP keys items by its own code (``bridge.products.ItemCodeBook``)."""

    def erp_item_codes(self, skus: list[str]) -> dict[str, str]:
        """{sku: ERP item code} for the skus whose product has one."""
        ...

    def skus(self, erp_item_codes: list[str]) -> dict[str, str]:
        """{ERP item code: sku} for the codes a product has."""
        ...


@dataclass
class ConnectorContext:
    """What a connector may know of the bridge it runs in."""

    base_dir: Path = Path(".")
    """Folder of the config file: relative paths in connector settings are relative to it."""
    timezone: str = "Asia/Shanghai"
    """``[bridge] timezone``: the zone of an ERP's times that carry no offset of their own."""
    extra: dict[str, Any] = field(default_factory=dict)
    item_codes: ItemCodes | None = None
    """Translates between skus and ERP item codes; None where the bridge runs without its database."""


class Connector(ABC):
    """Base class of ERP connectors. Subclasses set ``name`` and implement the operations; the
    six of the contract are abstract, so a class missing one cannot be loaded (the plugin
    manager names it and what it lacks). ``push_merge``, ``render``, ``ack``, ``ready``,
    ``wait_for_events`` and ``close`` have defaults."""

    name: ClassVar[str] = ""
    """The name used in ``connector.name`` of the config file."""
    description: ClassVar[str] = ""

    def __init__(self, settings: Any, context: ConnectorContext | None = None):
        self.settings = settings
        self.context = context or ConnectorContext()

    # -- outgoing ---------------------------------------------------------------------------

    @abstractmethod
    def push_customer(self, doc: dict[str, Any]) -> str | None:
        """Upsert the customer (a ``jht.customer/1`` document) into the ERP's customer master.
        Returns the ERP's customer code when it is known at once, else None (it may come later
        as a ``customer.code`` event)."""
        raise NotImplementedError

    @abstractmethod
    def push_order(self, doc: dict[str, Any]) -> str | None:
        """Create the sales order (a ``jht.order/1`` document), header and lines all or nothing.
        The same order number twice must not create two orders: a duplicate is success.
        Returns the ERP's own order reference when known at once, else None."""
        raise NotImplementedError

    @abstractmethod
    def order_command(self, order_no: str, command: str, at: datetime | str, doc: dict[str, Any] | None = None) -> None:
        """Tell the ERP: ``release`` (payment confirmed), ``cancel`` or ``complete`` (receipt
        confirmed by the customer): ``COMMANDS``, checked by ``check_command``. Repeating a
        command is harmless."""
        raise NotImplementedError

    def push_merge(self, doc: dict[str, Any]) -> None:
        """Tell the ERP two customers are one (a ``jht.customer_merge/1`` document). Optional:
        the default does nothing, as many ERPs merge customers by hand."""
        return None

    def render(self, operation: str, doc: dict[str, Any]) -> list[Rendered] | None:
        """What ``operation`` (push_customer, push_order, order_command, push_merge) would send
        for ``doc``, in the order it is sent, without sending anything or connecting for it where
        it can be helped; an empty list when it sends nothing. Raises ``PermanentError`` as the
        operation would for a document it can never send. Optional: the default, None, makes
        ``outbox preview`` show the document itself."""
        return None

    # -- incoming ---------------------------------------------------------------------------

    @abstractmethod
    def query_stock(self, skus: list[str]) -> dict[str, Decimal]:
        """Stock now, for the given item codes. Items the ERP does not know are left out. A
        connector answering from a copy taken earlier returns ``StockFigures`` with its time."""
        raise NotImplementedError

    @abstractmethod
    def pull_events(self, cursor: str | None, limit: int = 100) -> tuple[list[ErpEvent], str | None]:
        """Events after ``cursor`` (None: from the start), at most ``limit``, oldest first,
        and the cursor to resume from next time."""
        raise NotImplementedError

    def ack(self, event: ErpEvent, outcome: str, reason: str | None = None, reason_zh: str | None = None) -> None:
        """Called after the event's transaction committed. ``outcome`` is the inbox status:
        applied, ignored, parked, dead or quarantined; ``reason`` says why (English), and
        ``reason_zh`` the same in Chinese when the bridge has it (for an ERP person's eyes: the
        file drop's error note). The default does nothing."""
        return None

    # -- operations -------------------------------------------------------------------------

    @abstractmethod
    def check(self) -> list[CheckLine]:
        """What ``jht-bridge check`` prints: reachable, authenticated, schema/folders present.
        Never raises: a problem is a line with ok=False saying what to do."""
        raise NotImplementedError

    def ready(self) -> list[CheckLine]:
        """What ``/readyz`` asks, maybe every few seconds: the lines of ``check`` that say whether
        the connector can work now. Cheap and without side effects (no probe writes); the
        default is ``check`` itself."""
        return self.check()

    def wait_for_events(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds until new events may be there (True) or not (False).
        Connectors that can be told (file watching, notifications) override this; the default
        just sleeps, so the poller falls back to polling."""
        import time

        time.sleep(timeout)
        return False

    def open_round(self) -> None:
        """The dispatcher starts delivering a batch on this thread; ``close_round`` follows,
        and ``settle`` before each set of the batch's deliveries is recorded. Between the two,
        a push made on this thread may leave its last step to ``settle`` (the file drop writes
        its files there and renames them into place at ``settle``, fsyncing them side by side);
        pushes on other threads, or outside a round, are done when they return. The default
        does nothing."""
        return None

    def close_round(self) -> None:
        """The batch of ``open_round`` is over: anything of it not settled is dropped (its
        messages were not recorded, so they are delivered again). The default does nothing."""
        return None

    def settle(self) -> None:
        """Make what was delivered since the last call durable. The dispatcher calls it before
        it records a round's deliveries as done, so a connector may leave that last step (a
        folder's fsync, a commit) to once a round instead of once a message; an error here counts
        as a transient failure of those deliveries. The default does nothing: each push is
        durable when it returns."""
        return None

    def writes_to(self) -> list[Path]:
        """Folders outside the database that this connector writes (the file drop's share): a
        service installed with a read-only file system (systemd's ``ProtectSystem=strict``) is
        let write there. The default: none."""
        return []

    def close(self) -> None:
        """Release connections, watchers, threads."""
        return None
