"""The rules that used to live in the HTTP handlers, asked of the services in ``bridge/`` directly
(issue #11): the same answers whichever front end calls — the API, the admin pages, the CLI."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bridge import accounts, addresses, customers, inquiries, notes, products, scope, statemachine, users
from bridge.actors import Actor
from bridge.config import CustomersSection
from bridge.errors import Conflict, Forbidden, InvalidInput, NotFound, NotSignedIn
from bridge.models import (
    Account,
    Address,
    InquiryStatus,
    Order,
    OrderStatus,
    ProductGrant,
    ProductKind,
    StaffRole,
)
from bridge.types import utcnow
from bridge.users import hash_password


def _order(session, customer, n: int = 1, **kw) -> Order:
    kw = {"status": OrderStatus.PENDING, "released": False} | kw
    order = Order(
        order_no=f"JHT-T-{customer.id}-{n}",
        customer_id=customer.id,
        idempotency_key=f"k-{customer.id}-{n}",
        request_hash="x" * 64,
        ship_to={},
        **kw,
    )
    session.add(order)
    session.flush()
    return order


def _address(**kw) -> addresses.AddressInput:
    return addresses.AddressInput(**({"recipient": "王工", "phone": "13800138000", "detail": "厂区 1 号"} | kw))


# --------------------------------------------------------------------------- addresses (C13)


def test_c13_addresses_keep_one_default_a_limit_and_soft_deletes(session, make):
    customer = make.customer()
    me = Actor.customer(customer.id)
    first = addresses.add_address(session, me, customer, _address(is_default=True))
    second = addresses.add_address(session, me, customer, _address(recipient="李工", is_default=True))
    session.refresh(first)
    assert (first.is_default, second.is_default) == (False, True)  # one default: the new one took it
    assert [a.id for a in addresses.list_addresses(session, me, customer)] == [second.id, first.id]

    addresses.delete_address(session, me, customer, second.id)
    assert [a.id for a in addresses.list_addresses(session, me, customer)] == [first.id]
    assert session.get(Address, second.id).deleted  # kept: orders carry their own copy
    with pytest.raises(NotFound):
        addresses.get_address(session, me, customer, second.id)

    for n in range(addresses.MAX_ADDRESSES - 1):
        addresses.add_address(session, me, customer, _address(detail=f"仓库 {n}"))
    with pytest.raises(InvalidInput) as full:
        addresses.add_address(session, me, customer, _address())
    assert "最多 50 个" in full.value.message


def test_c13_another_customers_address_is_like_a_missing_one(session, make):
    mine, theirs = make.customer(), make.customer()
    their_address = addresses.add_address(session, Actor.customer(theirs.id), theirs, _address())
    with pytest.raises(NotFound):
        addresses.get_address(session, Actor.customer(mine.id), mine, their_address.id)
    with pytest.raises(Forbidden):  # and nobody edits another customer's book
        addresses.add_address(session, Actor.customer(mine.id), theirs, _address())
    with pytest.raises(InvalidInput):
        addresses.add_address(session, Actor.customer(mine.id), mine, _address(recipient="  "))


# --------------------------------------------------------------------------- accounts (C10) and sign-in (S1)


def test_c10_a_first_wechat_login_makes_the_account_and_a_customer_of_the_invite_salesperson(session, make):
    sales = make.staff(invite_code="INV-LI")
    default = make.staff(username="fallback")
    settings = CustomersSection(default_type=2, default_salesperson="fallback")
    first = accounts.wechat_login(session, "openid-0001", None, invite="INV-LI", settings=settings)
    assert first.created and first.customer.salesperson_id == sales.id and first.customer.type == 2
    again = accounts.wechat_login(session, "openid-0001", None, invite=None, settings=settings)
    assert not again.created and again.account.id == first.account.id
    stranger = accounts.wechat_login(session, "openid-0002", None, invite="NO-SUCH", settings=settings)
    assert stranger.customer.salesperson_id == default.id  # an unknown invite: the default salesperson


def test_s1_staff_sign_in_answers_a_wrong_name_and_a_wrong_password_alike(session, make):
    make.staff(username="lina", password_hash=hash_password("Correct-Horse-88"))
    gone = make.staff(username="left", password_hash=hash_password("Correct-Horse-88"), active=False)
    assert users.sign_in(session, " lina ", "Correct-Horse-88").username == "lina"
    answers = []
    for username, password in (("lina", "wrong-password"), ("nobody", "Correct-Horse-88")):
        with pytest.raises(NotSignedIn) as refused:
            users.sign_in(session, username, password)
        answers.append((refused.value.code, refused.value.message))
    assert answers[0] == answers[1] == ("bad_credentials", users.BAD_LOGIN)
    with pytest.raises(NotSignedIn) as disabled:
        users.sign_in(session, "left", "Correct-Horse-88")
    assert disabled.value.code == "account_disabled"
    with pytest.raises(NotSignedIn):
        users.current_staff(session, gone.id)


def test_c3_a_customer_without_an_active_salesperson_is_answered_by_the_first_admin(session, make):
    admin = make.staff(StaffRole.ADMIN)
    sales = make.staff()
    customer = make.customer(salesperson_id=sales.id)
    assert users.contact_for(session, customer).id == sales.id
    sales.active = False
    session.flush()
    assert users.contact_for(session, customer).id == admin.id
    assert users.contact_for(session, make.customer()).id == admin.id


# --------------------------------------------------------------------------- scope (S3)


def test_s3_one_scope_rule_for_customers_orders_and_inquiries(session, make):
    mine_sales, other_sales, admin = make.staff(), make.staff(), make.staff(StaffRole.ADMIN)
    mine = make.customer(salesperson_id=mine_sales.id)
    theirs = make.customer(salesperson_id=other_sales.id)
    order = _order(session, theirs)
    inquiry = inquiries.create_inquiry(session, Actor.customer(theirs.id), theirs, "要一种 500 外径的砂轮")
    me = Actor.sales(mine_sales.id)
    for look in (
        lambda: customers.customer_for(session, me, theirs.id),
        lambda: scope.order_for(session, me, order.order_no),
        lambda: scope.inquiry_for(session, me, inquiry.id),
        lambda: scope.order_for(session, Actor.customer(mine.id), order.order_no),
    ):
        with pytest.raises(NotFound):
            look()
    assert scope.order_for(session, Actor.admin(admin.id), order.order_no).id == order.id
    assert customers.customer_for(session, me, mine.id).id == mine.id


def test_s3_the_staff_customer_list_is_scoped_and_paged_in_sql(session, make):
    sales, other = make.staff(), make.staff()
    own = [make.customer(salesperson_id=sales.id, name=f"本厂{n:02d}") for n in range(25)]
    make.customer(salesperson_id=other.id, name="本厂 别人")
    first = customers.customer_page(session, Actor.sales(sales.id), page=1)
    second = customers.customer_page(session, Actor.sales(sales.id), page=2)
    assert first.total == second.total == 25 and len(first.items) == 20 and len(second.items) == 5
    assert {r.customer.id for r in first.items + second.items} == {c.id for c in own}
    found = customers.customer_page(session, Actor.sales(sales.id), search="本厂 别")
    assert found.total == 0


def test_a7_only_admins_give_a_customer_to_another_salesperson(session, make):
    sales, other = make.staff(), make.staff()
    with pytest.raises(Forbidden):
        customers.create_customer(session, Actor.sales(sales.id), name="新客户", type=2, salesperson_id=other.id)
    customer = customers.create_customer(session, Actor.sales(sales.id), name="新客户", type=2)
    assert customer.salesperson_id == sales.id
    with pytest.raises(Forbidden):
        customers.update_customer(session, Actor.sales(sales.id), customer.id, salesperson_id=other.id)


# --------------------------------------------------------------------------- products (A3, A7, C4)


def test_a7_a_salesperson_makes_custom_products_only_and_a_sku_once(session, make):
    sales = make.staff()
    values = {"sku": "CU-001", "name": "定制砂轮", "price": "88.50", "unit": "片"}
    with pytest.raises(Forbidden):
        products.create_product(session, Actor.sales(sales.id), values, ProductKind.STANDARD)
    made = products.create_product(session, Actor.sales(sales.id), values)
    assert made.kind == ProductKind.CUSTOM and made.created_by_id == sales.id and str(made.price) == "88.50"
    with pytest.raises(Conflict):
        products.create_product(session, Actor.sales(sales.id), values | {"name": "另一个"})
    with pytest.raises(InvalidInput) as bad:  # the catalog import's own column rule
        products.create_product(session, Actor.sales(sales.id), values | {"sku": "CU-002", "outer_diameter_mm": "-5"})
    assert bad.value.data["field"] == "outer_diameter_mm"


def test_a3_grants_are_for_custom_products_and_the_granters_own_customers(session, make):
    sales, other = make.staff(), make.staff()
    mine, theirs = make.customer(salesperson_id=sales.id), make.customer(salesperson_id=other.id)
    custom = make.product(ProductKind.CUSTOM, created_by_id=sales.id)
    standard = make.product()
    me = Actor.sales(sales.id)
    grant = products.grant_product(session, me, custom.id, mine.id)
    assert grant.created and grant.visible_to_customer
    assert not products.grant_product(session, me, custom.id, mine.id).created  # again: nothing changes
    with pytest.raises(InvalidInput):
        products.grant_product(session, me, standard.id, mine.id)
    with pytest.raises(NotFound):
        products.grant_product(session, me, custom.id, theirs.id)
    assert len(session.exec(select(ProductGrant).where(ProductGrant.product_id == custom.id)).all()) == 1


def test_c4_a_scan_finds_the_product_by_either_scanner_and_hides_what_the_customer_may_not_see(session, make):
    from bridge.models import ProductQR

    customer = make.customer()
    product, hidden = make.product(), make.product(ProductKind.CUSTOM)
    session.add_all(
        [
            ProductQR(product_id=product.id, payload="JHT:WA-1", marking="M1"),
            ProductQR(product_id=hidden.id, payload="JHT:CU-9"),
        ]
    )
    session.flush()
    assert products.scan(session, Actor.customer(customer.id), customer, "JHT:WA-1").product.product.id == product.id
    wechat = "https://shop.example/p?q=JHT%3AWA-1"
    assert products.scan(session, Actor.customer(customer.id), customer, wechat).qr.marking == "M1"
    for payload in ("JHT:CU-9", "JHT:NOPE"):
        with pytest.raises(NotFound) as unknown:
            products.scan(session, Actor.customer(customer.id), customer, payload)
        assert unknown.value.code == "unknown_qr"


# --------------------------------------------------------------------------- inquiries (C11), notes (A6)


def test_c11_an_inquiry_reaches_its_salesperson_who_handles_it_once(session, make):
    sales, other = make.staff(), make.staff()
    customer = make.customer(salesperson_id=sales.id)
    with pytest.raises(InvalidInput):
        inquiries.create_inquiry(session, Actor.customer(customer.id), customer, "   ")
    row = inquiries.create_inquiry(session, Actor.customer(customer.id), customer, "  需要 350 外径的定制砂轮 ")
    assert row.body == "需要 350 外径的定制砂轮"
    assert inquiries.inquiry_page(session, Actor.sales(other.id)).total == 0
    page = inquiries.inquiry_page(session, Actor.sales(sales.id), status=InquiryStatus.OPEN)
    assert [v.inquiry.id for v in page.items] == [row.id]
    handled = inquiries.handle_inquiry(session, Actor.sales(sales.id), row.id)
    at = handled.inquiry.handled_at
    assert handled.inquiry.status == InquiryStatus.HANDLED and handled.handled_by == sales.display_name
    assert inquiries.handle_inquiry(session, Actor.sales(sales.id), row.id).inquiry.handled_at == at
    with pytest.raises(NotFound):
        inquiries.handle_inquiry(session, Actor.sales(other.id), row.id)


def test_c11_one_inquiry_for_the_admin_pages_is_found_in_scope_only(session, make):
    sales, other, admin = make.staff(), make.staff(), make.staff(StaffRole.ADMIN)
    customer = make.customer(salesperson_id=sales.id)
    row = inquiries.create_inquiry(session, Actor.customer(customer.id), customer, "需要 350 外径的定制砂轮")
    inquiries.answer_inquiry(session, Actor.sales(sales.id), row.id, "可以做")
    view = inquiries.inquiry_detail(session, Actor.sales(sales.id), row.id)
    assert (view.inquiry.id, view.customer.id, view.answered_by, view.handled_by) == (
        row.id,
        customer.id,
        sales.display_name,
        sales.display_name,
    )
    assert inquiries.inquiry_detail(session, Actor.admin(admin.id), row.id).inquiry.id == row.id
    for outsider in (Actor.sales(other.id), Actor.customer(customer.id)):
        with pytest.raises((NotFound, Forbidden)):
            inquiries.inquiry_detail(session, outsider, row.id)


def test_a6_notes_are_staffs_within_scope_and_never_blank(session, make):
    sales, other = make.staff(), make.staff()
    customer = make.customer(salesperson_id=sales.id)
    order = _order(session, customer)
    with pytest.raises(InvalidInput):
        notes.add_note(session, Actor.sales(sales.id), " \n ", customer)
    with pytest.raises(Forbidden):
        notes.add_note(session, Actor.sales(other.id), "跟进", customer)
    with pytest.raises(Forbidden):
        notes.add_note(session, Actor.customer(customer.id), "我自己写", customer)
    notes.add_note(session, Actor.sales(sales.id), "已电话联系", customer)
    on_order = notes.add_note(session, Actor.sales(sales.id), "周五发货", customer, order)
    assert [v.note.body for v in notes.notes_on(session, customer=customer)] == ["已电话联系"]
    assert on_order.author == sales.display_name and on_order.note.order_id == order.id


# --------------------------------------------------------------------------- what a reader may do now (A1, A6, C9, C13)


def test_a6_what_an_order_offers_is_what_the_state_machine_allows(session, make):
    from bridge.orders import order_details

    sales, other = make.staff(), make.staff()
    customer = make.customer(salesperson_id=sales.id)
    order = _order(session, customer, status=OrderStatus.PENDING, released=False)
    notes.add_note(session, Actor.sales(sales.id), "内部备注", customer, order)
    as_customer = order_details(session, Actor.customer(customer.id), order)
    as_sales = order_details(session, Actor.sales(sales.id), order)
    assert (as_customer.can_cancel, as_customer.can_confirm_receipt, as_customer.notes) == (True, False, [])
    assert as_sales.can_release and [n.note.body for n in as_sales.notes] == ["内部备注"]
    assert statemachine.may(order, Actor.sales(other.id), statemachine.RELEASE) is not None
    assert statemachine.awaits_payment(order)

    statemachine.release(session, order, Actor.sales(sales.id))
    after = order_details(session, Actor.customer(customer.id), order)
    assert not after.can_cancel  # released to production: the customer asks the salesperson (C13)
    assert not order_details(session, Actor.sales(sales.id), order).can_release
    assert not statemachine.awaits_payment(order)

    order.status, order.updated_at = OrderStatus.SHIPPED, utcnow()
    session.flush()
    assert order_details(session, Actor.customer(customer.id), order).can_confirm_receipt
    assert session.exec(select(Account)).all() == []


def test_c1_both_catalogs_search_percent_and_underscore_as_themselves(session, make):
    customer, admin = make.customer(), make.staff(StaffRole.ADMIN)
    plain = make.product(sku="WA-400", name="平形砂轮 400")
    odd = make.product(sku="WA_50%", name="砂轮 50%")
    for q, found in (("%", [odd.id]), ("_", [odd.id]), ("WA-", [plain.id]), ("砂轮", [plain.id, odd.id])):
        as_customer = products.customer_catalog(session, Actor.customer(customer.id), customer, q=q)
        as_staff = products.staff_catalog(session, Actor.admin(admin.id), q=q)
        assert sorted(p.product.id for p in as_customer.items) == sorted(found), q
        assert sorted(p.id for p in as_staff.items) == sorted(found), q


# --------------------------------------------------------------------------- the rest of a product's life (A3, A4, A7, A9)


def test_a7_a_salesperson_edits_the_custom_products_they_made_and_nothing_else(session, make):
    sales, other, admin = make.staff(), make.staff(), make.staff(StaffRole.ADMIN)
    mine = make.product(ProductKind.CUSTOM, created_by_id=sales.id, sku="CU-MINE")
    theirs = make.product(ProductKind.CUSTOM, created_by_id=other.id, sku="CU-THEIRS")
    customer = make.customer(salesperson_id=sales.id)
    session.add(ProductGrant(product_id=theirs.id, customer_id=customer.id))  # visible to me through my customer
    standard = make.product(sku="WA-STD")
    me = Actor.sales(sales.id)
    changed = products.update_product(session, me, mine.id, {"name": "  恒达专用砂轮 ", "marking": "", "active": False})
    assert (changed.name, changed.marking, changed.active) == ("恒达专用砂轮", None, False)
    for product in (theirs, standard):
        with pytest.raises(Forbidden):
            products.update_product(session, me, product.id, {"name": "改名"})
    with pytest.raises(Forbidden):
        products.update_product(session, me, mine.id, {"kind": "standard"})
    with pytest.raises(Conflict):
        products.update_product(session, Actor.admin(admin.id), standard.id, {"sku": "CU-MINE"})
    with pytest.raises(InvalidInput):
        products.update_product(session, Actor.admin(admin.id), standard.id, {"price": ""})
    assert (
        products.update_product(session, Actor.admin(admin.id), standard.id, {"kind": "custom"}).kind
        == ProductKind.CUSTOM
    )


def test_a3_type_grants_are_an_admins_and_hides_win_over_grants(session, make):
    from bridge.visibility import is_visible

    sales, admin = make.staff(), make.staff(StaffRole.ADMIN)
    type1 = make.customer(type=1, salesperson_id=sales.id)
    type2 = make.customer(type=2, salesperson_id=sales.id)
    wheel = make.product(ProductKind.CUSTOM, created_by_id=sales.id)
    with pytest.raises(Forbidden):
        products.grant_to_type(session, Actor.sales(sales.id), wheel.id, 1)
    assert products.grant_to_type(session, Actor.admin(admin.id), wheel.id, 1)
    assert not products.grant_to_type(session, Actor.admin(admin.id), wheel.id, 1)  # again: nothing new
    assert is_visible(session, type1, wheel.id) and not is_visible(session, type2, wheel.id)

    assert products.hide_product(session, Actor.sales(sales.id), wheel.id, type1.id)
    assert not is_visible(session, type1, wheel.id)  # the hide wins over the type's grant
    assert not products.hide_product(session, Actor.sales(sales.id), wheel.id, type1.id)
    assert products.hide_product(session, Actor.sales(sales.id), wheel.id, type1.id, hidden=False)
    assert is_visible(session, type1, wheel.id)

    assert products.revoke_grant(session, Actor.admin(admin.id), wheel.id, customer_type=1)
    assert not is_visible(session, type1, wheel.id)
    products.grant_product(session, Actor.sales(sales.id), wheel.id, type2.id)
    assert products.revoke_grant(session, Actor.sales(sales.id), wheel.id, customer_id=type2.id)
    assert not products.revoke_grant(session, Actor.sales(sales.id), wheel.id, customer_id=type2.id)


def test_a9_agreed_prices_per_customer_and_per_type(session, make):
    from decimal import Decimal

    from bridge.visibility import price_for

    sales, other, admin = make.staff(), make.staff(), make.staff(StaffRole.ADMIN)
    mine = make.customer(type=2, salesperson_id=sales.id)
    theirs = make.customer(type=2, salesperson_id=other.id)
    wheel = make.product(price=Decimal("100.00"))
    with pytest.raises(Forbidden):
        products.set_price(session, Actor.sales(sales.id), wheel.id, "90", customer_type=2)
    products.set_price(session, Actor.admin(admin.id), wheel.id, "95.00", customer_type=2)
    products.set_price(session, Actor.sales(sales.id), wheel.id, "88.50", customer_id=mine.id)
    assert price_for(session, mine, wheel) == Decimal("88.50")  # its own price wins over its type's
    assert price_for(session, theirs, wheel) == Decimal("95.00")
    with pytest.raises(NotFound):
        products.set_price(session, Actor.sales(sales.id), wheel.id, "1.00", customer_id=theirs.id)
    with pytest.raises(InvalidInput):
        products.set_price(session, Actor.sales(sales.id), wheel.id, "很便宜", customer_id=mine.id)
    assert products.set_price(session, Actor.sales(sales.id), wheel.id, None, customer_id=mine.id) is None
    assert price_for(session, mine, wheel) == Decimal("95.00")


def test_a4_qr_codes_are_tied_to_one_spec_each(session, make):
    admin, sales = make.staff(StaffRole.ADMIN), make.staff()
    customer = make.customer()
    wheel, other = make.product(), make.product()
    qr = products.add_qr(session, Actor.admin(admin.id), wheel.id, " JHT:WA-400 ", marking="1-400×50×127")
    assert qr.payload == "JHT:WA-400"
    assert products.add_qr(session, Actor.admin(admin.id), wheel.id, "JHT:WA-400").id == qr.id
    with pytest.raises(Conflict):
        products.add_qr(session, Actor.admin(admin.id), other.id, "JHT:WA-400")
    with pytest.raises(Forbidden):  # a standard product's codes are the company catalog's
        products.add_qr(session, Actor.sales(sales.id), wheel.id, "JHT:WA-401")
    assert products.scan(session, Actor.customer(customer.id), customer, "JHT:WA-400").qr.marking == "1-400×50×127"
    assert [q.id for q in products.qr_codes(session, Actor.sales(sales.id), wheel.id)] == [qr.id]
    products.remove_qr(session, Actor.admin(admin.id), wheel.id, qr.id)
    with pytest.raises(NotFound):
        products.scan(session, Actor.customer(customer.id), customer, "JHT:WA-400")


def test_c2_staff_see_a_customers_catalog_as_that_customer_sees_it_within_their_scope(session, make):
    sales, other = make.staff(), make.staff()
    customer = make.customer(salesperson_id=sales.id)
    granted, hidden = make.product(ProductKind.CUSTOM), make.product(ProductKind.CUSTOM)
    session.add(ProductGrant(product_id=granted.id, customer_id=customer.id))
    session.flush()
    as_customer = products.customer_catalog(session, Actor.customer(customer.id), customer)
    as_sales = products.customer_catalog(session, Actor.sales(sales.id), customer)
    assert [p.product.id for p in as_sales.items] == [p.product.id for p in as_customer.items] == [granted.id]
    assert hidden.id not in [p.product.id for p in as_sales.items]
    for actor in (Actor.sales(other.id), Actor.customer(make.customer().id)):
        with pytest.raises(NotFound):
            products.customer_catalog(session, actor, customer)
        with pytest.raises(NotFound):
            products.customer_product(session, actor, customer, granted.id)
