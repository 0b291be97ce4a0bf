"""The 客户 admin pages (issue #14): list and search, the customer form (scenario 2, A1 types
with their explanation, A10 assignment, A11 ERP code), a customer's page, merging with a preview
(A2) and importing the ERP's customer list (A11), driven in Chromium against a live bridge."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from bridge.actors import CLI_ADMIN
from bridge.customers import create_customer, list_customers
from bridge.demo import ADMIN_LOGIN, SALES_LOGIN
from bridge.labels import CUSTOMER_TYPE_EXPLANATIONS
from bridge.models import (
    Account,
    Address,
    AuditLog,
    Customer,
    CustomerType,
    Order,
    OrderStatus,
    OutboxMessage,
    StaffRole,
    StaffUser,
)
from bridge.outbox import customer_key
from bridge.users import add_user
from tests.admin_site import shoot, signed_in
from tests.conftest import count


def _sales(session) -> StaffUser:
    return session.exec(select(StaffUser).where(StaffUser.username == SALES_LOGIN[0])).one()


@pytest.fixture
def other(demo_site):
    """Another salesperson (李四) with a customer of their own, 别家轮业."""
    with Session(demo_site.rt.engine) as session:
        lisi = add_user(
            session, CLI_ADMIN, username="lisi", password="lisi-pass-12345", role=StaffRole.SALES, display_name="李四"
        )
        theirs = create_customer(
            session, CLI_ADMIN, name="别家轮业有限公司", type=1, salesperson_id=lisi.id, phone="13700137001"
        )
        session.commit()
        return theirs.id


def _order(customer_id: int, order_no: str) -> Order:
    return Order(
        order_no=order_no,
        customer_id=customer_id,
        status=OrderStatus.PENDING,
        idempotency_key=order_no,
        request_hash="h",
    )


def _rows(page) -> list[str]:
    return page.locator("#customer-table tbody tr").all_inner_texts()


# --------------------------------------------------------------------------- list and search


def test_a8_admin_lists_every_customer_and_searches_by_name_phone_and_erp_code(demo_site, browser, other):
    with Session(demo_site.rt.engine) as session:
        everyone = len(list_customers(session))
        coded = session.exec(select(Customer).where(Customer.name.contains("精工"))).one()
        coded.erp_code = "ERP-JG-01"
        session.add(coded)
        session.commit()
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/customers")
    assert len(_rows(page)) == everyone
    assert "别家轮业有限公司" in page.inner_text("#customer-table")
    shoot(page, "customers")

    for query, expected in (("恒达", "恒达五金"), ("138 0013 8002", "精工模具"), ("ERP-JG", "精工模具")):
        page.fill("#f-q", query)
        page.click(".filters button[type=submit]")
        page.wait_for_function(
            "t => document.querySelectorAll('#customer-table tbody tr').length == 1"
            " && document.querySelector('#customer-table tbody').innerText.includes(t)",
            arg=expected,
        )
        assert query in page.input_value("#f-q") and "q=" in page.url  # the search is in the address
    assert not page.locator("text=页面不存在").count()


def test_a10_admin_filters_the_customers_nobody_follows(demo_site, browser):
    with Session(demo_site.rt.engine) as session:
        create_customer(session, CLI_ADMIN, name="无人跟进的新客户", type=2)
        session.commit()
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/customers?unassigned=1")
    rows = _rows(page)
    assert len(rows) == 1 and "无人跟进的新客户" in rows[0]


def test_a6_salesperson_lists_only_their_own_customers(demo_site, browser, other):
    with Session(demo_site.rt.engine) as session:
        mine = session.exec(select(Customer).where(Customer.salesperson_id == _sales(session).id)).all()
    page = signed_in(browser, demo_site, SALES_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/customers")
    assert len(_rows(page)) == len(mine)
    assert "别家轮业" not in page.content()
    assert not page.locator("input[name=unassigned]").count()  # the admins' queue is theirs
    page.goto(f"{demo_site.base_url}/admin/customers?q=别家")
    assert not _rows(page)
    answer = page.goto(f"{demo_site.base_url}/admin/customers?unassigned=1")
    assert answer.status == 403 and "只有管理员" in page.inner_text("main")


# --------------------------------------------------------------------------- create and edit


def test_a7_salesperson_creates_a_type_2_customer_after_a_phone_error(demo_site, browser):
    """Scenario 2 in the browser: a bad phone is refused beside its field, then the customer is
    created, type 2, followed by the salesperson, and told to the ERP."""
    page = signed_in(browser, demo_site, SALES_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/customers")
    page.click("text=新建客户")
    assert CUSTOMER_TYPE_EXPLANATIONS[CustomerType.TYPE_1] in page.inner_text("form.form")
    assert CUSTOMER_TYPE_EXPLANATIONS[CustomerType.TYPE_2] in page.inner_text("form.form")
    assert not page.locator("select[name=salesperson_id]").count()  # a salesperson's customer is their own
    page.fill("#f-name", "中山市新轮科技有限公司")
    page.fill("#f-contact_name", "黄先生")
    page.fill("#f-phone", "138-abc")
    page.check("input[name=type][value='2']")
    page.click("form.form button[type=submit]")
    error = page.locator("#e-phone")
    assert "电话号码格式不正确" in error.inner_text()
    assert page.input_value("#f-name") == "中山市新轮科技有限公司"  # nothing typed is lost
    with Session(demo_site.rt.engine) as session:
        assert not session.exec(select(Customer).where(Customer.name == "中山市新轮科技有限公司")).first()

    page.fill("#f-phone", "138 0013 8999")
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/customers/\d+\?done=created$"))
    assert "已创建客户" in page.inner_text("main")
    assert "类型二" in page.inner_text("main")
    with Session(demo_site.rt.engine) as session:
        made = session.exec(select(Customer).where(Customer.name == "中山市新轮科技有限公司")).one()
        assert (made.type, made.phone, made.contact_name) == (2, "13800138999", "黄先生")
        assert made.salesperson_id == _sales(session).id
        assert count(session, AuditLog, AuditLog.action == "customer.create", AuditLog.entity_id == str(made.id))
        assert count(session, OutboxMessage, OutboxMessage.ordering_key == customer_key(made.id))


def test_a1_a11_admin_edits_type_salesperson_and_erp_code(demo_site, browser, other):
    with Session(demo_site.rt.engine) as session:
        customer = session.exec(select(Customer).where(Customer.name.contains("恒达"))).one()
        lisi = session.exec(select(StaffUser).where(StaffUser.username == "lisi")).one()
        assert customer.type == 1
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/customers/{customer.id}")
    page.click("text=修改")
    page.wait_for_url(f"**/admin/customers/{customer.id}/edit")
    page.fill("#f-contact_name", "陈经理")
    page.check("input[name=type][value='2']")
    page.select_option("#f-salesperson_id", str(lisi.id))
    page.fill("#f-erp_code", "C0012")
    shoot(page, "customer-edit")
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"**/admin/customers/{customer.id}?done=saved")
    text = page.inner_text("main")
    assert "已保存" in text and "类型二" in text and "李四" in text and "C0012" in text
    with Session(demo_site.rt.engine) as session:
        saved = session.get(Customer, customer.id)
        assert (saved.type, saved.contact_name, saved.salesperson_id, saved.erp_code) == (2, "陈经理", lisi.id, "C0012")
        actions = set(session.exec(select(AuditLog.action).where(AuditLog.entity_id == str(customer.id))).all())
        assert {"customer.update", "customer.type", "customer.erp_code"} <= actions


def test_a11_an_erp_code_another_customer_holds_is_refused_beside_its_field(demo_site, browser):
    with Session(demo_site.rt.engine) as session:
        first, second = session.exec(select(Customer).order_by(Customer.id).limit(2)).all()
        first.erp_code = "C0001"
        session.add(first)
        session.commit()
        second_id = second.id
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/customers/{second_id}/edit")
    page.fill("#f-contact_name", "不该保存")
    page.fill("#f-erp_code", "C0001")
    page.click("form.form button[type=submit]")
    assert "C0001" in page.inner_text("#e-erp_code")  # beside its field
    assert page.input_value("#f-contact_name") == "不该保存"
    with Session(demo_site.rt.engine) as session:
        assert session.get(Customer, second_id).contact_name != "不该保存"  # all or nothing


# --------------------------------------------------------------------------- detail and scope


def test_a8_customer_page_shows_accounts_addresses_orders_notes_and_custom_products(demo_site, browser):
    with Session(demo_site.rt.engine) as session:
        customer = session.exec(select(Customer).where(Customer.name.contains("恒达"))).one()
        session.add(Account(customer_id=customer.id, phone="13800138001", openid="wx-openid-1", nickname="陈总"))
        session.add(_order(customer.id, "JHT-T-0001"))
        session.commit()
        address = session.exec(select(Address).where(Address.customer_id == customer.id)).first()
    page = signed_in(browser, demo_site, SALES_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/customers/{customer.id}")
    text = page.inner_text("main")
    assert customer.name in text and "13800138001" in text and "陈总" in text
    assert address.detail in text
    assert page.get_attribute("a:text('JHT-T-0001')", "href") == "/admin/orders/JHT-T-0001"
    assert "定制" in text and page.locator("h2:text('可见的定制品') + .table-wrap tbody tr").count() >= 1
    page.fill("#f-body", "客户要求下周交货")
    page.click("#notes button[type=submit]")
    page.wait_for_selector("ul.notes li:has-text('客户要求下周交货')")
    assert "张伟" in page.inner_text("ul.notes")
    shoot(page, "customer")


def test_s3_salesperson_opening_another_salespersons_customer_gets_404(demo_site, browser, other):
    page = signed_in(browser, demo_site, SALES_LOGIN)
    for path in (f"/admin/customers/{other}", f"/admin/customers/{other}/edit"):
        answer = page.goto(f"{demo_site.base_url}{path}")
        assert answer.status == 404, path
        body = page.content()
        assert "页面不存在" in body and "别家轮业" not in body and "13700137001" not in body
    answer = page.request.post(
        f"{demo_site.base_url}/admin/customers/{other}/notes",
        form={"body": "越权备注", "_csrf_token": page.input_value("input[name=_csrf_token]")},
    )
    assert answer.status == 404 and "别家轮业" not in answer.text()
    with Session(demo_site.rt.engine) as session:
        assert session.get(Customer, other).name == "别家轮业有限公司"
        assert not count(session, AuditLog, AuditLog.action == "note.add")


# --------------------------------------------------------------------------- merge (A2)


def test_a2_merge_shows_what_moves_changes_nothing_until_confirmed_then_moves_it(demo_site, browser):
    with Session(demo_site.rt.engine) as session:
        survivor = session.exec(select(Customer).where(Customer.name.contains("恒达"))).one()
        duplicate = create_customer(
            session,
            CLI_ADMIN,
            name="恒达五金（重复注册）",
            type=1,
            salesperson_id=_sales(session).id,
            phone="13600136001",
        )
        session.add(Account(customer_id=duplicate.id, phone="13600136001"))
        session.add(Address(customer_id=duplicate.id, recipient="陈", phone="13600136001", detail="狮山镇1号"))
        session.add(_order(duplicate.id, "JHT-T-0002"))
        session.commit()
        survivor_id, duplicate_id = survivor.id, duplicate.id
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/customers/{survivor_id}")
    page.click("text=合并重复客户")
    page.fill("#f-q", "重复注册")
    page.click(".filters button[type=submit]")
    page.click(f"tr[data-customer='{duplicate_id}'] >> text=预览合并")
    preview = page.locator("#merge-preview")
    for key, n in (("accounts", 1), ("orders", 1), ("addresses", 1), ("outbox", 1)):
        assert preview.locator(f"[data-move={key}] strong").inner_text() == str(n), key
    assert "绑定的账号" in preview.inner_text() and "订单" in preview.inner_text()
    shoot(page, "customer-merge")
    with Session(demo_site.rt.engine) as session:  # the preview changed nothing
        assert session.get(Customer, duplicate_id).merged_into_id is None
        assert session.exec(select(Order.customer_id).where(Order.order_no == "JHT-T-0002")).one() == duplicate_id
        assert not count(session, AuditLog, AuditLog.action == "customer.merge")

    page.click("#merge-preview button[type=submit]")
    page.wait_for_selector("#merge-result")
    assert page.locator("[data-moved=orders] strong").inner_text() == "1"
    assert "已合并" in page.inner_text("main")
    with Session(demo_site.rt.engine) as session:
        assert session.get(Customer, duplicate_id).merged_into_id == survivor_id
        assert session.exec(select(Order.customer_id).where(Order.order_no == "JHT-T-0002")).one() == survivor_id
        assert session.exec(select(Account.customer_id).where(Account.phone == "13600136001")).one() == survivor_id
        assert count(session, AuditLog, AuditLog.action == "customer.merge", AuditLog.entity_id == str(survivor_id))
    page.goto(f"{demo_site.base_url}/admin/customers/{duplicate_id}")  # the old id leads to the survivor
    assert page.url.endswith(f"/admin/customers/{survivor_id}?merged_from={duplicate_id}")
    page.goto(f"{demo_site.base_url}/admin/customers?merged=1&q=重复注册")
    assert f"已合并到 {survivor_id}" in page.inner_text("#customer-table")


def test_a2_a_salesperson_may_not_merge(demo_site, browser):
    with Session(demo_site.rt.engine) as session:
        mine = session.exec(select(Customer).where(Customer.salesperson_id == _sales(session).id)).all()
    page = signed_in(browser, demo_site, SALES_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/customers/{mine[0].id}")
    assert not page.locator("text=合并重复客户").count()
    answer = page.goto(f"{demo_site.base_url}/admin/customers/{mine[0].id}/merge?absorbed={mine[1].id}")
    assert answer.status == 403 and "只有管理员可以合并客户" in page.inner_text("main")
    csrf = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['x-csrftoken']")
    answer = page.request.post(
        f"{demo_site.base_url}/admin/customers/{mine[0].id}/merge",
        form={"absorbed": str(mine[1].id)},
        headers={"x-csrftoken": csrf},
    )
    assert answer.status == 403
    with Session(demo_site.rt.engine) as session:
        assert session.get(Customer, mine[1].id).merged_into_id is None


# --------------------------------------------------------------------------- import (A11)


def _upload(page, tmp_path, name: str, text: str, action: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    page.set_input_files("#f-file", str(path))
    with page.expect_response("**/admin/customers/import"):
        page.click(f"button[name=action][value={action}]")


def test_a11_import_with_a_bad_row_imports_nothing_then_a_good_sheet_imports(demo_site, browser, tmp_path):
    with Session(demo_site.rt.engine) as session:
        before = count(session, Customer)
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/customers")
    page.click("text=导入 ERP 客户")
    page.wait_for_url("**/admin/customers/import")
    bad = "ERP客户编码,客户名称,电话\nK001,广州新客户甲,13500135001\nK002,,13500135002\n"
    _upload(page, tmp_path, "bad.csv", bad, "import")
    page.wait_for_selector("#import-errors")
    assert page.locator("#import-errors tr[data-row='3']").count() == 1
    assert "没有导入任何内容" in page.inner_text("#import-result")
    with Session(demo_site.rt.engine) as session:
        assert count(session, Customer) == before
        assert not count(session, AuditLog, AuditLog.action == "customers.import")

    good = "ERP客户编码,客户名称,电话\nK001,广州新客户甲,13500135001\nK002,广州新客户乙,13800138002\n"
    page = signed_in(browser, demo_site, ADMIN_LOGIN)  # the 422 above stays in the first page's console
    page.goto(f"{demo_site.base_url}/admin/customers/import")
    _upload(page, tmp_path, "good.csv", good, "check")  # a dry run first
    page.wait_for_selector("#import-rows")
    assert "检查通过" in page.inner_text("#import-result")
    assert "新建客户" in page.inner_text("#import-rows tr[data-row='2']")
    assert "关联到已有客户" in page.inner_text("#import-rows tr[data-row='3']")  # 精工模具's phone
    shoot(page, "customer-import")
    with Session(demo_site.rt.engine) as session:
        assert count(session, Customer) == before

    with page.expect_response("**/admin/customers/import"):
        page.click("button[name=action][value=import]")  # the chosen file is still there
    page.wait_for_selector("#import-result:has-text('已导入 2 行')")
    with Session(demo_site.rt.engine) as session:
        assert count(session, Customer) == before + 1
        assert session.exec(select(Customer).where(Customer.erp_code == "K002")).one().name.startswith("东莞")
        assert count(session, AuditLog, AuditLog.action == "customers.import") == 1


def test_a11_a_salesperson_may_not_import(demo_site, browser):
    page = signed_in(browser, demo_site, SALES_LOGIN)
    answer = page.goto(f"{demo_site.base_url}/admin/customers/import")
    assert answer.status == 403
