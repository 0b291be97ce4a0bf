"""The staff's order list (A6, A8, A10, S3): ``orders.order_page`` filtered by status, a search
for the order number or the customer's name, the salesperson, placement days in the bridge's
time zone and the payment confirmation — always inside the caller's scope — and the rows of the
admin pages' list (``order_rows``, ``order_listing``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bridge import orders
from bridge.actors import Actor
from bridge.models import Order, OrderLine, OrderStatus, StaffRole

TZ = "Asia/Shanghai"  # UTC+8


@pytest.fixture
def shop(session, make):
    zhang, li = make.staff(display_name="张伟"), make.staff(display_name="李四")
    hengda = make.customer(name="佛山市恒达五金机械厂", salesperson_id=zhang.id)
    yongxing = make.customer(name="宁波市永兴轴承有限公司", salesperson_id=li.id)
    nobody = make.customer(name="无人跟进的客户")
    wheel = make.product(name="平形砂轮 400×50×127")
    disc = make.product(name="切割片 105")
    n = iter(range(1, 100))

    def order(customer, at: datetime, status=OrderStatus.PENDING, released=False, lines=(wheel,)) -> Order:
        k = next(n)
        row = Order(
            order_no=f"JHT-{at:%Y%m%d}-{k:04d}",
            customer_id=customer.id,
            status=status,
            released=released,
            idempotency_key=f"key-{k:06d}",
            request_hash="x",
            created_at=at,
        )
        session.add(row)
        session.flush()
        for line_no, product in enumerate(lines, 1):
            session.add(
                OrderLine(
                    order_id=row.id,
                    line_no=line_no,
                    product_id=product.id,
                    sku=product.sku,
                    name=product.name,
                    unit="片",
                    quantity=2,
                    unit_price=Decimal("10.00"),
                    amount=Decimal("20.00"),
                )
            )
        session.flush()
        return row

    # 2 May 23:30 in Shanghai is 2 May 15:30 UTC; 3 May 00:30 there is 2 May 16:30 UTC.
    late_2nd = order(hengda, datetime(2026, 5, 2, 15, 30, tzinfo=UTC), lines=(wheel, disc))
    early_3rd = order(hengda, datetime(2026, 5, 2, 16, 30, tzinfo=UTC), released=True)
    shipped = order(hengda, datetime(2026, 5, 4, 2, 0, tzinfo=UTC), OrderStatus.SHIPPED, released=True)
    theirs = order(yongxing, datetime(2026, 5, 3, 2, 0, tzinfo=UTC))
    queued = order(nobody, datetime(2026, 5, 3, 3, 0, tzinfo=UTC))
    admin = make.staff(StaffRole.ADMIN, display_name="管理员")
    return {
        "zhang": Actor.sales(zhang.id),
        "li": Actor.sales(li.id),
        "admin": Actor.admin(admin.id),
        "ids": {"zhang": zhang.id, "li": li.id},
        "orders": {
            "late_2nd": late_2nd,
            "early_3rd": early_3rd,
            "shipped": shipped,
            "theirs": theirs,
            "queued": queued,
        },
    }


def _names(page, shop) -> list[str]:
    by_id = {o.id: name for name, o in shop["orders"].items()}
    return [by_id[o.id] for o, _ in page.items]


def test_a8_days_are_those_of_the_bridge_time_zone_both_included(session, shop):
    """A8: "from 3 May" starts at midnight in the bridge's time zone, not in UTC; "to 3 May"
    takes in the whole of that day."""
    admin = shop["admin"]
    on_3rd = orders.order_page(session, admin, created_from=date(2026, 5, 3), created_to=date(2026, 5, 3), timezone=TZ)
    assert _names(on_3rd, shop) == ["queued", "theirs", "early_3rd"]
    up_to_2nd = orders.order_page(session, admin, created_to=date(2026, 5, 2), timezone=TZ)
    assert _names(up_to_2nd, shop) == ["late_2nd"]
    in_utc = orders.order_page(session, admin, created_to=date(2026, 5, 2), timezone="UTC")
    assert _names(in_utc, shop) == ["early_3rd", "late_2nd"]
    assert orders.order_page(session, admin, created_from=date(2026, 5, 5), timezone=TZ).total == 0


def test_a8_search_finds_the_order_number_or_the_customer_name(session, shop):
    admin = shop["admin"]
    assert _names(orders.order_page(session, admin, search="永兴"), shop) == ["theirs"]
    number = shop["orders"]["shipped"].order_no
    assert _names(orders.order_page(session, admin, search=number.lower()), shop) == ["shipped"]
    assert orders.order_page(session, admin, search="100%").total == 0  # LIKE wildcards are text
    assert orders.order_page(session, admin, search="  ").total == 5


def test_a8_s3_salesperson_filter_stays_inside_the_scope(session, shop):
    """A8: an admin lists one salesperson's customers' orders; S3: a salesperson asking for
    another's gets nothing, and a search never reaches outside their own customers."""
    admin, zhang = shop["admin"], shop["zhang"]
    assert _names(orders.order_page(session, admin, salesperson_id=shop["ids"]["li"]), shop) == ["theirs"]
    assert orders.order_page(session, admin, salesperson_id=shop["ids"]["zhang"]).total == 3
    assert orders.order_page(session, zhang, salesperson_id=shop["ids"]["li"]).total == 0
    assert orders.order_page(session, zhang, search="永兴").total == 0
    assert orders.order_page(session, zhang).total == 3


def test_a6_filters_combine_with_status_and_the_payment_confirmation(session, shop):
    zhang = shop["zhang"]
    waiting = orders.order_page(session, zhang, awaiting_payment=True, created_from=date(2026, 5, 2), timezone=TZ)
    assert _names(waiting, shop) == ["late_2nd"]
    shipped = orders.order_page(session, zhang, status=OrderStatus.SHIPPED, search="恒达")
    assert _names(shipped, shop) == ["shipped"]


def test_a8_rows_carry_the_salesperson_the_line_count_and_the_first_product(session, shop):
    rows = {r.order.id: r for r in orders.order_rows(session, shop["admin"]).items}
    late = rows[shop["orders"]["late_2nd"].id]
    assert (late.salesperson, late.line_count, late.first_line, late.awaiting_payment) == (
        "张伟",
        2,
        "平形砂轮 400×50×127",
        True,
    )
    queued = rows[shop["orders"]["queued"].id]
    assert (queued.salesperson, queued.line_count) == (None, 1)
    assert rows[shop["orders"]["shipped"].id].awaiting_payment is False


def test_a10_a8_admins_get_the_salespeople_to_filter_by_salespeople_do_not(session, shop, make):
    make.staff(display_name="没有客户的业务员")
    admin_view = orders.order_listing(session, shop["admin"], salesperson_id=shop["ids"]["zhang"])
    assert [u.display_name for u in admin_view.salespeople] == ["张伟", "李四"]  # only those who follow someone
    assert admin_view.rows.total == 3
    assert orders.order_listing(session, shop["zhang"]).salespeople == []
    unassigned = orders.order_listing(session, shop["admin"], unassigned=True)
    assert [r.customer.name for r in unassigned.rows.items] == ["无人跟进的客户"]
