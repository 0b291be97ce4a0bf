"""The services behind the 商品 admin pages (issue #14): a product's grants, hides and agreed
prices as its page shows them, scoped to the staff member (A3, A9, S3); who may change a
product; the catalog sheet over HTTP, for admins only, all rows or none."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select

from bridge import catalog, products
from bridge.actors import Actor
from bridge.errors import Forbidden, InvalidInput, NotFound
from bridge.models import Product, ProductKind, StaffRole


def test_a3_a9_s3_product_access_lists_grants_hides_and_prices_of_the_callers_customers_only(session, make):
    sales, other, admin = make.staff(), make.staff(), make.staff(StaffRole.ADMIN)
    mine = make.customer(type=1, salesperson_id=sales.id, name="甲厂")
    theirs = make.customer(type=2, salesperson_id=other.id, name="乙厂")
    wheel = make.product(ProductKind.CUSTOM, created_by_id=sales.id, price=Decimal("10.00"))
    boss, me = Actor.admin(admin.id), Actor.sales(sales.id)
    products.grant_product(session, me, wheel.id, mine.id)
    products.grant_product(session, boss, wheel.id, theirs.id)
    products.grant_to_type(session, boss, wheel.id, 2)
    products.hide_product(session, boss, wheel.id, theirs.id)
    products.set_price(session, me, wheel.id, "9.00", customer_id=mine.id)
    products.set_price(session, boss, wheel.id, "8.00", customer_id=theirs.id)
    products.set_price(session, boss, wheel.id, "9.50", customer_type=1)

    everything = products.product_access(session, boss, wheel.id)
    assert [c.name for c in everything.granted_customers] == ["甲厂", "乙厂"]
    assert everything.granted_types == [2]
    assert [c.name for c in everything.hidden_from] == ["乙厂"]
    assert [(r.customer.name, r.price) for r in everything.customer_prices] == [
        ("甲厂", Decimal("9.00")),
        ("乙厂", Decimal("8.00")),
    ]
    assert everything.type_prices == {1: Decimal("9.50")}
    assert everything.may_change

    seen_by_me = products.product_access(session, me, wheel.id)  # nothing of another's customer
    assert [c.name for c in seen_by_me.granted_customers] == ["甲厂"]
    assert seen_by_me.hidden_from == []
    assert [r.customer.name for r in seen_by_me.customer_prices] == ["甲厂"]
    assert seen_by_me.granted_types == [2] and seen_by_me.type_prices == {1: Decimal("9.50")}
    assert seen_by_me.may_change  # I made it

    stranger = make.staff()
    private = make.product(ProductKind.CUSTOM, created_by_id=sales.id)
    products.grant_product(session, me, private.id, mine.id)
    with pytest.raises(NotFound):  # neither made by them nor granted to one of their customers
        products.product_access(session, Actor.sales(stranger.id), private.id)
    assert products.product_access(session, Actor.sales(stranger.id), wheel.id).granted_customers == []


def test_a3_who_may_change_a_product(session, make):
    sales, other, admin = make.staff(), make.staff(), make.staff(StaffRole.ADMIN)
    customer = make.customer(salesperson_id=other.id)
    made_by_me = make.product(ProductKind.CUSTOM, created_by_id=sales.id)
    made_by_other = make.product(ProductKind.CUSTOM, created_by_id=other.id)
    loaded = make.product(ProductKind.CUSTOM)  # no maker: a sheet import or the demo data
    standard = make.product()
    products.grant_product(session, Actor.admin(admin.id), loaded.id, customer.id)
    me = Actor.sales(sales.id)
    assert products.may_change(me, made_by_me) and not products.may_change(me, made_by_other)
    assert not products.may_change(me, loaded) and not products.may_change(me, standard)
    assert all(products.may_change(Actor.admin(admin.id), p) for p in (made_by_me, made_by_other, loaded, standard))
    assert not products.may_change(Actor.customer(customer.id), made_by_me)

    assert products.editable_product(session, me, made_by_me.id).id == made_by_me.id
    with pytest.raises(Forbidden):
        products.editable_product(session, me, standard.id)
    with pytest.raises(NotFound):  # out of my scope: as if it did not exist
        products.editable_product(session, me, made_by_other.id)


def test_the_catalog_sheet_is_an_admins_over_http(session, make):
    sales, admin = make.staff(), make.staff(StaffRole.ADMIN)
    make.product(sku="STD-1")
    with pytest.raises(Forbidden):
        catalog.export_catalog(session, Actor.sales(sales.id), "xlsx")
    with pytest.raises(Forbidden):
        catalog.import_upload(session, Actor.sales(sales.id), "a.csv", "编码,名称\nX,Y\n".encode())
    with pytest.raises(Forbidden):  # the import itself asks, whoever calls it
        catalog.import_products(session, Actor.sales(sales.id), "/nonexistent.csv")

    csv_bytes = catalog.export_catalog(session, Actor.admin(admin.id), "csv")
    assert csv_bytes.startswith("\ufeff".encode()) and '"STD-1"' in csv_bytes.decode("utf-8-sig")
    assert catalog.export_catalog(session, Actor.admin(admin.id), "xlsx").startswith(b"PK\x03\x04")


def test_an_uploaded_sheet_is_imported_all_rows_or_none_under_its_own_name(session, make):
    admin = Actor.admin(make.staff(StaffRole.ADMIN).id)
    bad = "编码,名称,单价\nUP-1,好砂轮,5\nUP-2,坏砂轮,五块\n".encode()
    report = catalog.import_upload(session, admin, "C:\\Users\\王工\\目录.csv", bad)
    assert report.file == "目录.csv" and report.bad_rows == [3]
    assert session.exec(select(Product).where(Product.sku.like("UP-%"))).all() == []

    good = "编码,名称,单价\nUP-1,好砂轮,5\n".encode("gb18030")
    preview = catalog.import_upload(session, admin, "目录.csv", good, dry_run=True)
    assert (preview.ok, preview.created, preview.encoding) == (True, 1, "gb18030")
    assert session.exec(select(Product).where(Product.sku == "UP-1")).first() is None
    assert catalog.import_upload(session, admin, "目录.csv", good).created == 1
    assert session.exec(select(Product).where(Product.sku == "UP-1")).one().price == Decimal("5.00")

    with pytest.raises(InvalidInput):  # a name that does not tell the format, and no format given
        catalog.import_upload(session, admin, "目录", good)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("catalog.xlsx", "catalog.xlsx"),
        ("/home/wang/目录.csv", "目录.csv"),
        ("C:\\fakepath\\目录.xlsx", "目录.xlsx"),
        ("../../etc/passwd", "passwd"),
        ("..", "upload"),
        ("", "upload"),
        (None, "upload"),
        ("a\x1bb.csv", "ab.csv"),
        ("长" * 300 + ".xlsx", "长" * 95 + ".xlsx"),
    ],
)
def test_an_uploaded_files_name_is_its_last_part_cleaned_and_bounded(sent, kept):
    assert catalog.upload_name(sent) == kept
