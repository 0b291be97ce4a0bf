"""The 询价 admin page (issue #14; C11: a customer's inquiry reaches their salesperson; C16: the
customer reads the answer; S3: a salesperson sees their own customers' only), driven in Debian's
Chromium against a live bridge with the demo data."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from bridge.actors import Actor
from bridge.demo import ADMIN_LOGIN, SALES_LOGIN
from bridge.inquiries import create_inquiry, inquiry_page
from bridge.models import AuditLog, Customer, Inquiry, InquiryStatus, StaffRole, StaffUser
from tests.admin_site import page_errors, shoot, signed_in

MINE = "需要一批 Φ400×40×127 树脂切割片，厚度能否做到 3.2mm？"
MINE_TOO = "陶瓷结合剂砂轮 WA60 的交期多久？"
THEIRS = "别家客户的询价：金刚石砂轮 D126 报价"


@pytest.fixture
def site(demo_site):
    """The demo data plus: two inquiries of the demo salesperson's customer, and one of a
    customer of another salesperson (李四)."""
    with Session(demo_site.rt.engine) as session:
        sales = session.exec(select(StaffUser).where(StaffUser.username == SALES_LOGIN[0])).one()
        mine = session.exec(select(Customer).where(Customer.salesperson_id == sales.id).order_by(Customer.id)).first()
        other = StaffUser(username="lisi", display_name="李四", role=StaffRole.SALES, password_hash="x")
        session.add(other)
        session.flush()
        theirs = Customer(name="别家客户", type=2, salesperson_id=other.id)
        session.add(theirs)
        session.flush()
        ids = {
            text: create_inquiry(session, Actor.customer(customer.id), customer, text).id
            for customer, text in ((mine, MINE), (mine, MINE_TOO), (theirs, THEIRS))
        }
        session.commit()
        demo_site.mine_id, demo_site.ids = mine.id, ids
    return demo_site


def _rows(page) -> list[str]:
    return [row.inner_text() for row in page.locator("#inquiries tbody tr").all()]


def test_s3_a_salesperson_sees_only_their_customers_inquiries_and_an_admin_all(site, browser):
    page = signed_in(browser, site, SALES_LOGIN, phone=True)
    page.click("[data-nav=inquiries]")
    page.wait_for_url(f"{site.base_url}/admin/inquiries")
    text = page.inner_text("main")
    assert MINE_TOO[:20] in text and MINE[:20] in text
    assert "别家客户" not in text and THEIRS[:10] not in text
    assert len(_rows(page)) == 2 and all("待跟进" in row for row in _rows(page))
    page.close()

    admin = signed_in(browser, site, ADMIN_LOGIN)
    admin.goto(f"{site.base_url}/admin/inquiries")
    assert len(_rows(admin)) == 3 and "别家客户" in admin.inner_text("#inquiries")
    shoot(admin, "inquiries")
    admin.close()


def test_c11_mark_handled_from_the_list_and_filter_by_status(site, browser):
    page = signed_in(browser, site, SALES_LOGIN)
    page.goto(f"{site.base_url}/admin/inquiries")
    row = page.locator(f"tr[data-inquiry='{site.ids[MINE_TOO]}']")
    row.locator("button", has_text="标记已处理").click()
    row.locator("[data-name=status]", has_text="已处理").wait_for()  # htmx swapped the row
    assert page.url == f"{site.base_url}/admin/inquiries"
    with Session(site.rt.engine) as session:
        inquiry = session.get(Inquiry, site.ids[MINE_TOO])
        sales = session.exec(select(StaffUser).where(StaffUser.username == SALES_LOGIN[0])).one()
        assert inquiry.status == InquiryStatus.HANDLED and inquiry.handled_by_id == sales.id

    page.select_option("[name=status]", "open")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**status=open")
    assert [MINE[:20] in r for r in _rows(page)] == [True]
    page.goto(f"{site.base_url}/admin/inquiries?status=handled")
    assert [MINE_TOO[:10] in r for r in _rows(page)] == [True]
    assert not page_errors(page)
    page.close()


def test_c16_answer_in_the_browser_and_the_customer_reads_it(site, browser):
    page = signed_in(browser, site, SALES_LOGIN)
    page.goto(f"{site.base_url}/admin/inquiries")
    page.locator(f"tr[data-inquiry='{site.ids[MINE]}']").get_by_role("link", name="回复", exact=True).click()
    page.wait_for_url(f"{site.base_url}/admin/inquiries/{site.ids[MINE]}")
    assert page.inner_text("[data-name=body]") == MINE

    page.fill("#f-answer", "   ")
    page.click("#answer button[type=submit]")
    page.locator("#e-answer").wait_for()  # htmx swapped the section with the refused form
    assert page.inner_text("#e-answer") == "回复内容不能为空"
    with Session(site.rt.engine) as session:
        assert session.get(Inquiry, site.ids[MINE]).answer is None

    answer = "可以做到 3.2mm，单价 ¥18.50，交期 7 天。"
    page.fill("#f-answer", answer)
    page.click("#answer button[type=submit]")
    page.locator("#answer [data-name=answer]").wait_for()
    assert answer in page.inner_text("#answer [data-name=answer]")
    assert "回复已保存" in page.inner_text("#answer")
    assert page.locator("#e-answer").count() == 0
    assert page.inner_text("[data-name=status]").startswith("已处理")  # the swap shows the new status
    assert page.get_by_role("button", name="标记已处理（不回复）").count() == 0

    with Session(site.rt.engine) as session:
        seen = inquiry_page(session, Actor.customer(site.mine_id)).items  # what the mini-program lists
        mine = next(v for v in seen if v.inquiry.id == site.ids[MINE])
        assert mine.inquiry.answer == answer and mine.answered_by == "张伟"
        assert mine.inquiry.status == InquiryStatus.HANDLED
        row = session.exec(select(AuditLog).where(AuditLog.action == "inquiry.answer")).one()
        assert row.entity_id == str(site.ids[MINE]) and row.detail["answer"] == answer
    page.reload()
    assert "已处理" in page.inner_text("[data-name=status]")
    assert not [e for e in page_errors(page) if "422" not in e]  # the refused answer's 422 aside
    page.close()


def test_s3_another_salespersons_inquiry_by_url_is_not_found_and_not_changed(site, browser):
    page = signed_in(browser, site, SALES_LOGIN)
    theirs = site.ids[THEIRS]
    answer = page.goto(f"{site.base_url}/admin/inquiries/{theirs}")
    assert answer.status == 404
    text = page.inner_text("main")
    assert "页面不存在" in text and THEIRS[:10] not in text and "别家客户" not in text
    token = json.loads(page.locator("body").get_attribute("hx-headers"))["x-csrftoken"]
    for path, form in ((f"/inquiries/{theirs}/answer", {"answer": "我来回复"}), (f"/inquiries/{theirs}/handle", {})):
        refused = page.request.post(f"{site.base_url}/admin{path}", form=form, headers={"x-csrftoken": token})
        assert refused.status == 404, path
        assert THEIRS[:10] not in refused.text()
    with Session(site.rt.engine) as session:
        inquiry = session.get(Inquiry, theirs)
        assert inquiry.status == InquiryStatus.OPEN and inquiry.answer is None
    page.close()
