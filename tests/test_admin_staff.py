"""The 人员 and 审计日志 admin pages (issue #14; A12: staff users managed and every admin action
audited and viewable; S1: no session outlives its account), driven in Debian's Chromium against a
live bridge with the demo data. The effects are checked through ``bridge.users`` / the models."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlmodel import Session, select

from bridge import sessions
from bridge.demo import ADMIN_LOGIN, SALES_LOGIN
from bridge.models import AuditLog, StaffRole, StaffUser
from bridge.types import utcnow
from bridge.users import verify_password
from tests.admin_site import log_in, page_errors, shoot, signed_in, watch
from tests.conftest import watch_password_hashes

NEW = ("wangwu", "wheel-grinder-7-blue")
"""The salesperson the tests add: username and a password the policy takes."""
RESET = "Correct-Horse-Battery-9"


def _user(site, username: str) -> StaffUser | None:
    with Session(site.rt.engine) as session:
        return session.exec(select(StaffUser).where(StaffUser.username == username)).first()


def _add_in_browser(page, site, password: str, username: str = NEW[0]):
    page.goto(f"{site.base_url}/admin/staff")
    form = page.locator("#add-user form")
    form.locator("[name=username]").fill(username)
    form.locator("[name=display_name]").fill("王五")
    form.locator("[name=role]").select_option("sales")
    form.locator("[name=phone]").fill("13700137000")
    form.locator("[name=password]").fill(password)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def _add_wangwu(browser, site):
    page = signed_in(browser, site, ADMIN_LOGIN)
    _add_in_browser(page, site, NEW[1])
    assert _user(site, NEW[0]) is not None
    return page


def _row(page, username: str):
    return page.locator(f"tr[data-user='{username}']")


def test_a12_admin_adds_a_salesperson_short_password_refused_at_the_field(demo_site, browser):
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    _add_in_browser(page, demo_site, "short-1")
    error = page.locator("#e-password")
    assert "至少 10 位" in error.inner_text()
    assert page.locator("#f-password").get_attribute("aria-invalid") == "true"
    assert page.locator("#f-username").input_value() == NEW[0]  # what was typed stays
    assert page.locator("#f-password").input_value() == ""  # the password is never sent back
    assert _user(demo_site, NEW[0]) is None

    _add_in_browser(page, demo_site, NEW[1])
    assert page.url == f"{demo_site.base_url}/admin/staff?done=added"
    assert "已添加员工账号" in page.inner_text("#flash")
    row = _row(page, NEW[0])
    assert "王五" in row.inner_text() and "业务员" in row.inner_text() and "启用" in row.inner_text()
    user = _user(demo_site, NEW[0])
    assert user.role == StaffRole.SALES and user.phone == "13700137000" and user.invite_code
    assert verify_password(user.password_hash, NEW[1])
    fresh = signed_in(browser, demo_site, ADMIN_LOGIN)  # the refused form's 422 is a console error
    fresh.goto(f"{demo_site.base_url}/admin/staff")
    shoot(fresh, "staff")
    fresh.close()

    other = watch(browser.new_page())
    log_in(other, demo_site.base_url, NEW)  # the new salesperson signs in with that password
    assert "王五（业务员）" in other.inner_text("header")
    assert other.locator("[data-nav=staff]").count() == 0  # no 人员 in a salesperson's menu
    other.close()
    page.close()


def test_a12_a_taken_username_is_refused_at_the_field(demo_site, browser):
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    _add_in_browser(page, demo_site, NEW[1], username=SALES_LOGIN[0])
    assert page.locator("#e-username").inner_text() == "用户名已存在"
    page.close()


def test_s1_password_reset_in_the_browser_signs_the_user_out(demo_site, browser):
    admin = _add_wangwu(browser, demo_site)
    theirs = signed_in(browser, demo_site, NEW)

    admin.goto(f"{demo_site.base_url}/admin/staff/{NEW[0]}")
    admin.fill("#password [name=password]", "12345678901")
    admin.click("#password button[type=submit]")
    assert admin.locator("#e-password").inner_text().startswith("密码太容易被猜到")
    theirs.reload()
    assert theirs.url == f"{demo_site.base_url}/admin/"  # a refused reset changes nothing

    admin.fill("#password [name=password]", RESET)
    admin.click("#password button[type=submit]")
    admin.wait_for_url(f"{demo_site.base_url}/admin/staff/{NEW[0]}?done=password")
    assert "密码已重置" in admin.inner_text("#flash")
    theirs.reload()
    assert theirs.url == f"{demo_site.base_url}/admin/login"  # their open page is signed out
    assert verify_password(_user(demo_site, NEW[0]).password_hash, RESET)
    log_in(theirs, demo_site.base_url, (NEW[0], RESET))
    theirs.close()
    admin.close()


def test_a12_the_staff_pages_hash_passwords_with_no_write_lock_held(demo_site, browser, monkeypatch):
    """Adding a user and resetting a password: the hash (argon2id, a tenth of a second) is
    made before the write transaction, so order placements do not wait for it."""
    hashed = watch_password_hashes(monkeypatch, demo_site.rt.engine.url.render_as_string(hide_password=False))
    admin = _add_wangwu(browser, demo_site)
    admin.goto(f"{demo_site.base_url}/admin/staff/{NEW[0]}")
    admin.fill("#password [name=password]", RESET)
    admin.click("#password button[type=submit]")
    admin.wait_for_url(f"{demo_site.base_url}/admin/staff/{NEW[0]}?done=password")
    assert verify_password(_user(demo_site, NEW[0]).password_hash, RESET)
    assert hashed == ["free", "free"]
    admin.close()


def test_s1_deactivating_from_the_list_ends_their_session_at_once(demo_site, browser):
    admin = _add_wangwu(browser, demo_site)
    theirs = signed_in(browser, demo_site, NEW)
    admin.on("dialog", lambda dialog: dialog.accept())  # 停用 asks to confirm

    row = _row(admin, NEW[0])
    row.locator("button", has_text="停用").click()
    row.locator("[data-name=state]", has_text="已停用").wait_for()  # htmx swapped the row
    assert "已停用，该员工的登录已全部结束" in admin.inner_text("#flash")
    assert admin.url == f"{demo_site.base_url}/admin/staff?done=added"  # no page load: htmx
    user = _user(demo_site, NEW[0])
    assert not user.active
    with Session(demo_site.rt.engine) as session:
        assert sessions.active_count(session, sessions.Subject(staff_id=user.id)) == 0

    theirs.reload()
    assert theirs.url == f"{demo_site.base_url}/admin/login"
    theirs.fill("input[name=username]", NEW[0])
    theirs.fill("input[name=password]", NEW[1])
    theirs.click("button[type=submit]")
    assert "账号已停用" in theirs.inner_text(".error")

    _row(admin, NEW[0]).locator("button", has_text="启用").click()
    _row(admin, NEW[0]).locator("[data-name=state]", has_text="启用").wait_for()
    assert _user(demo_site, NEW[0]).active
    assert not page_errors(admin)
    theirs.close()
    admin.close()


def test_a12_role_change_and_the_last_admin_kept(demo_site, browser):
    admin = _add_wangwu(browser, demo_site)
    theirs = signed_in(browser, demo_site, NEW)

    admin.goto(f"{demo_site.base_url}/admin/staff/{ADMIN_LOGIN[0]}")
    admin.select_option("#role [name=role]", "sales")
    admin.click("#role button[type=submit]")
    assert "不能把最后一个启用的管理员账号改为业务员" in admin.inner_text("#role")
    assert _user(demo_site, ADMIN_LOGIN[0]).role == StaffRole.ADMIN
    admin.click("#state button[type=submit]")  # deactivating the only admin: refused the same way
    assert "不能停用最后一个启用的管理员账号" in admin.inner_text("#state")
    assert _user(demo_site, ADMIN_LOGIN[0]).active
    admin.goto(f"{demo_site.base_url}/admin/staff")  # from the list (htmx): an alert, the row stays
    admin.on("dialog", lambda dialog: dialog.accept())
    _row(admin, ADMIN_LOGIN[0]).locator("button", has_text="停用").click()
    admin.locator("#flash .error").wait_for()
    assert "不能停用最后一个启用的管理员账号" in admin.inner_text("#flash")
    assert "启用" in _row(admin, ADMIN_LOGIN[0]).inner_text() and _user(demo_site, ADMIN_LOGIN[0]).active

    admin.goto(f"{demo_site.base_url}/admin/staff/{NEW[0]}")
    admin.select_option("#role [name=role]", "admin")
    admin.click("#role button[type=submit]")
    admin.wait_for_url(f"{demo_site.base_url}/admin/staff/{NEW[0]}?done=role")
    assert _user(demo_site, NEW[0]).role == StaffRole.ADMIN
    theirs.reload()  # the role is re-read on the next request
    assert "王五（管理员）" in theirs.inner_text("header")
    assert theirs.locator("[data-nav=staff]").count() == 1
    theirs.close()
    admin.close()


def test_s1_unbinding_a_staff_wechat_ends_their_sessions(demo_site, browser):
    with Session(demo_site.rt.engine) as session:
        sales = session.exec(select(StaffUser).where(StaffUser.username == SALES_LOGIN[0])).one()
        sales.wechat_openid = "o-sales-phone"
        session.add(sales)
        session.commit()
    theirs = signed_in(browser, demo_site, SALES_LOGIN)
    admin = signed_in(browser, demo_site, ADMIN_LOGIN)
    admin.goto(f"{demo_site.base_url}/admin/staff")
    assert "已绑定" in _row(admin, SALES_LOGIN[0]).inner_text()
    admin.goto(f"{demo_site.base_url}/admin/staff/{SALES_LOGIN[0]}")
    admin.click("text=解绑微信")
    admin.wait_for_url(f"{demo_site.base_url}/admin/staff/{SALES_LOGIN[0]}?done=wechat")
    assert admin.inner_text("[data-name=wechat]") == "未绑定"
    assert _user(demo_site, SALES_LOGIN[0]).wechat_openid is None
    theirs.reload()
    assert theirs.url == f"{demo_site.base_url}/admin/login"
    theirs.close()
    admin.close()


def _csrf(page) -> str:
    import json

    return json.loads(page.locator("body").get_attribute("hx-headers"))["x-csrftoken"]


def test_a12_a_salesperson_gets_403_on_staff_and_audit_and_sees_nothing_of_them(demo_site, browser):
    page = signed_in(browser, demo_site, SALES_LOGIN)
    for path in ("/admin/staff", f"/admin/staff/{ADMIN_LOGIN[0]}", "/admin/audit", "/admin/audit?action=user.add"):
        answer = page.goto(demo_site.base_url + path)
        assert answer.status == 403, path
        text = page.inner_text("main")
        assert "只有管理员" in text, path
        for leak in (ADMIN_LOGIN[0], "demo.load", "用户名", "操作者", "添加员工"):
            assert leak not in text, (path, leak)
    # and no change goes through either, token or not
    token = _csrf(page)
    for path, form in (
        ("/admin/staff", {"username": "intruder", "password": NEW[1], "role": "admin"}),
        (f"/admin/staff/{SALES_LOGIN[0]}/role", {"role": "admin"}),
        (f"/admin/staff/{ADMIN_LOGIN[0]}/deactivate", {}),
        (f"/admin/staff/{ADMIN_LOGIN[0]}/password", {"password": RESET}),
    ):
        answer = page.request.post(demo_site.base_url + path, form=form, headers={"x-csrftoken": token})
        assert answer.status == 403, path
    assert _user(demo_site, "intruder") is None
    assert _user(demo_site, SALES_LOGIN[0]).role == StaffRole.SALES
    assert _user(demo_site, ADMIN_LOGIN[0]).active
    page.close()


def test_a12_the_audit_page_lists_the_changes_just_made_and_filters_them(demo_site, browser):
    admin = _add_wangwu(browser, demo_site)
    admin.on("dialog", lambda dialog: dialog.accept())
    admin.goto(f"{demo_site.base_url}/admin/staff/{NEW[0]}")
    admin.fill("#password [name=password]", RESET)
    admin.click("#password button[type=submit]")
    admin.wait_for_url("**done=password")
    admin.goto(f"{demo_site.base_url}/admin/staff")
    _row(admin, NEW[0]).locator("button", has_text="停用").click()
    _row(admin, NEW[0]).locator("[data-name=state]", has_text="已停用").wait_for()

    admin.goto(f"{demo_site.base_url}/admin/audit")
    rows = admin.locator("#audit-log tbody tr")
    actions = [rows.nth(i).get_attribute("data-action") for i in range(3)]
    assert actions == ["user.deactivate", "user.reset_password", "user.add"]  # newest first
    first = rows.nth(0).inner_text()
    assert "管理员 管理员" in first and "停用员工" in first and "员工" in first and '"username": "wangwu"' in first
    assert "载入演示数据" in admin.inner_text("#audit-log")  # the demo data's own row
    shoot(admin, "audit")

    # filter by action (htmx swaps the table and the address keeps the filter)
    admin.select_option("[name=action]", "user.add")
    admin.click("form.filters button[type=submit]")
    admin.wait_for_url("**action=user.add**")
    assert {r.get_attribute("data-action") for r in rows.all()} == {"user.add"}
    assert "wangwu" in admin.inner_text("#audit-log")
    # by actor: the command line loaded the demo data, the admin did none of that
    admin.goto(f"{demo_site.base_url}/admin/audit?who=cli")
    assert {r.get_attribute("data-action") for r in rows.all()} >= {"demo.load"}
    assert all("命令行" in r.inner_text() for r in rows.all())
    admin_id = _user(demo_site, ADMIN_LOGIN[0]).id
    admin.goto(f"{demo_site.base_url}/admin/audit?who=staff-{admin_id}&entity=staff_user")
    assert [r.get_attribute("data-action") for r in rows.all()] == [
        "user.deactivate",
        "user.reset_password",
        "user.add",
    ]
    # by date: today has them, tomorrow nothing; a date typed wrong is shown at its field
    tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()
    admin.goto(f"{demo_site.base_url}/admin/audit?since={tomorrow}")
    assert rows.count() == 0 and "没有符合条件的记录" in admin.inner_text("#audit-log")
    assert not page_errors(admin)
    answer = admin.goto(f"{demo_site.base_url}/admin/audit?until=31.12.2024")
    assert answer.status == 422 and "年-月-日" in admin.inner_text("#e-until")
    admin.close()


def test_a12_the_audit_log_pages(demo_site, browser):
    with Session(demo_site.rt.engine) as session:
        for n in range(60):
            session.add(AuditLog(actor_kind="system", action="test.row", entity="demo", entity_id=str(n)))
        session.commit()
    admin = signed_in(browser, demo_site, ADMIN_LOGIN)
    admin.goto(f"{demo_site.base_url}/admin/audit?action=test.row")
    pager = admin.inner_text(".pager")
    assert "共 60 条" in pager
    first_page = admin.locator("#audit-log tbody tr").count()
    assert 0 < first_page < 60
    admin.click("text=下一页")
    admin.wait_for_url("**page=2**")
    assert "action=test.row" in admin.url  # the filter is kept
    assert admin.locator("#audit-log tbody tr").first.inner_text() != ""
    admin.close()


def test_s1_no_session_redirects_the_staff_and_audit_pages_to_the_login(demo_site):
    for path in ("/admin/staff", "/admin/staff/admin", "/admin/audit"):
        answer = httpx.get(demo_site.base_url + path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/admin/login"), path


def test_a5_an_admin_sets_where_a_salespersons_notices_go(demo_site, browser):
    """Issue #15: each staff user's e-mail, WeCom id and chosen channels, from their page."""
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/staff/{SALES_LOGIN[0]}")
    page.fill("#f-email", "not-an-address")
    page.click("#notify button[type=submit]")
    assert "邮箱地址格式不正确" in page.inner_text("#e-email")
    page.fill("#f-email", "zhangwei@jht.example")
    page.fill("#f-wecom_userid", "zhangwei")
    page.uncheck("#notify input[name=all_channels]")
    page.check("#notify input[name=channels][value=email]")
    page.check("#notify input[name=channels][value=wecom_app]")
    page.click("#notify button[type=submit]")
    page.wait_for_url("**done=notify")
    assert "通知设置已保存" in page.inner_text("#flash")
    with Session(demo_site.rt.engine) as session:
        user = session.exec(select(StaffUser).where(StaffUser.username == SALES_LOGIN[0])).one()
        assert (user.email, user.wecom_userid, user.notify_channels) == (
            "zhangwei@jht.example",
            "zhangwei",
            ["email", "wecom_app"],
        )
        assert session.exec(select(AuditLog).where(AuditLog.action == "user.notify_settings")).first()
    assert page.is_checked("#notify input[name=channels][value=email]")
    assert not page.is_checked("#notify input[name=channels][value=wecom_robot]")
    page.check("#notify input[name=all_channels]")
    page.click("#notify button[type=submit]")
    page.wait_for_url("**done=notify")
    with Session(demo_site.rt.engine) as session:
        assert session.exec(select(StaffUser).where(StaffUser.username == SALES_LOGIN[0])).one().notify_channels is None
    page.close()
