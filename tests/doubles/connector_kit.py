"""The connector contract as a test suite: every connector, built in or a plugin's, passes it.

Subclass ``ConnectorContract`` in a pytest module and provide two fixtures::

    from tests.doubles.connector_kit import ConnectorContract

    class TestMyErpContract(ConnectorContract):
        @pytest.fixture
        def connector(self, ...):
            c = MyErpConnector(settings)   # a fresh instance on a fresh, healthy ERP side
            yield c
            c.close()

        @pytest.fixture
        def erp(self, ...):
            return MyErpSide(...)          # implements ErpSide below, on the same ERP

Each test checks one behaviour of the contract (``bridge.connector``) and names the
requirement it serves. Hooks (``broken_order_document``, ``bad_order_document``,
``sample_events``, ``restart``) can be overridden where a connector needs other data.

The documents carry ``_outbox_id`` as the dispatcher's do: a connector may use it (the file
drop names its files with it) and must otherwise ignore keys starting with ``_``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Protocol

import pytest

from bridge.connector import EVENT_KINDS, CheckLine, Connector, ErpEvent, PermanentError, TransientError


class ErpSide(Protocol):
    """The ERP as a test sees it: what it received, and levers to make it answer or fail."""

    def orders(self) -> dict[str, dict[str, Any]]:
        """The orders the ERP holds, by order number, as ``jht.order/1``-shaped dicts (at least
        ``order_no`` and ``lines`` with ``sku`` and ``quantity``). If the ERP side could hold
        two orders of one number, this raises AssertionError when it does."""

    def import_count(self, order_no: str) -> int:
        """How many times the order reached the ERP side, duplicates included (0: never)."""

    def customers(self) -> dict[Any, dict[str, Any]]:
        """The customers the ERP received, by bridge customer id."""

    def commands(self, order_no: str) -> list[str]:
        """The commands (release, cancel, complete) the ERP applied to the order, in order."""

    def process(self) -> None:
        """Let the ERP take what was sent (a no-op for an ERP that takes it during the call)."""

    def emit(self, kind: str, data: dict[str, Any]) -> str:
        """Make the ERP report an event (a kind of ``EVENT_KINDS``); returns its event id."""

    def set_stock(self, items: dict[str, Any]) -> None:
        """Set the ERP's stock figures, {sku: quantity}."""

    def go_down(self) -> None:
        """Make the ERP unreachable (the connector should raise TransientError)."""

    def come_back(self) -> None:
        """Make it reachable again, with nothing lost."""

    def remove_target(self) -> str:
        """Make what the connector talks to missing (folder, database, endpoint); returns the
        text a failing ``check()`` line must name (a path, a host…)."""


# --------------------------------------------------------------------------- sample documents

AT = datetime(2026, 11, 25, 8, 30, tzinfo=timezone.utc)


def sample_customer(customer_id: int = 1, **changes: Any) -> dict[str, Any]:
    """A ``jht.customer/1`` document with Chinese data."""
    return {
        "schema": "jht.customer/1",
        "id": customer_id,
        "erp_code": None,
        "name": f"无锡精工磨具有限公司{customer_id}号",
        "type": 2,
        "contact_name": "王建国",
        "phone": "13912345678",
        "salesperson": {"username": "zhangwei", "name": "张伟"},
        "merged_ids": [],
        "updated_at": AT.isoformat(),
        **changes,
    }


def sample_order(
    order_no: str = "JHT-20261125-0001", customer_id: int = 1, lines: int = 3, **changes: Any
) -> dict[str, Any]:
    """A ``jht.order/1`` document with ``lines`` lines and Chinese data."""
    body = [
        {
            "line_no": n,
            "sku": f"WA-{100 * n}",
            "erp_item_code": f"0{n}.10.{n:03d}",
            "name": "白刚玉平形砂轮",
            "spec": f"PSA {n * 100}×20×32",
            "marking": "WA60K5V 35m/s",
            "quantity": 10 * n,
            "unit": "片",
            "unit_price": "12.50",
            "amount": f"{125 * n}.00",
        }
        for n in range(1, lines + 1)
    ]
    return {
        "schema": "jht.order/1",
        "order_no": order_no,
        "customer": {"id": customer_id, "erp_code": "C0001", "name": "无锡精工磨具有限公司"},
        "customer_type": 2,
        "released": False,
        "status": "pending",
        "stock_check": "insufficient",
        "placed_at": AT.isoformat(),
        "ship_to": {
            "recipient": "李娜",
            "phone": "13800001111",
            "province": "江苏省",
            "city": "无锡市",
            "district": "新吴区",
            "detail": "长江路 88 号 3 号厂房",
        },
        "remark": "请用木箱包装，轻拿轻放",
        "total_amount": f"{sum(125 * n for n in range(1, lines + 1))}.00",
        "lines": body,
        **changes,
    }


def sample_command(order_no: str, command: str, at: datetime = AT) -> dict[str, Any]:
    """A ``jht.order_command/1`` document."""
    return {"schema": "jht.order_command/1", "order_no": order_no, "command": command, "at": at.isoformat()}


def line_quantities(doc: dict[str, Any]) -> list[tuple[str, int]]:
    return [(line["sku"], int(line["quantity"])) for line in doc["lines"]]


class ConnectorContract:
    """The tests every connector passes. Needs the fixtures ``connector`` and ``erp``."""

    # ------------------------------------------------------------------ hooks

    def broken_order_document(self, order_no: str) -> dict[str, Any]:
        """A valid order whose *last* line holds a value no ERP can take: writing it fails half
        way, after the header and the first lines."""
        doc = sample_order(order_no, lines=3)
        doc["lines"][-1]["quantity"] = object()
        return doc

    def bad_order_document(self) -> dict[str, Any]:
        """An order the ERP can never accept as it is."""
        doc = sample_order()
        del doc["order_no"]
        return doc

    def sample_events(self) -> dict[str, dict[str, Any]]:
        """One event of every kind, as the ERP would report it."""
        return {
            "order.status": {"order_no": "JHT-20261125-0001", "status": "in_production", "erp_ref": "SO-00001"},
            "order.accepted": {"order_no": "JHT-20261125-0001", "erp_ref": "SO-00001"},
            "order.released": {"order_no": "JHT-20261125-0001"},
            "order.shipment": {
                "order_no": "JHT-20261125-0001",
                "shipment_id": "SO-00001-S1",
                "courier": "顺丰速运",
                "tracking_no": "SF123456789012",
                "lines": [{"sku": "WA-100", "quantity": 10}, {"sku": "WA-200", "quantity": 20}],
                "order_status": "shipped",
            },
            "stock": {"items": {"WA-100": 120, "WA-200": 0}},
            "customer.code": {"customer_id": 7, "erp_code": "C0007"},
        }

    def restart(self, connector: Connector) -> Connector:
        """A new instance of the connector, as after a restart of the bridge."""
        return type(connector)(connector.settings, connector.context)

    # ------------------------------------------------------------------ outgoing (E1, E4, E5)

    def test_e1_same_order_number_twice_is_one_order_on_the_erp_side(self, connector, erp):
        """E1, E6: delivering an order again (the same message re-sent, or the same order in
        a new message) never makes a second order nor doubles its lines."""
        doc = sample_order("JHT-20261125-0001")
        connector.push_order({**doc, "_outbox_id": 7})
        connector.push_order({**doc, "_outbox_id": 7})
        erp.process()
        connector.push_order({**doc, "_outbox_id": 9})
        erp.process()
        held = erp.orders()
        assert list(held) == ["JHT-20261125-0001"]
        assert line_quantities(held["JHT-20261125-0001"]) == line_quantities(doc)
        assert erp.import_count("JHT-20261125-0001") >= 1

    def test_e1_header_and_lines_are_all_or_nothing(self, connector, erp):
        """E1: an order that fails half way through its lines leaves nothing on the ERP side;
        sent again whole, it arrives with every line."""
        with pytest.raises(PermanentError):
            connector.push_order({**self.broken_order_document("JHT-20261125-0002"), "_outbox_id": 11})
        erp.process()
        assert "JHT-20261125-0002" not in erp.orders()
        assert erp.import_count("JHT-20261125-0002") == 0
        good = sample_order("JHT-20261125-0002")
        connector.push_order({**good, "_outbox_id": 12})
        erp.process()
        assert line_quantities(erp.orders()["JHT-20261125-0002"]) == line_quantities(good)

    def test_e4_customer_reaches_the_erp(self, connector, erp):
        """E4: a customer upsert reaches the ERP's customer master with its Chinese name."""
        doc = sample_customer(5)
        connector.push_customer({**doc, "_outbox_id": 3})
        erp.process()
        assert erp.customers()[5]["name"] == doc["name"]

    def test_e5_order_commands_reach_the_erp_in_order(self, connector, erp):
        """E5: release and complete reach the ERP for the order, in the order sent; repeating
        a command is harmless."""
        connector.push_order({**sample_order("JHT-20261125-0003"), "_outbox_id": 20})
        erp.process()
        release = {**sample_command("JHT-20261125-0003", "release"), "_outbox_id": 21}
        connector.order_command("JHT-20261125-0003", "release", AT, release)
        connector.order_command("JHT-20261125-0003", "release", AT, release)
        erp.process()
        complete = {**sample_command("JHT-20261125-0003", "complete"), "_outbox_id": 22}
        connector.order_command("JHT-20261125-0003", "complete", AT, complete)
        erp.process()
        seen = erp.commands("JHT-20261125-0003")
        assert [c for i, c in enumerate(seen) if i == 0 or seen[i - 1] != c] == ["release", "complete"]

    # ------------------------------------------------------------------ errors (E6)

    def test_e6_erp_down_is_a_transient_error_and_nothing_is_lost(self, connector, erp):
        """E6: while the ERP is unreachable every operation raises TransientError (retry
        later); once it is back, the same order goes through."""
        doc = {**sample_order("JHT-20261125-0004"), "_outbox_id": 30}
        erp.go_down()
        try:
            with pytest.raises(TransientError):
                connector.push_order(doc)
            with pytest.raises(TransientError):
                connector.pull_events(None)
            with pytest.raises(TransientError):
                connector.query_stock(["WA-100"])
        finally:
            erp.come_back()
        connector.push_order(doc)
        erp.process()
        assert "JHT-20261125-0004" in erp.orders()

    def test_e6_a_bad_document_is_a_permanent_error(self, connector, erp):
        """E6: a document the ERP can never take raises PermanentError (dead letter at once,
        no retries), and nothing reaches the ERP."""
        with pytest.raises(PermanentError):
            connector.push_order({**self.bad_order_document(), "_outbox_id": 40})
        with pytest.raises(PermanentError):
            connector.order_command("JHT-20261125-0001", "explode", AT, None)
        erp.process()
        assert erp.orders() == {}

    # ------------------------------------------------------------------ incoming (E3)

    def test_e3_every_kind_of_event_round_trips(self, connector, erp):
        """E3: an event the ERP reports comes out of pull_events with its kind and data."""
        samples = self.sample_events()
        assert set(samples) == set(EVENT_KINDS)
        sent = {erp.emit(kind, data): (kind, data) for kind, data in samples.items()}
        events, _ = connector.pull_events(None)
        got = {e.event_id: e for e in events}
        for event_id, (kind, data) in sent.items():
            assert event_id in got, f"{kind} event {event_id} not pulled"
            assert isinstance(got[event_id], ErpEvent)
            assert (got[event_id].kind, got[event_id].data, got[event_id].problem) == (kind, data, None)
        for event in events:
            connector.ack(event, "applied")

    def test_e3_event_ids_are_stable_when_read_twice(self, connector, erp):
        """E3, E6: an event read again before it was acknowledged has the same id, so the
        bridge's deduplication recognises it."""
        erp.emit("order.status", {"order_no": "JHT-20261125-0001", "status": "in_production"})
        first, _ = connector.pull_events(None)
        second, _ = connector.pull_events(None)
        assert [e.event_id for e in first] == [e.event_id for e in second] != []

    def test_e3_pull_events_respects_the_limit_and_keeps_order(self, connector, erp):
        """E3: at most ``limit`` events per pull, oldest first, and the rest follow."""
        ids = [
            erp.emit("order.status", {"order_no": f"JHT-20261125-000{n}", "status": "in_production"}) for n in (1, 2, 3)
        ]
        events, _ = connector.pull_events(None, limit=2)
        assert [e.event_id for e in events] == ids[:2]
        for event in events:
            connector.ack(event, "applied")
        rest, _ = connector.pull_events(events[-1].cursor, limit=2)
        assert [e.event_id for e in rest] == ids[2:]

    def test_e6_cursor_resumes_after_a_restart(self, connector, erp):
        """E6: after a restart, pulling from the stored cursor gives no event already
        acknowledged, and every one that was not."""
        a = erp.emit("order.status", {"order_no": "JHT-20261125-0001", "status": "in_production"})
        b = erp.emit("order.status", {"order_no": "JHT-20261125-0002", "status": "in_production"})
        events, _ = connector.pull_events(None)
        assert [e.event_id for e in events] == [a, b]
        connector.ack(events[0], "applied")
        stored = events[0].cursor
        connector.close()
        again = self.restart(connector)
        try:
            resumed, _ = again.pull_events(stored)
            assert [e.event_id for e in resumed] == [b]
            again.ack(resumed[0], "applied")
            stored = resumed[0].cursor
        finally:
            again.close()
        third = self.restart(connector)
        try:
            assert third.pull_events(stored)[0] == []
        finally:
            third.close()

    # ------------------------------------------------------------------ stock (E2)

    def test_e2_query_stock_returns_decimals_for_known_skus_only(self, connector, erp):
        """E2, C7: stock comes back as Decimal for the skus the ERP knows; unknown skus are
        left out."""
        erp.set_stock({"WA-100": 12, "WA-200": Decimal("3.5"), "GC-300": 0})
        stock = connector.query_stock(["WA-100", "WA-200", "GC-300", "NO-SUCH"])
        assert stock == {"WA-100": Decimal(12), "WA-200": Decimal("3.5"), "GC-300": Decimal(0)}
        assert all(isinstance(q, Decimal) for q in stock.values())

    # ------------------------------------------------------------------ check (O3)

    def test_o3_check_is_all_ok_on_a_healthy_erp(self, connector, erp):
        """O3: on a healthy ERP side every check line is ok."""
        erp.set_stock({"WA-100": 1})
        lines = connector.check()
        assert lines and all(isinstance(line, CheckLine) for line in lines)
        assert [line for line in lines if not line.ok] == []

    def test_o3_check_names_a_missing_target(self, connector, erp):
        """O3: when what the connector talks to is missing, check() does not raise and a
        failing line names it."""
        target = erp.remove_target()
        lines = connector.check()
        failing = [line for line in lines if not line.ok]
        assert failing, lines
        assert any(target in line.detail or target in line.name for line in failing), failing
