"""The Chinese labels the front ends show for codes (C6, A1, C1, C11): one module, every member."""

from __future__ import annotations

import re

import pytest

from bridge import labels
from bridge.models import CustomerType, InquiryStatus, OrderStatus, ProductKind

HAN = re.compile(r"^[\u4e00-\u9fff]+$")


@pytest.mark.parametrize(
    "table,enum",
    [
        (labels.STATUS_LABELS, OrderStatus),  # C6
        (labels.CUSTOMER_TYPE_LABELS, CustomerType),  # A1
        (labels.PRODUCT_KIND_LABELS, ProductKind),  # C1
        (labels.INQUIRY_STATUS_LABELS, InquiryStatus),  # C11
    ],
    ids=["c6-order-status", "a1-customer-type", "c1-product-kind", "c11-inquiry-status"],
)
def test_c6_a1_c1_c11_every_code_has_one_distinct_chinese_label(table, enum):
    assert set(table) == set(enum)
    assert all(HAN.match(label) for label in table.values())
    assert len(set(table.values())) == len(table)


def test_c14_every_reorder_drop_reason_has_one_distinct_chinese_label():
    from bridge.reorder import DropReason

    table = labels.REORDER_DROP_LABELS
    assert set(table) == set(DropReason)
    assert all(HAN.match(label) for label in table.values()) and len(set(table.values())) == len(table)


def test_a1_customer_types_are_labelled_by_their_plain_numbers_too():
    assert labels.CUSTOMER_TYPE_LABELS[1] == "类型一" and labels.CUSTOMER_TYPE_LABELS[2] == "类型二"


def test_a4_the_catalog_sheet_writes_and_reads_kinds_by_the_same_labels():
    """A4 (bulk import/export of the catalog): the sheet's 类型 column uses bridge.labels."""
    from bridge.catalog import COLUMNS

    kind = next(c for c in COLUMNS if c.key == "kind")
    for code, label in labels.PRODUCT_KIND_LABELS.items():
        assert kind.format(code.value) == label
        assert kind.parse(label) == code


def test_c8_every_timeline_action_and_actor_has_a_chinese_label():
    """The order timeline (C8) names each action and who did it in Chinese: every action the bridge
    records and every actor kind has a label (a new one without it fails here)."""
    import re
    from pathlib import Path

    from bridge.labels import ACTOR_LABELS, TIMELINE_ACTION_LABELS
    from bridge.models import ActorKind

    assert set(ACTOR_LABELS) == {kind.value for kind in ActorKind}
    source = "\n".join(p.read_text(encoding="utf-8") for p in Path("bridge").glob("*.py"))
    recorded = set(re.findall(r'record\(\s*session,\s*[\w.]+,\s*[\w.]+,\s*"([a-z_]+)"', source))
    assert recorded and recorded <= set(TIMELINE_ACTION_LABELS), recorded - set(TIMELINE_ACTION_LABELS)
