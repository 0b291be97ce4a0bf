"""Visibility (C2, A3): one rule for every combination of kind × grant × hide."""

from __future__ import annotations

import itertools

import pytest
from sqlmodel import select

from bridge.errors import NotFound
from bridge.models import CustomerType, Product, ProductGrant, ProductHide, ProductKind
from bridge.visibility import get_visible_product, is_visible, visible_to

KINDS = [ProductKind.STANDARD, ProductKind.CUSTOM]
GRANTS = ["none", "this_customer", "other_customer", "this_type", "other_type"]
HIDES = ["none", "this_customer", "other_customer"]
COMBOS = list(itertools.product(KINDS, GRANTS, HIDES, [True, False]))


def expected_visible(kind, grant, hide, active) -> bool:
    if not active or hide == "this_customer":
        return False
    return kind == ProductKind.STANDARD or grant in ("this_customer", "this_type")


@pytest.mark.parametrize(
    "kind,grant,hide,active",
    COMBOS,
    ids=[f"{k.value}-grant_{g}-hide_{h}-{'active' if a else 'inactive'}" for k, g, h, a in COMBOS],
)
def test_c2_a3_visibility_for_every_combination(session, make, kind, grant, hide, active):
    me = make.customer(type=CustomerType.TYPE_1)
    other = make.customer(type=CustomerType.TYPE_2)
    product = make.product(kind=kind, active=active)
    if grant in ("this_customer", "other_customer"):
        session.add(ProductGrant(product_id=product.id, customer_id=(me if grant == "this_customer" else other).id))
    elif grant in ("this_type", "other_type"):
        session.add(ProductGrant(product_id=product.id, customer_type=1 if grant == "this_type" else 2))
    if hide != "none":
        session.add(ProductHide(product_id=product.id, customer_id=(me if hide == "this_customer" else other).id))
    session.flush()

    want = expected_visible(kind, grant, hide, active)
    # The same answer for a single check, a listing and a lookup by id or sku.
    assert is_visible(session, me, product.id) is want
    listed = session.exec(select(Product.id).where(visible_to(me))).all()
    assert (product.id in listed) is want
    if want:
        assert get_visible_product(session, me, product.id).id == product.id
        assert get_visible_product(session, me, sku=product.sku).id == product.id
    else:
        with pytest.raises(NotFound) as hidden:
            get_visible_product(session, me, product.id)
        with pytest.raises(NotFound) as missing:
            get_visible_product(session, me, 999_999)
        # A denied product is indistinguishable from one that does not exist.
        assert hidden.value.message == missing.value.message


def test_c2_custom_product_granted_to_one_customer_is_invisible_to_the_rest(session, make):
    owner, stranger = make.customer(), make.customer()
    custom = make.product(kind=ProductKind.CUSTOM)
    standard = make.product()
    session.add(ProductGrant(product_id=custom.id, customer_id=owner.id))
    session.flush()
    assert set(session.exec(select(Product.id).where(visible_to(owner))).all()) == {custom.id, standard.id}
    assert set(session.exec(select(Product.id).where(visible_to(stranger))).all()) == {standard.id}


def test_a2_a_merged_away_customer_has_no_catalog_of_its_own(session, make):
    survivor = make.customer()
    alias = make.customer(merged_into_id=survivor.id)
    with pytest.raises(ValueError):
        visible_to(alias)
