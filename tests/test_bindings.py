"""Bindings (A11, E4): the ERP's code for a customer is recorded in one place, for the
dispatcher's answers and the inbox's events alike; a code belongs to one customer."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bridge.bindings import CodeTaken, bind_customer_code, root_customer
from bridge.models import Customer, ErpBinding


def _bindings(session):
    return session.exec(select(ErpBinding.connector, ErpBinding.internal_id, ErpBinding.external_id)).all()


def test_a11_a_code_is_kept_on_the_customer_and_in_the_connectors_binding(session, make):
    customer = make.customer()
    change = bind_customer_code(session, "odbc", customer, "K-001")
    assert (change.previous, change.code) == (None, "K-001")
    assert customer.erp_code == "K-001" and _bindings(session) == [("odbc", customer.id, "K-001")]
    assert bind_customer_code(session, "odbc", customer, "K-001") is None  # the same answer again
    renamed = bind_customer_code(session, "odbc", customer, "K-002")
    assert renamed.previous == "K-001" and _bindings(session) == [("odbc", customer.id, "K-002")]


def test_a11_a_code_held_only_by_another_customers_binding_is_refused_and_nothing_written(session, make):
    holder, customer = make.customer(), make.customer()
    session.add(ErpBinding(connector="odbc", entity="customer", internal_id=holder.id, external_id="K-001"))
    session.flush()
    with pytest.raises(CodeTaken) as taken:
        bind_customer_code(session, "odbc", customer, "K-001")
    assert f"customer {holder.id}" in taken.value.detail and "K-001" in taken.value.detail
    session.flush()
    assert session.get(Customer, customer.id).erp_code is None
    assert _bindings(session) == [("odbc", holder.id, "K-001")]


def test_a2_an_erp_answer_for_a_merged_away_customer_resolves_to_its_survivor(session, make):
    survivor = make.customer()
    alias = make.customer(merged_into_id=survivor.id)
    assert root_customer(session, alias.id).id == survivor.id
    assert root_customer(session, 999_999) is None
