"""S1 for every admin page (issue #14, "Security"): the routes are read off the app itself, so a
page added later is covered without a line here — without a session every address under /admin
but the login answers a redirect to /admin/login, and every unsafe request without the CSRF token
is refused (403) and changes nothing, even with a valid session."""

from __future__ import annotations

import re

import pytest
from litestar.testing import TestClient
from sqlmodel import Session, select

from bridge.actors import CLI_ADMIN
from bridge.demo import ADMIN_LOGIN, load_demo_data
from bridge.models import AuditLog
from tests.api_helpers import make_client

PUBLIC = {("GET", "/admin/login"), ("POST", "/admin/login")}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def admin_routes(app) -> list[tuple[str, str]]:
    """(method, path with its parameters filled with 1) of every admin route."""
    found = set()
    for route in app.routes:
        if not route.path.startswith("/admin"):
            continue
        for method in route.methods:
            if method in ("HEAD", "OPTIONS"):
                continue
            path = re.sub(r"\{[^}]+\}", "1", route.path)
            found.add((method, path))
    return sorted(found)


@pytest.fixture
def app_and_client(engine, tmp_path):
    client, rt = make_client(engine, tmp_path)
    with Session(rt.engine) as session:
        load_demo_data(session, CLI_ADMIN)
        session.commit()
    with client:
        yield client.app, client, rt


def test_s1_the_route_list_is_read_off_the_app(app_and_client):
    app, _, _ = app_and_client
    routes = admin_routes(app)
    paths = {p for _, p in routes}
    pages = (
        "/admin",
        "/admin/orders",
        "/admin/customers",
        "/admin/products",
        "/admin/inquiries",
        "/admin/sync",
        "/admin/staff",
        "/admin/audit",
    )
    for page in pages:
        assert page in paths, f"{page} is not an admin route"
    assert sum(m in UNSAFE for m, _ in routes) >= 15  # the pages' actions


def test_s1_every_admin_address_without_a_session_goes_to_the_login(app_and_client):
    app, client, _ = app_and_client
    for method, path in admin_routes(app):
        if (method, path) in PUBLIC:
            continue
        answer = client.request(method, path, follow_redirects=False, data={"x": "1"} if method in UNSAFE else None)
        if method in UNSAFE:
            # no session and no CSRF token: refused before anything else
            assert answer.status_code in (303, 403), f"{method} {path}: {answer.status_code}"
        else:
            assert (answer.status_code, answer.headers.get("location")) == (303, "/admin/login"), f"{method} {path}"


def _signed_in(client: TestClient) -> str:
    form = client.get("/admin/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)
    answer = client.post(
        "/admin/login",
        data={"username": ADMIN_LOGIN[0], "password": ADMIN_LOGIN[1], "_csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return token


def test_s1_every_unsafe_admin_request_without_the_csrf_token_is_refused(app_and_client):
    app, client, rt = app_and_client
    _signed_in(client)
    with Session(rt.engine) as s:
        before = len(s.exec(select(AuditLog.id)).all())
    unsafe = [(m, p) for m, p in admin_routes(app) if m in UNSAFE and (m, p) not in PUBLIC]
    for method, path in unsafe:
        answer = client.request(method, path, data={"x": "1"}, follow_redirects=False)
        assert answer.status_code == 403, f"{method} {path} without the CSRF token: {answer.status_code}"
        hx = client.request(method, path, data={"x": "1"}, headers={"HX-Request": "true", "x-csrftoken": "forged"})
        assert hx.status_code == 403, f"{method} {path} with a forged token: {hx.status_code}"
    with Session(rt.engine) as s:
        assert len(s.exec(select(AuditLog.id)).all()) == before  # nothing was done
    assert client.get("/admin/", follow_redirects=False).status_code == 200  # still signed in


def test_s1_an_unknown_admin_address_is_the_admin_not_found_page_with_every_method(app_and_client):
    """Any address under /admin that is no page answers the admin's own 页面不存在 (HTML, 404)
    whatever the method — after the login and the CSRF check, as every page."""
    _, client, _ = app_and_client
    assert client.post("/admin/no-such-page", data={"x": "1"}, follow_redirects=False).status_code in (303, 403)
    token = _signed_in(client)
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        answer = client.request(method, "/admin/no-such-page", data={"_csrf_token": token}, follow_redirects=False)
        assert answer.status_code == 404, f"{method}: {answer.status_code}"
        assert answer.headers["content-type"].startswith("text/html"), method
        assert "页面不存在" in answer.text, method
    refused = client.post("/admin/no-such-page", data={"x": "1"}, follow_redirects=False)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
