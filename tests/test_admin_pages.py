"""The admin pages (issue #14, foundation): login, session, CSRF and the 工作台, driven in
Debian's Chromium through Playwright (never ``playwright install``) against a live server."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient
from sqlmodel import Session, select

from bridge import outbox, sessions
from bridge.actors import CLI_ADMIN
from bridge.demo import ADMIN_LOGIN, SALES_LOGIN, load_demo_data
from bridge.models import (
    AuthSession,
    Customer,
    InboxEvent,
    InboxStatus,
    Order,
    OrderStatus,
    OutboxMessage,
    OutboxStatus,
    StaffUser,
)
from bridge.types import utcnow
from tests.api_helpers import LiveServer, make_client
from tests.admin_site import DOCS, SHOTS, log_in, shoot, signed_in
from tests.conftest import count


def _order(session, customer: Customer, n: int, *, released: bool = False, days_ago: int = 0) -> None:
    session.add(
        Order(
            order_no=f"T-{n:04d}",
            customer_id=customer.id,
            status=OrderStatus.PENDING,
            released=released,
            idempotency_key=f"k{n}",
            request_hash="h",
            created_at=utcnow() - timedelta(days=days_ago),
        )
    )


@pytest.fixture
def site(engine, tmp_path):
    """A live bridge with the demo data, plus: the demo salesperson's customer has two orders
    waiting for payment today, one released today and one waiting since three days; another
    salesperson's customer has one waiting today; the outbox has one pending and one dead message;
    a customer has no salesperson; the ERP sent a shipment five minutes ago."""
    client, rt = make_client(engine, tmp_path)
    with Session(rt.engine) as session:
        load_demo_data(session, CLI_ADMIN)
        sales = session.exec(select(StaffUser).where(StaffUser.username == SALES_LOGIN[0])).one()
        mine = session.exec(select(Customer).where(Customer.salesperson_id == sales.id)).first()
        other_sales = StaffUser(username="lisi", display_name="李四", role="sales", password_hash="x")
        session.add(other_sales)
        session.flush()
        theirs = Customer(name="别家客户", type=2, salesperson_id=other_sales.id)
        session.add(theirs)
        session.flush()
        _order(session, mine, 1)
        _order(session, mine, 2)
        _order(session, mine, 3, released=True)
        _order(session, mine, 4, days_ago=3)
        _order(session, theirs, 5)
        session.add(Customer(name="无人跟进的客户", type=1))  # the admins' queue (A10)
        session.add(
            InboxEvent(
                connector="filedrop",
                event_id="e1",
                kind="order.shipment",
                payload={},
                status=InboxStatus.APPLIED,
                received_at=utcnow() - timedelta(minutes=5),
            )
        )
        for n, status in enumerate((OutboxStatus.PENDING, OutboxStatus.DEAD)):
            message = outbox.enqueue(
                session, kind="order.submit", ordering_key=f"k{n}", aggregate_type="order", aggregate_id=n, payload={}
            )
            message.status = status
        session.commit()
        # the demo data queues messages of its own: the page must show all that wait
        pending = count(session, OutboxMessage, OutboxMessage.status == OutboxStatus.PENDING)
        assert pending >= 1
    with LiveServer(client.app) as server:
        server.outbox_pending = pending
        yield server, rt


def _session_id(page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "jht_admin")


def _tile(page, name: str) -> str:
    return page.inner_text(f"[data-name={name}] .num")


def test_s1_admin_logs_in_and_sees_the_dashboard_with_sync_counts(site, browser):
    server, _ = site
    page = signed_in(browser, server, ADMIN_LOGIN)
    assert page.inner_text("h1") == "工作台"
    assert _tile(page, "awaiting-payment") == "4"
    assert _tile(page, "today-orders") == "4"
    assert _tile(page, "outbox-pending") == str(server.outbox_pending)
    assert _tile(page, "outbox-dead") == "1"
    assert _tile(page, "inbox-parked") == "0"
    assert _tile(page, "inbox-quarantined") == "0"
    cookie = next(c for c in page.context.cookies() if c["name"] == "jht_admin")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]  # plain http here
    page.close()


def test_a6_salesperson_dashboard_counts_only_their_customers(site, browser):
    server, _ = site
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    log_in(page, server.base_url, SALES_LOGIN)
    assert _tile(page, "awaiting-payment") == "3"
    assert _tile(page, "today-orders") == "3"
    assert page.locator("[data-name=outbox-dead]").count() == 0  # the sync state is for admins
    assert "业务员" in page.inner_text("header")
    page.close()


def test_wrong_password_gets_the_chinese_error(site, browser):
    server, _ = site
    page = browser.new_page()
    page.goto(f"{server.base_url}/admin/login")
    page.fill("input[name=username]", SALES_LOGIN[0])
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert page.inner_text(".error") == "用户名或密码错误"
    assert page.url == f"{server.base_url}/admin/login"
    assert not [c for c in page.context.cookies() if c["name"] == "jht_admin"]
    page.close()


@pytest.mark.parametrize("path", ["/admin", "/admin/", "/admin/orders", "/admin/anything/at/all"])
def test_s1_no_session_redirects_to_the_login(site, path):
    server, _ = site
    answer = httpx.get(server.base_url + path, follow_redirects=True)
    assert answer.status_code == 200
    assert str(answer.url) == f"{server.base_url}/admin/login"
    assert "员工登录" in answer.text
    forged = httpx.get(server.base_url + path, cookies={"jht_admin": "0" * 32}, follow_redirects=False)
    assert (forged.status_code, forged.headers["location"]) == (303, "/admin/login")  # an unknown session id


def test_post_without_the_csrf_token_is_refused(site, browser):
    server, rt = site
    form = {"username": ADMIN_LOGIN[0], "password": ADMIN_LOGIN[1]}
    assert httpx.post(f"{server.base_url}/admin/login", data=form).status_code == 403
    page = signed_in(browser, server, ADMIN_LOGIN)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    with httpx.Client(base_url=server.base_url, cookies={"jht_admin": cookies["jht_admin"]}) as http:
        assert http.post("/admin/logout").status_code == 403  # the session cookie alone is not enough
        # with the csrf cookie but no token in the form or header: still refused
        http.cookies.set("csrftoken", cookies["csrftoken"])
        assert http.post("/admin/logout", data={"x": "1"}).status_code == 403
    page.reload()
    assert page.url == f"{server.base_url}/admin/"  # still signed in: nothing was done
    page.close()


def test_s1_logout_ends_the_session(site, browser):
    server, rt = site
    page = signed_in(browser, server, ADMIN_LOGIN)
    session_id = _session_id(page)
    page.click("text=退出登录")
    page.wait_for_url(f"{server.base_url}/admin/login")
    page.goto(f"{server.base_url}/admin/")
    assert page.url == f"{server.base_url}/admin/login"
    # the old cookie, replayed, opens nothing: the session itself is ended on the server
    replay = httpx.get(f"{server.base_url}/admin/", cookies={"jht_admin": session_id}, follow_redirects=False)
    assert replay.status_code == 303 and replay.headers["location"] == "/admin/login"
    with Session(rt.engine) as session:
        admin = session.exec(select(StaffUser).where(StaffUser.username == ADMIN_LOGIN[0])).one()
        assert sessions.active_count(session, sessions.Subject(staff_id=admin.id)) == 0
    page.close()


def test_s1_a_deactivated_users_session_stops_working_at_once(site, browser):
    server, rt = site
    page = signed_in(browser, server, SALES_LOGIN)
    with Session(rt.engine) as session:
        # only the flag, not ending the sessions: the pages re-read the user on every request
        user = session.exec(select(StaffUser).where(StaffUser.username == SALES_LOGIN[0])).one()
        user.active = False
        session.add(user)
        session.commit()
    page.reload()
    assert page.url == f"{server.base_url}/admin/login"
    page.close()


def test_s1_a_lapsed_session_sends_the_browser_to_the_login(site, browser):
    server, rt = site
    page = signed_in(browser, server, ADMIN_LOGIN)
    session_id = _session_id(page)
    with Session(rt.engine) as session:
        row = session.get(AuthSession, session_id)
        assert row.expires_at - utcnow() > timedelta(seconds=rt.config.security.admin_session_ttl_s - 60)
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    page.reload()
    assert page.url == f"{server.base_url}/admin/login"
    page.close()


def test_s1_session_cookie_is_secure_over_https(engine, tmp_path):
    client, rt = make_client(engine, tmp_path)
    with Session(rt.engine) as session:
        load_demo_data(session, CLI_ADMIN)
        session.commit()
    with TestClient(app=client.app, base_url="https://admin.local") as https:
        form = https.get("/admin/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)
        answer = https.post(
            "/admin/login",
            data={"username": ADMIN_LOGIN[0], "password": ADMIN_LOGIN[1], "_csrf_token": token},
            follow_redirects=False,
        )
    assert answer.status_code == 303
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("jht_admin="))
    assert {"HttpOnly", "Secure", "SameSite=strict"} <= {part.strip() for part in cookie.split(";")}


def test_screenshots_of_the_login_and_the_dashboard(site, browser):
    server, _ = site
    page = browser.new_page()
    page.goto(f"{server.base_url}/admin/login")
    shoot(page, "login")
    log_in(page, server.base_url, ADMIN_LOGIN)
    page.wait_for_selector("#health[data-verdict]")  # the check's report, loaded by htmx
    assert page.inner_text("[data-name=unassigned-customers] .num") == "1"
    shoot(page, "dashboard")
    page.close()


WEBAPI_ADMIN = Path(__file__).resolve().parent.parent / "webapi" / "admin"
SQL_MODULES = ("sqlalchemy", "sqlmodel")
SESSION_CALLS = {"exec", "execute", "add", "add_all", "delete", "flush", "get", "scalar", "scalars", "merge", "query"}


def sql_in_admin_pages(root: Path = WEBAPI_ADMIN) -> list[str]:
    """Where a module of webapi/admin touches the database itself: an import of SQLAlchemy or
    SQLModel (``Session`` for a type hint excepted) or a query / change called on a ``session``
    (the models may be imported for their types and enums)."""
    import ast

    found = []
    for path in sorted(root.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(SQL_MODULES):
                names = {a.name for a in node.names}
                if names - {"Session"} or node.module != "sqlmodel":
                    found.append(f"{path.name}:{node.lineno} from {node.module} import {', '.join(sorted(names))}")
            elif isinstance(node, ast.Import):
                found += [
                    f"{path.name}:{node.lineno} import {a.name}" for a in node.names if a.name.startswith(SQL_MODULES)
                ]
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SESSION_CALLS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "session"
            ):
                found.append(f"{path.name}:{node.lineno} session.{node.func.attr}(…)")
    return found


def test_the_page_handlers_hold_no_sql_and_no_rule():
    """The admin pages call the services of bridge/: no query and no model in webapi/admin."""
    assert not sql_in_admin_pages(), "SQL in the admin pages:\n  " + "\n  ".join(sql_in_admin_pages())


def test_the_sql_check_finds_a_query_in_a_page(tmp_path):
    (tmp_path / "bad.py").write_text(
        "from sqlmodel import Session, select\nfrom bridge.models import Order\n\n"
        "def h(session):\n    return session.exec(select(Order)).all()\n"
    )
    assert len(sql_in_admin_pages(tmp_path)) == 2  # the select import and the session.exec


def test_every_admin_screenshot_is_linked_from_the_readme():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    names = {p.stem.removesuffix("-phone") for p in DOCS.glob("*.png")} | SHOTS
    assert {"login", "dashboard"} <= names
    missing = [
        f"docs/admin/{n}{suffix}.png"
        for n in sorted(names)
        for suffix in ("", "-phone")
        if f"(docs/admin/{n}{suffix}.png)" not in readme
    ]
    assert not missing, f"README does not link: {missing}"
