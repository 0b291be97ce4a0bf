"""Customers: type changes (A1), merging duplicates (A2), syncing customers to the ERP (E4).

Every DB test runs on SQLite and PostgreSQL. Orders are inserted as model rows directly: the
order rules live in their own module, and a merge only moves what exists.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select
from typer.testing import CliRunner

from bridge import db as bridge_db
from bridge.actors import CLI_ADMIN, Actor
from bridge.cli import app
from bridge.customers import (
    customer_page,
    edit_customer,
    salesperson_choices,
    create_customer,
    list_customers,
    merge_customers,
    merge_candidates,
    merge_preview,
    resolve_customer,
    set_customer_type,
    update_customer,
)
from bridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from bridge.models import (
    Account,
    Address,
    AuditLog,
    Customer,
    CustomerPrice,
    ErpBinding,
    Inquiry,
    Note,
    Order,
    OrderLine,
    OrderStatus,
    OutboxMessage,
    OutboxStatus,
    ProductGrant,
    ProductHide,
    ProductKind,
    StaffRole,
)
from bridge.outbox import customer_key, enqueue
from tests.conftest import count

ADMIN = Actor.admin(1)


# --------------------------------------------------------------------------- helpers


def _uid() -> str:
    return uuid.uuid4().hex[:12]


def add_account(session: Session, customer: Customer, **kw) -> Account:
    row = Account(customer_id=customer.id, openid=kw.pop("openid", f"o-{_uid()}"), **kw)
    session.add(row)
    session.flush()
    return row


def add_order(session: Session, customer: Customer, product=None, **kw) -> Order:
    order = Order(
        order_no=kw.pop("order_no", f"T-{_uid()}"),
        customer_id=customer.id,
        status=kw.pop("status", OrderStatus.PENDING),
        idempotency_key=kw.pop("idempotency_key", _uid()),
        request_hash="h" * 64,
        **kw,
    )
    session.add(order)
    session.flush()
    if product is not None:
        session.add(
            OrderLine(
                order_id=order.id,
                line_no=1,
                product_id=product.id,
                sku=product.sku,
                name=product.name,
                unit=product.unit,
                quantity=3,
                unit_price=product.price,
                amount=product.price * 3,
            )
        )
        session.flush()
    return order


def add_address(session: Session, customer: Customer, **kw) -> Address:
    row = Address(customer_id=customer.id, recipient="王工", phone="13800000000", detail="工业园 1 号", **kw)
    session.add(row)
    session.flush()
    return row


def add(session: Session, row):
    session.add(row)
    session.flush()
    return row


def queue(session: Session, customer: Customer, kind: str, aggregate_type="customer", aggregate_id=None, payload=None):
    row = enqueue(
        session,
        kind=kind,
        ordering_key=customer_key(customer.id),
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id if aggregate_id is not None else customer.id,
        payload=payload or {"v": kind},
    )
    session.flush()
    return row


def pending_on(session: Session, customer: Customer) -> list[OutboxMessage]:
    return session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.ordering_key == customer_key(customer.id), OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(OutboxMessage.id)
    ).all()


def owner_of(session: Session, model, row_id: int) -> int:
    return session.exec(select(model.customer_id).where(model.id == row_id)).one()


# --------------------------------------------------------------------------- A2: what moves


def test_a2_merge_moves_every_order_account_address_and_grant(session, make):
    survivor, absorbed = make.customer(), make.customer()
    author = make.staff()
    product, custom = make.product(), make.product(ProductKind.CUSTOM)
    account = add_account(session, absorbed)
    order = add_order(session, absorbed, product, account_id=account.id)
    address = add_address(session, absorbed)
    note = add(session, Note(author_id=author.id, customer_id=absorbed.id, body="老客户"))
    inquiry = add(session, Inquiry(customer_id=absorbed.id, body="要 400 的砂轮"))
    grant = add(session, ProductGrant(product_id=custom.id, customer_id=absorbed.id))
    price = add(session, CustomerPrice(product_id=product.id, customer_id=absorbed.id, price=Decimal("9.90")))

    result = merge_customers(session, ADMIN, survivor.id, absorbed.id)

    for model, row in (
        (Account, account),
        (Order, order),
        (Address, address),
        (Note, note),
        (Inquiry, inquiry),
        (ProductGrant, grant),
        (CustomerPrice, price),
    ):
        assert owner_of(session, model, row.id) == survivor.id, model.__name__
    assert result.moved["accounts"] == result.moved["orders"] == result.moved["addresses"] == 1
    assert result.moved["notes"] == result.moved["inquiries"] == result.moved["grants"] == result.moved["prices"] == 1


def test_a2_merge_loses_nothing_rows_before_equal_rows_after(session, make):
    survivor, absorbed = make.customer(), make.customer()
    for customer in (survivor, absorbed):
        for _ in range(2):
            add_account(session, customer)
            add_order(session, customer)
            add_address(session, customer)
    both = (survivor.id, absorbed.id)
    models = (Account, Order, Address)
    before = {m: count(session, m, m.customer_id.in_(both)) for m in models}

    merge_customers(session, ADMIN, survivor.id, absorbed.id)

    assert {m: count(session, m, m.customer_id.in_(both)) for m in models} == before
    assert {m: count(session, m, m.customer_id == survivor.id) for m in models} == before


def test_a2_absorbed_customer_stays_an_alias_that_resolves_to_the_survivor(session, make):
    survivor, absorbed = make.customer(name="锦亨泰五金"), make.customer(name="锦亨泰五金（王）")

    merge_customers(session, ADMIN, survivor.id, absorbed.id)

    alias = session.get(Customer, absorbed.id)
    assert alias.merged_into_id == survivor.id and alias.merged_at is not None
    assert alias.name == "锦亨泰五金（王）"
    assert resolve_customer(session, absorbed.id).id == survivor.id
    assert resolve_customer(session, survivor.id).id == survivor.id


def test_a2_resolving_an_unknown_customer_is_not_found(session):
    with pytest.raises(NotFound) as exc:
        resolve_customer(session, 424242)
    assert "424242" in exc.value.message and "424242" in exc.value.detail


def test_a2_merging_a_customer_with_aliases_repoints_them_to_the_survivor(session, make):
    root, middle, old = make.customer(), make.customer(), make.customer()
    merge_customers(session, ADMIN, middle.id, old.id)

    result = merge_customers(session, ADMIN, root.id, middle.id)

    assert session.get(Customer, old.id).merged_into_id == root.id
    assert result.moved["aliases"] == 1
    assert resolve_customer(session, old.id).id == root.id


def test_a2_preview_counts_what_will_move_and_changes_nothing(session, make):
    survivor, absorbed = make.customer(), make.customer()
    add_account(session, absorbed)
    add_order(session, absorbed)
    add_order(session, absorbed)

    preview = merge_preview(session, ADMIN, survivor.id, absorbed.id)

    assert preview.rows["accounts"] == 1 and preview.rows["orders"] == 2
    assert session.get(Customer, absorbed.id).merged_into_id is None
    assert count(session, AuditLog) == 0


# --------------------------------------------------------------------------- A2: refusals, idempotency


def test_a2_merging_a_customer_into_itself_is_refused(session, make):
    customer = make.customer()
    with pytest.raises(InvalidInput) as exc:
        merge_customers(session, ADMIN, customer.id, customer.id)
    assert "自己" in exc.value.message


def test_a2_merging_into_an_alias_is_refused_naming_its_survivor(session, make):
    root, alias, other = make.customer(), make.customer(), make.customer()
    merge_customers(session, ADMIN, root.id, alias.id)

    with pytest.raises(Conflict) as exc:
        merge_customers(session, ADMIN, alias.id, other.id)

    assert f"客户 {root.id}" in exc.value.message
    assert exc.value.data["survivor_id"] == root.id
    assert session.get(Customer, other.id).merged_into_id is None


def test_a2_absorbed_already_merged_into_another_customer_is_refused(session, make):
    first, second, absorbed = make.customer(), make.customer(), make.customer()
    merge_customers(session, ADMIN, first.id, absorbed.id)

    with pytest.raises(Conflict) as exc:
        merge_customers(session, ADMIN, second.id, absorbed.id)

    assert f"已合并到客户 {first.id}" in exc.value.message
    assert session.get(Customer, absorbed.id).merged_into_id == first.id


def test_a2_merging_an_unknown_customer_is_not_found(session, make):
    customer = make.customer()
    with pytest.raises(NotFound):
        merge_customers(session, ADMIN, customer.id, 999_999)


def test_a2_only_an_admin_may_merge(session, make):
    sales = make.staff()
    survivor, absorbed = make.customer(salesperson_id=sales.id), make.customer(salesperson_id=sales.id)
    for actor in (Actor.sales(sales.id), Actor.customer(survivor.id), Actor.system()):
        with pytest.raises(Forbidden):
            merge_customers(session, actor, survivor.id, absorbed.id)
        with pytest.raises(Forbidden):
            merge_preview(session, actor, survivor.id, absorbed.id)
        with pytest.raises(Forbidden):
            merge_candidates(session, actor, survivor.id)
    assert session.get(Customer, absorbed.id).merged_into_id is None


def test_a2_second_identical_merge_is_flagged_and_changes_nothing(session, make):
    survivor, absorbed = make.customer(), make.customer()
    add_account(session, absorbed)
    merge_customers(session, ADMIN, survivor.id, absorbed.id)
    audits, messages = count(session, AuditLog), count(session, OutboxMessage)

    again = merge_customers(session, ADMIN, survivor.id, absorbed.id)

    assert again.already_merged is True
    assert again.moved == {} and again.dropped == {}
    assert (count(session, AuditLog), count(session, OutboxMessage)) == (audits, messages)


# --------------------------------------------------------------------------- A2: outbox


def test_a2_pending_outbox_rows_follow_the_survivor_in_order_with_rebuilt_payload(session, make):
    sales = make.staff()
    survivor, absorbed = make.customer(name="留下的客户", salesperson_id=sales.id), make.customer(name="被合并的客户")
    product = make.product()
    survivor_row = queue(session, survivor, "order.create", "order", "JHT-20260101-0001")
    order = add_order(session, absorbed, product)
    create = queue(session, absorbed, "order.create", "order", order.order_no, {"customer": {"id": absorbed.id}})
    notice = queue(
        session,
        absorbed,
        "notify.new_order",
        "order",
        order.order_no,
        {"order_no": order.order_no, "customer_id": absorbed.id, "salesperson_id": None},
    )
    release = queue(session, absorbed, "order.release", "order", order.order_no, {"order_no": order.order_no})

    result = merge_customers(session, ADMIN, survivor.id, absorbed.id)

    # The survivor's queue: what it had, then the merge and its fresh upsert, so the ERP knows
    # the customer, then the absorbed customer's messages in their original order.
    rows = pending_on(session, survivor)
    assert rows[0].id == survivor_row.id
    assert [(r.kind, r.aggregate_id) for r in rows[1:]] == [
        ("customer.merge", str(survivor.id)),
        ("customer.upsert", str(survivor.id)),
        ("order.create", order.order_no),
        ("notify.new_order", order.order_no),
        ("order.release", order.order_no),
    ]
    moved_create, moved_notice, moved_release = rows[3:]
    assert moved_create.payload["customer"]["id"] == survivor.id
    assert moved_create.payload["customer"]["name"] == "留下的客户"
    assert moved_create.payload["lines"][0]["sku"] == product.sku
    assert moved_notice.payload == {"order_no": order.order_no, "customer_id": survivor.id, "salesperson_id": sales.id}
    assert moved_release.payload == {"order_no": order.order_no}
    # The originals are kept for the record, pointing at their copies; nothing is pending twice.
    for original, copy in ((create, moved_create), (notice, moved_notice), (release, moved_release)):
        row = session.get(OutboxMessage, original.id)
        assert row.status == OutboxStatus.SUPERSEDED and row.result["moved_to"] == copy.id
    assert pending_on(session, absorbed) == []
    assert result.moved["outbox"] == 3


def test_a2_absorbed_pending_upsert_is_superseded_and_survivor_gets_a_fresh_one(session, make):
    survivor, absorbed = make.customer(), make.customer()
    stale = queue(session, absorbed, "customer.upsert")

    result = merge_customers(session, ADMIN, survivor.id, absorbed.id)

    row = session.get(OutboxMessage, stale.id)
    assert row.status == OutboxStatus.SUPERSEDED
    assert str(survivor.id) in row.last_error and row.result["survivor_id"] == survivor.id
    assert result.dropped["outbox_superseded"] == [stale.id]
    upsert = pending_on(session, survivor)[-1]
    assert upsert.kind == "customer.upsert" and upsert.aggregate_id == str(survivor.id)
    assert upsert.payload["id"] == survivor.id and upsert.payload["merged_ids"] == [absorbed.id]


def test_a2_delivered_outbox_rows_stay_on_the_absorbed_key(session, make):
    survivor, absorbed = make.customer(), make.customer()
    done = queue(session, absorbed, "order.create", "order", "JHT-20260101-0001")
    done.status = OutboxStatus.DELIVERED
    session.flush()

    merge_customers(session, ADMIN, survivor.id, absorbed.id)

    assert session.get(OutboxMessage, done.id).ordering_key == customer_key(absorbed.id)


def test_a2_merge_message_carries_the_absorbed_erp_code_it_had_before(session, make):
    survivor, absorbed = make.customer(), make.customer(erp_code="K-0002")

    merge_customers(session, ADMIN, survivor.id, absorbed.id)

    merge_row = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "customer.merge")).one()
    assert merge_row.ordering_key == customer_key(survivor.id) and merge_row.target == "erp"
    assert merge_row.payload["absorbed"] == {"id": absorbed.id, "erp_code": "K-0002", "name": absorbed.name}
    assert merge_row.payload["survivor"]["id"] == survivor.id


# --------------------------------------------------------------------------- A2: ERP code, fields


def test_a2_survivor_without_erp_code_takes_the_absorbed_code(session, make):
    survivor, absorbed = make.customer(), make.customer(erp_code="K-0002")

    result = merge_customers(session, ADMIN, survivor.id, absorbed.id)

    assert session.get(Customer, survivor.id).erp_code == "K-0002" == result.erp_code
    assert session.get(Customer, absorbed.id).erp_code is None


def test_a2_survivor_keeps_its_own_erp_code_when_both_have_one(session, make):
    survivor, absorbed = make.customer(erp_code="K-0001"), make.customer(erp_code="K-0002")

    merge_customers(session, ADMIN, survivor.id, absorbed.id)

    assert session.get(Customer, survivor.id).erp_code == "K-0001"
    assert session.get(Customer, absorbed.id).erp_code == "K-0002"


def test_a2_rebuilt_order_payload_carries_the_erp_code_the_survivor_took(session, make):
    survivor, absorbed = make.customer(), make.customer(erp_code="K-0002")
    order = add_order(session, absorbed)
    create = queue(session, absorbed, "order.create", "order", order.order_no)

    merge_customers(session, ADMIN, survivor.id, absorbed.id)

    moved = session.get(OutboxMessage, session.get(OutboxMessage, create.id).result["moved_to"])
    assert moved.payload["customer"]["erp_code"] == "K-0002"


def test_a2_erp_binding_follows_when_the_survivor_has_none_for_that_connector(session, make):
    survivor, absorbed = make.customer(), make.customer()
    mine = add(session, ErpBinding(connector="odbc", entity="customer", internal_id=survivor.id, external_id="A"))
    theirs = add(session, ErpBinding(connector="odbc", entity="customer", internal_id=absorbed.id, external_id="B"))
    other = add(session, ErpBinding(connector="soap", entity="customer", internal_id=absorbed.id, external_id="C"))

    merge_customers(session, ADMIN, survivor.id, absorbed.id)

    session.expire_all()
    assert session.get(ErpBinding, mine.id).internal_id == survivor.id
    assert session.get(ErpBinding, theirs.id).internal_id == absorbed.id  # alias keeps it; it resolves
    assert session.get(ErpBinding, other.id).internal_id == survivor.id


def test_a2_empty_survivor_fields_are_filled_from_the_absorbed(session, make):
    sales = make.staff()
    survivor = make.customer(phone="13900000001")
    absorbed = make.customer(phone="13900000002", contact_name="王工", salesperson_id=sales.id)

    merge_customers(session, ADMIN, survivor.id, absorbed.id)

    kept = session.get(Customer, survivor.id)
    assert (kept.phone, kept.contact_name, kept.salesperson_id) == ("13900000001", "王工", sales.id)


def test_a2_clashing_idempotency_key_is_renamed_so_no_order_is_lost(session, make):
    survivor, absorbed = make.customer(), make.customer()
    add_order(session, survivor, idempotency_key="same-key")
    theirs = add_order(session, absorbed, idempotency_key="same-key")

    merge_customers(session, ADMIN, survivor.id, absorbed.id)

    order = session.get(Order, theirs.id)
    assert order.customer_id == survivor.id and order.idempotency_key != "same-key"


def test_a2_survivor_default_address_stays_the_only_default(session, make):
    survivor, absorbed = make.customer(), make.customer()
    mine = add_address(session, survivor, is_default=True)
    theirs = add_address(session, absorbed, is_default=True)

    merge_customers(session, ADMIN, survivor.id, absorbed.id)

    session.expire_all()
    assert session.get(Address, mine.id).is_default is True
    assert session.get(Address, theirs.id).is_default is False


# --------------------------------------------------------------------------- A2: grants, prices, hides


def test_a2_grant_the_survivor_already_has_is_not_duplicated(session, make):
    survivor, absorbed = make.customer(), make.customer()
    shared, only_theirs = make.product(ProductKind.CUSTOM), make.product(ProductKind.CUSTOM)
    add(session, ProductGrant(product_id=shared.id, customer_id=survivor.id))
    add(session, ProductGrant(product_id=shared.id, customer_id=absorbed.id))
    add(session, ProductGrant(product_id=only_theirs.id, customer_id=absorbed.id))

    result = merge_customers(session, ADMIN, survivor.id, absorbed.id)

    granted = session.exec(select(ProductGrant.product_id).where(ProductGrant.customer_id == survivor.id)).all()
    assert sorted(granted) == sorted([shared.id, only_theirs.id])
    assert count(session, ProductGrant, ProductGrant.customer_id == absorbed.id) == 0
    assert result.moved["grants"] == 1 and [d["product_id"] for d in result.dropped["grants"]] == [shared.id]


def test_a2_survivor_price_wins_and_the_dropped_price_is_audited(session, make):
    survivor, absorbed = make.customer(), make.customer()
    product = make.product()
    add(session, CustomerPrice(product_id=product.id, customer_id=survivor.id, price=Decimal("10.00")))
    add(session, CustomerPrice(product_id=product.id, customer_id=absorbed.id, price=Decimal("8.00")))

    merge_customers(session, ADMIN, survivor.id, absorbed.id)

    prices = session.exec(select(CustomerPrice).where(CustomerPrice.product_id == product.id)).all()
    assert [(p.customer_id, p.price) for p in prices] == [(survivor.id, Decimal("10.00"))]
    detail = session.exec(select(AuditLog).where(AuditLog.action == "customer.merge")).one().detail
    assert detail["dropped"]["prices"][0]["product_id"] == product.id
    assert detail["dropped"]["prices"][0]["price"] == "8.00"


def test_a2_a_hide_stays_only_when_both_customers_had_it(session, make):
    survivor, absorbed = make.customer(), make.customer()
    both, only_survivor, only_absorbed = make.product(), make.product(), make.product()
    for customer, product in ((survivor, both), (absorbed, both), (survivor, only_survivor), (absorbed, only_absorbed)):
        add(session, ProductHide(product_id=product.id, customer_id=customer.id))

    result = merge_customers(session, ADMIN, survivor.id, absorbed.id)

    hidden = session.exec(select(ProductHide.customer_id, ProductHide.product_id)).all()
    assert hidden == [(survivor.id, both.id)]
    assert sorted(d["product_id"] for d in result.dropped["hides"]) == sorted([only_survivor.id, only_absorbed.id])


def test_a2_merge_is_audited_with_counts_and_both_erp_codes(session, make):
    survivor, absorbed = make.customer(erp_code="K-1"), make.customer(erp_code="K-2")
    add_account(session, absorbed)
    add_order(session, absorbed)

    merge_customers(session, CLI_ADMIN, survivor.id, absorbed.id)

    row = session.exec(select(AuditLog).where(AuditLog.action == "customer.merge")).one()
    assert (row.actor_id, row.entity, row.entity_id) == ("cli", "customer", str(survivor.id))
    assert row.detail["moved"]["accounts"] == 1 and row.detail["moved"]["orders"] == 1
    assert row.detail["erp_code"] == {"survivor_before": "K-1", "absorbed_before": "K-2", "survivor_after": "K-1"}
    assert row.detail["absorbed"]["id"] == absorbed.id


# --------------------------------------------------------------------------- A2: property


@st.composite
def merge_scenarios(draw):
    """A few customers with random rows, and a random sequence of merges (index n = unknown id)."""
    n = draw(st.integers(2, 5))
    products = st.sets(st.integers(0, 2), max_size=3)
    customers = [
        {
            "accounts": draw(st.integers(0, 2)),
            "orders": draw(st.integers(0, 2)),
            "addresses": draw(st.integers(0, 2)),
            "grants": draw(products),
            "hides": draw(products),
        }
        for _ in range(n)
    ]
    merges = draw(st.lists(st.tuples(st.integers(0, n), st.integers(0, n)), min_size=1, max_size=8))
    # Replaying earlier pairs later on makes "already merged" and "merged elsewhere" common.
    merges += draw(st.lists(st.sampled_from(merges), max_size=3))
    return customers, merges


def _snapshot(session: Session) -> dict:
    session.expire_all()
    owned = {
        m.__name__: sorted(session.exec(select(m.id, m.customer_id)).all())
        for m in (Account, Order, Address, ProductGrant, ProductHide)
    }
    owned["customers"] = sorted(session.exec(select(Customer.id, Customer.merged_into_id, Customer.erp_code)).all())
    owned["audit"] = count(session, AuditLog)
    outbox = select(OutboxMessage.id, OutboxMessage.ordering_key, OutboxMessage.status)
    owned["outbox"] = sorted(session.exec(outbox).all())
    return owned


def _run_merge_scenario(session: Session, make, scenario) -> None:
    spec, merges = scenario
    products = [make.product(ProductKind.CUSTOM) for _ in range(3)]
    ids, accounts, grants, hides = [], {}, {}, {}
    for i, s in enumerate(spec):
        c = make.customer(erp_code=f"K{_uid()}" if i % 2 else None)
        ids.append(c.id)
        accounts[c.id] = {add_account(session, c).id for _ in range(s["accounts"])}
        for _ in range(s["orders"]):
            add_order(session, c)
        for _ in range(s["addresses"]):
            add_address(session, c)
        for p in s["grants"]:
            add(session, ProductGrant(product_id=products[p].id, customer_id=c.id))
        for p in s["hides"]:
            add(session, ProductHide(product_id=products[p].id, customer_id=c.id))
        grants[c.id] = {products[p].id for p in s["grants"]}
        hides[c.id] = {products[p].id for p in s["hides"]}
    unknown = max(ids) + 1000
    parent: dict[int, int | None] = dict.fromkeys(ids)  # a model of who is an alias of whom
    totals = {m: count(session, m) for m in (Account, Order, Address)}

    for i, j in merges:
        s, a = (ids + [unknown])[i], (ids + [unknown])[j]
        before = _snapshot(session)
        if s == a:
            expected = InvalidInput
        elif unknown in (s, a):
            expected = NotFound
        elif parent[s] is not None or (parent[a] is not None and parent[a] != s):
            expected = Conflict
        else:
            expected = "already" if parent[a] == s else "merged"
        event(f"merge outcome: {getattr(expected, '__name__', expected)}")  # --hypothesis-show-statistics
        if expected in ("already", "merged"):
            result = merge_customers(session, ADMIN, s, a)
            assert result.already_merged is (expected == "already")
        else:
            with pytest.raises(expected):
                merge_customers(session, ADMIN, s, a)
        if expected == "merged":
            parent[a] = s
            for x, p in parent.items():
                if p == a:
                    parent[x] = s
            before = _snapshot(session)
            assert merge_customers(session, ADMIN, s, a).already_merged  # a repeat changes nothing
        assert _snapshot(session) == before

    def root(x: int) -> int:
        return x if parent[x] is None else root(parent[x])

    session.expire_all()
    for model in (Account, Order, Address):
        assert count(session, model) == totals[model]
        owners = set(session.exec(select(model.customer_id)).all())
        assert all(session.get(Customer, o).merged_into_id is None for o in owners), model.__name__
    for r in {root(x) for x in ids}:
        members = [x for x in ids if root(x) == r]
        assert all(resolve_customer(session, x).id == r for x in members)
        mine = set(session.exec(select(Account.id).where(Account.customer_id == r)).all())
        assert mine == set().union(*(accounts[x] for x in members))
        granted = set(session.exec(select(ProductGrant.product_id).where(ProductGrant.customer_id == r)).all())
        assert granted == set().union(*(grants[x] for x in members))
        hidden = set(session.exec(select(ProductHide.product_id).where(ProductHide.customer_id == r)).all())
        assert hidden == set.intersection(*(hides[x] for x in members))


# The session fixture is function-scoped and shared by every example: each example runs in a
# savepoint that is rolled back, so examples never see each other's rows on either database.
@settings(
    max_examples=25,
    deadline=None,
    database=None,  # no .hypothesis/ folder in the repo; a failure prints its example anyway
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=merge_scenarios())
def test_a2_any_sequence_of_merges_keeps_every_row_on_a_root_and_loses_nothing(session, make, scenario):
    savepoint = session.begin_nested()
    try:
        _run_merge_scenario(session, make, scenario)
    finally:
        savepoint.rollback()


# --------------------------------------------------------------------------- A1: customer type


def test_a1_admin_changes_customer_type_with_audit_and_upsert(session, make):
    customer = make.customer(type=2)

    change = set_customer_type(session, ADMIN, customer.id, 1)

    assert (change.old_type, change.new_type, change.changed) == (2, 1, True)
    assert session.get(Customer, customer.id).type == 1
    row = session.exec(select(AuditLog).where(AuditLog.action == "customer.type")).one()
    assert row.detail == {"old": 2, "new": 1}
    upsert = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "customer.upsert")).one()
    assert upsert.payload["type"] == 1 and upsert.ordering_key == customer_key(customer.id)


def test_a1_the_customers_own_salesperson_may_change_its_type(session, make):
    sales = make.staff()
    customer = make.customer(type=2, salesperson_id=sales.id)

    assert set_customer_type(session, Actor.sales(sales.id), customer.id, 1).changed


def test_a1_another_salesperson_may_not_change_the_type(session, make):
    mine, other = make.staff(), make.staff()
    customer = make.customer(type=2, salesperson_id=mine.id)

    with pytest.raises(Forbidden) as exc:
        set_customer_type(session, Actor.sales(other.id), customer.id, 1)
    assert "业务员" in exc.value.message
    assert session.get(Customer, customer.id).type == 2


def test_a1_a_customer_may_not_change_its_own_type(session, make):
    customer = make.customer(type=2)
    with pytest.raises(Forbidden):
        set_customer_type(session, Actor.customer(customer.id, 1), customer.id, 1)


def test_a1_setting_the_same_type_writes_nothing(session, make):
    customer = make.customer(type=2)

    change = set_customer_type(session, ADMIN, customer.id, 2)

    assert change.changed is False
    assert count(session, AuditLog) == 0 and count(session, OutboxMessage) == 0


def test_a1_type_change_leaves_open_orders_alone_and_counts_the_unreleased(session, make):
    customer = make.customer(type=2)
    waiting = add_order(session, customer)
    add_order(session, customer, status=OrderStatus.AWAITING_SHIPMENT)
    add_order(session, customer, released=True)
    add_order(session, customer, status=OrderStatus.CANCELLED)

    change = set_customer_type(session, ADMIN, customer.id, 1)

    assert change.unreleased_open_orders == 2
    assert change.notice == "还有 2 个未放行的订单需要业务员确认收款"
    assert session.get(Order, waiting.id).released is False


def test_a1_a_type_other_than_1_or_2_is_refused(session, make):
    customer = make.customer()
    for bad in (0, 3, True, "1"):
        with pytest.raises(InvalidInput):
            set_customer_type(session, ADMIN, customer.id, bad)


# --------------------------------------------------------------------------- E4: create / update


def test_e4_creating_a_customer_queues_its_upsert_to_the_erp(session, make):
    sales = make.staff()

    customer = create_customer(
        session, ADMIN, name=" 锦亨泰五金 ", type=1, salesperson_id=sales.id, phone="13800000000"
    )

    assert customer.name == "锦亨泰五金"
    row = session.exec(select(OutboxMessage)).one()
    assert (row.kind, row.target, row.ordering_key) == ("customer.upsert", "erp", customer_key(customer.id))
    assert (row.aggregate_type, row.aggregate_id) == ("customer", str(customer.id))
    assert row.payload["name"] == "锦亨泰五金" and row.payload["salesperson"]["username"] == sales.username
    assert session.exec(select(AuditLog.action)).all() == ["customer.create"]


def test_e4_updating_a_customer_queues_an_upsert_with_the_change(session, make):
    customer = make.customer(phone="13800000000")

    update_customer(session, ADMIN, customer.id, phone="13900000000", contact_name="李经理")

    row = session.exec(select(OutboxMessage)).one()
    assert row.kind == "customer.upsert" and row.payload["phone"] == "13900000000"
    assert row.payload["contact_name"] == "李经理"
    audit_row = session.exec(select(AuditLog)).one()
    assert audit_row.detail["phone"] == ["13800000000", "13900000000"]


def test_e4_an_update_that_changes_nothing_writes_nothing(session, make):
    customer = make.customer(name="锦亨泰")

    update_customer(session, ADMIN, customer.id, name="锦亨泰")

    assert count(session, OutboxMessage) == 0 and count(session, AuditLog) == 0


def test_s3_another_salesperson_may_not_update_a_customer(session, make):
    mine, other = make.staff(), make.staff()
    customer = make.customer(salesperson_id=mine.id)
    with pytest.raises(Forbidden):
        update_customer(session, Actor.sales(other.id), customer.id, name="改名")


@pytest.mark.parametrize(
    "kw",
    [
        {"name": "  "},
        {"name": "砂" * 129},
        {"type": 3},
        {"salesperson_id": 999_999},
        {"phone": "1" * 33},
    ],
    ids=["empty-name", "long-name", "type-3", "unknown-salesperson", "long-phone"],
)
def test_s2_invalid_customer_is_refused_with_a_chinese_message(session, kw):
    """The refusal names its field too, so a form shows it beside that field (A8)."""
    args = {"name": "锦亨泰", "type": 2, **kw}
    with pytest.raises(InvalidInput) as exc:
        create_customer(session, ADMIN, **args)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in exc.value.message)
    assert exc.value.data["field"] == next(iter(kw))
    assert count(session, Customer) == 0


def test_a10_the_salespeople_to_choose_from_are_those_the_check_accepts(session, make):
    sales, admin = make.staff(), make.staff(StaffRole.ADMIN)
    make.staff(active=False)

    choices = salesperson_choices(session)

    assert [u.id for u in choices] == [sales.id, admin.id]  # salespeople first, the inactive left out
    for user in choices:
        assert create_customer(session, ADMIN, name=f"客户{user.id}", type=2, salesperson_id=user.id)


def test_a8_edit_customer_saves_data_type_and_erp_code_together(session, make):
    customer = make.customer(type=1)

    edit = edit_customer(session, ADMIN, customer.id, type=2, erp_code="C0012", connector="filedrop", name="新名字")

    assert (customer.name, customer.type, customer.erp_code) == ("新名字", 2, "C0012")
    assert edit.type_change.changed and edit.erp_code_change.changed
    actions = set(session.exec(select(AuditLog.action)).all())
    assert actions == {"customer.update", "customer.type", "customer.erp_code"}


def test_a8_edit_customer_out_of_scope_is_not_found(session, make):
    mine, other = make.staff(), make.staff()
    customer = make.customer(salesperson_id=mine.id)
    with pytest.raises(NotFound):
        edit_customer(session, Actor.sales(other.id), customer.id, type=2, name="改名")


def test_a11_a_salesperson_may_not_link_an_erp_code_through_the_form(session, make):
    sales = make.staff()
    customer = make.customer(salesperson_id=sales.id)
    with pytest.raises(Forbidden):
        edit_customer(session, Actor.sales(sales.id), customer.id, type=2, erp_code="C1", connector="filedrop")


def test_a2_admins_list_merged_customers_only_when_asked(session, make):
    sales = make.staff()
    survivor, absorbed = make.customer(salesperson_id=sales.id), make.customer(salesperson_id=sales.id)
    merge_customers(session, ADMIN, survivor.id, absorbed.id)

    assert [r.customer.id for r in customer_page(session, ADMIN).items] == [survivor.id]
    both = customer_page(session, ADMIN, include_merged=True).items
    assert [r.customer.id for r in both] == [survivor.id, absorbed.id]
    with pytest.raises(Forbidden):
        customer_page(session, Actor.sales(sales.id), include_merged=True)


def test_a2_merge_candidates_leave_out_the_survivor(session, make):
    survivor, other = make.customer(name="锦亨泰"), make.customer(name="锦亨泰重复")

    found_survivor, found = merge_candidates(session, ADMIN, survivor.id, search="锦亨泰")

    assert found_survivor.id == survivor.id
    assert [r.customer.id for r in found.items] == [other.id]


def test_a10_an_inactive_or_non_sales_staff_user_cannot_be_the_salesperson(session, make):
    inactive = make.staff(active=False)
    with pytest.raises(InvalidInput) as exc:
        create_customer(session, ADMIN, name="锦亨泰", type=2, salesperson_id=inactive.id)
    assert "停用" in exc.value.message
    admin = make.staff(StaffRole.ADMIN)
    assert create_customer(session, ADMIN, name="锦亨泰", type=2, salesperson_id=admin.id).salesperson_id == admin.id


def test_a7_a_salesperson_creating_a_customer_becomes_its_salesperson(session, make):
    sales = make.staff()
    customer = create_customer(session, Actor.sales(sales.id), name="新客户", type=2)
    assert customer.salesperson_id == sales.id


def test_a2_customer_list_hides_aliases_and_searches_account_phones(session, make):
    survivor, absorbed = make.customer(name="锦亨泰"), make.customer(name="锦亨泰2")
    other = make.customer(name="别家")
    add_account(session, survivor, phone="13812345678")
    merge_customers(session, ADMIN, survivor.id, absorbed.id)

    assert [r.customer.id for r in list_customers(session)] == [survivor.id, other.id]
    assert len(list_customers(session, include_merged=True)) == 3
    assert [r.customer.id for r in list_customers(session, search="1234")] == [survivor.id]
    assert [r.accounts for r in list_customers(session, search="锦亨泰")] == [1]


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def cli_setup(tmp_path):
    """A config made by `jht-bridge init`, and an engine on its SQLite database."""
    runner = CliRunner()
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    engine = bridge_db.make_engine(f"sqlite:///{tmp_path / 'bridge.db'}")
    yield runner, ["--config", str(tmp_path / "bridge.toml")], engine
    engine.dispose()


def _two_customers(engine) -> tuple[int, int]:
    with bridge_db.session_scope(engine) as session:
        survivor, absorbed = Customer(name="锦亨泰五金", erp_code="K-1"), Customer(name="锦亨泰五金（王）")
        session.add_all([survivor, absorbed])
        session.flush()
        add_account(session, absorbed)
        add_order(session, absorbed)
        return survivor.id, absorbed.id


def test_a2_cli_merge_with_yes_merges_and_prints_what_moved(cli_setup):
    runner, config, engine = cli_setup
    s, a = _two_customers(engine)

    result = runner.invoke(app, [*config, "customers", "merge", str(s), str(a), "--yes"])

    assert result.exit_code == 0, result.output
    assert f"merged customer {a} into customer {s}" in result.output
    assert "1 accounts" in result.output and "1 orders" in result.output
    with Session(engine) as session:
        assert session.get(Customer, a).merged_into_id == s
        assert count(session, Account, Account.customer_id == s) == 1


def test_a2_cli_merge_refusal_exits_1_with_the_reason(cli_setup):
    runner, config, engine = cli_setup
    s, _ = _two_customers(engine)

    result = runner.invoke(app, [*config, "customers", "merge", str(s), str(s), "--yes"])

    assert result.exit_code == 1
    assert "into itself" in result.output
    assert "Traceback" not in result.output


def test_a2_cli_merge_asks_first_and_a_no_changes_nothing(cli_setup):
    runner, config, engine = cli_setup
    s, a = _two_customers(engine)

    result = runner.invoke(app, [*config, "customers", "merge", str(s), str(a)], input="n\n")

    assert result.exit_code == 1
    assert "锦亨泰五金（王）" in result.output and "will move" in result.output
    with Session(engine) as session:
        assert session.get(Customer, a).merged_into_id is None


def test_a2_cli_second_merge_says_nothing_to_do(cli_setup):
    runner, config, engine = cli_setup
    s, a = _two_customers(engine)
    runner.invoke(app, [*config, "customers", "merge", str(s), str(a), "--yes"])

    result = runner.invoke(app, [*config, "customers", "merge", str(s), str(a), "--yes"])

    assert result.exit_code == 0 and "already merged" in result.output


def test_a1_cli_set_type_reports_the_change_and_waiting_orders(cli_setup):
    runner, config, engine = cli_setup
    _, a = _two_customers(engine)

    result = runner.invoke(app, [*config, "customers", "set-type", str(a), "1"])

    assert result.exit_code == 0, result.output
    assert "type 2 → 1" in result.output and "还有 1 个未放行的订单" in result.output
    assert runner.invoke(app, [*config, "customers", "set-type", str(a), "3"]).exit_code == 2


def test_cli_customer_list_shows_customers_erp_codes_and_counts(cli_setup):
    runner, config, engine = cli_setup
    _two_customers(engine)

    result = runner.invoke(app, [*config, "customers", "list", "--search", "锦亨泰"])

    assert result.exit_code == 0, result.output
    assert "锦亨泰五金（王）" in result.output and "K-1" in result.output
    assert "2 customer(s)" in result.output
