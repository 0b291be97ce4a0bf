"""The SOAP connector's mapping files: templates rendered on documents, and mistakes named at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.resources import etc_path
from connectors.soap.mapping import MappingError, load_mapping, render, validate
from tests.doubles.connector_kit import sample_customer, sample_order

REFERENCE = etc_path("soap", "jht-erp.mapping.toml")


def test_strings_are_jmespath_and_literals_are_quoted():
    doc = {"order_no": "JHT-1", "customer": {"id": 7, "erp_code": None}}
    assert render("order_no", doc) == "JHT-1"
    assert render("to_string(customer.id)", doc) == "7"
    assert render("'AUDIT'", doc) == "AUDIT"
    assert render(3, doc) == 3
    assert render(True, doc) is True


def test_keys_rendering_to_null_are_left_out():
    doc = {"customer": {"id": 7, "erp_code": None}}
    assert render({"CustNo": "customer.id", "CustCode": "customer.erp_code", "Missing": "nowhere.at.all"}, doc) == {
        "CustNo": 7
    }


def test_each_maps_a_list_and_sees_its_parent():
    doc = sample_order(lines=2)
    out = render({"$each": "lines", "$item": {"Seq": "line_no", "Bill": "_parent.order_no", "Qty": "quantity"}}, doc)
    assert out == [
        {"Seq": 1, "Bill": doc["order_no"], "Qty": 10},
        {"Seq": 2, "Bill": doc["order_no"], "Qty": 20},
    ]
    assert render({"$each": "nothing"}, doc) is None  # missing stays missing: the key is left out
    assert render({"$each": "lines"}, {"lines": []}) == []


def test_dict_builds_an_object_from_a_list():
    answer = {"StockItem": [{"sku": "WA-1", "quantity": "12.5"}, {"sku": "WA-2", "quantity": 0}]}
    assert render({"$dict": "StockItem", "$key": "sku", "$value": "quantity"}, answer) == {"WA-1": "12.5", "WA-2": 0}


def test_map_translates_and_an_unknown_value_is_an_error_unless_defaulted():
    table = {"$value": "command", "$map": {"release": "AUDIT", "cancel": "CLOSE"}}
    assert render(table, {"command": "cancel"}) == "CLOSE"
    with pytest.raises(MappingError, match="no mapping for value 'complete'"):
        render(table, {"command": "complete"})
    assert render({**table, "$default": "OTHER"}, {"command": "complete"}) == "OTHER"
    assert render({"$value": "paid", "$map": {"true": "Y", "false": "N"}}, {"paid": False}) == "N"


def test_the_reference_mapping_renders_our_documents():
    mapping = load_mapping(REFERENCE)
    order = render(mapping["push_order"]["request"], sample_order(lines=3))["order"]
    assert order["orderNo"] == "JHT-20261125-0001"
    assert [line["sku"] for line in order["lines"]["OrderLine"]] == ["WA-100", "WA-200", "WA-300"]
    assert order["lines"]["OrderLine"][0]["unitPrice"] == "12.50"  # exact text, never a float
    customer = render(mapping["push_customer"]["request"], sample_customer(5))["customer"]
    assert customer["id"] == 5 and customer["name"].startswith("无锡精工")


def test_mistakes_in_a_mapping_file_are_named_by_key(tmp_path: Path):
    problems = validate(
        {
            "push_order": {"operation": "", "request": {"x": "a[?"}, "response": {"erp_reff": "x"}},
            "push_customer": {"operation": "A", "request": {"y": {"$each": "a", "$other": 1}}},
            "send_fax": {"operation": "Fax"},
            "order_command": {"operation": "C", "requst": {}},
            "pull_events": {"operation": "P", "response": {"events": "Event"}},
        }
    )
    text = "\n".join(problems)
    assert "push_order.operation" in text
    assert "push_order.request.x: bad JMESPath expression" in text
    assert "push_order.response: unknown key(s) erp_reff" in text
    assert "push_customer.request.y: unknown directive(s) $other" in text
    assert "send_fax: not a connector operation" in text
    assert "order_command: unknown key(s) requst" in text
    assert "query_stock: missing" in text
    assert "pull_events.response.events: must be" in text

    bad = tmp_path / "bad.toml"
    bad.write_text("[push_order\n", encoding="utf-8")
    with pytest.raises(MappingError, match="not valid TOML"):
        load_mapping(bad)
    with pytest.raises(MappingError, match="cannot read the mapping file"):
        load_mapping(tmp_path / "missing.toml")


def test_the_guide_names_every_setting_and_only_real_ones():
    """docs/soap-connector.md's configuration block stays true to SoapSettings."""
    import re

    from connectors.soap.connector import SoapSettings

    text = (Path(__file__).resolve().parents[1] / "docs" / "soap-connector.md").read_text(encoding="utf-8")
    block = text.split("[connector.soap]", 1)[1].split("```", 1)[0]
    keys = set(re.findall(r"^#?\s*([a-z_]+)\s*=", block, flags=re.MULTILINE))
    fields = set(SoapSettings.model_fields)
    assert keys <= fields, keys - fields
    for field in fields:
        assert field in text, f"{field} is not explained in docs/soap-connector.md"


def test_p19_7_e1_template_functions_for_an_erps_types():
    """#19 point 7, E1: the date of a timestamp (for an xs:date, in a zone or the time's own
    offset), exact decimals to a number of places, a text cut to an ERP field's length, and a
    literal list; a wrong argument is a MappingError naming the function."""
    doc = sample_order(placed_at="2026-11-25T20:30:00+00:00") | {"remark": "请用木箱包装，轻拿轻放"}
    assert render("date(placed_at)", doc) == "2026-11-25"
    assert render("date(placed_at, 'Asia/Shanghai')", doc) == "2026-11-26"  # 04:30 next day in Wuxi
    assert render("date('2026-11-25')", doc) == "2026-11-25"
    assert render("date(nowhere)", doc) is None  # nothing there stays nothing: the key is left out
    assert render("decimal(lines[0].unit_price, `3`)", doc) == "12.500"
    assert render("decimal('2.345', `2`)", doc) == "2.35"  # half up, not to even
    assert render("decimal(`7`, `0`)", doc) == "7"
    assert render("cut(remark, `4`)", doc) == "请用木箱"
    assert render("cut(remark, `50`)", doc) == doc["remark"]
    assert render("list('Released', order_no)", doc) == ["Released", doc["order_no"]]
    assert render("list()", doc) == []
    for bad, words in [
        ("date('25.11.2026')", "date: '25.11.2026' is not an ISO time or date"),
        ("date(placed_at, 'Mars/Olympus')", "unknown time zone"),
        ("decimal('abc', `2`)", "decimal: 'abc' is not a number"),
        ("cut(remark, `-1`)", "cut: the length must be"),
    ]:
        with pytest.raises(MappingError, match=words):
            render(bad, doc)


def test_p19_1_2_e7_steps_and_services_in_a_mapping_are_checked_by_key():
    """#19 points 1 and 2, E7: an operation is one call or a short list of steps, each on the
    service it names; a mistake in one is named by its key."""
    good = {name: {"operation": "X"} for name in ("push_customer", "push_order", "query_stock")}
    good["query_stock"]["response"] = {"stock": {"$dict": "@", "$key": "a", "$value": "b"}}
    good["pull_events"] = {
        "operation": "P",
        "service": "events",
        "response": {"events": {"$each": "@", "$item": {"id": "a", "kind": "b", "data": "c"}}},
    }
    good["order_command"] = {
        "steps": [
            {"service": "sales_order", "operation": "Read", "request": {"No": "order_no"}},
            {"service": "sales_order", "operation": "Update", "when": "steps[0]", "request": {"Key": "steps[0].Key"}},
        ],
        "response": {"ok": "steps[1] != null"},
    }
    assert validate(good) == []
    problems = "\n".join(
        validate(
            good
            | {
                "order_command": {
                    "operation": "C",
                    "steps": [
                        {"operation": "Read", "when": "a[?", "already_exists": "maybe", "requst": {}},
                        {"service": "", "request": {"Key": "steps[0].Key"}},
                    ],
                },
                "push_order": {"steps": []},
            }
        )
    )
    assert "order_command: steps, or operation: not both" in problems
    assert "order_command.steps[0].when: bad JMESPath expression" in problems
    assert 'order_command.steps[0].already_exists: true, false or "retry"' in problems
    assert "order_command.steps[0]: unknown key(s) requst" in problems
    assert "order_command.steps[1].operation: the WSDL operation's name is required" in problems
    assert "order_command.steps[1].service: the name of a [connector.soap.services] table" in problems
    assert "push_order.steps: a list of 1 to 8 tables" in problems


def test_p19_3_e4_an_update_answered_already_exists_is_never_counted_as_delivered():
    """#19 point 3: "already exists" may count as delivered where the mapping says so, never
    for an update (it updated nothing): the mapping that says so for an Update is refused, and
    a one-call table whose operation is an update does not count it by default."""
    from connectors.soap.mapping import steps_of

    mapping = load_mapping(REFERENCE)
    update = {"steps": [{"operation": "Read"}, {"operation": "Update", "already_exists": True}]}
    problems = "\n".join(validate(mapping | {"push_customer": update}))
    assert "push_customer.steps[1].already_exists: an update answered 'already exists'" in problems
    assert validate(mapping | {"push_customer": {"steps": [{"operation": "Create", "already_exists": True}]}}) == []
    assert steps_of({"operation": "UpdateCustomer"})[0]["already_exists"] is False
    assert steps_of({"operation": "PushCustomer"})[0]["already_exists"] is True
