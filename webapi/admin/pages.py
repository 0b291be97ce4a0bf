"""The pages: login, logout and the 工作台 (dashboard). Each parses, calls one service of
``bridge`` and renders a template; the rules are in ``bridge``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Request, get, post, route
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from bridge import dashboard as dashboards
from bridge.db import read_scope
from bridge.errors import NotSignedIn, TooMany
from webapi.admin.common import Admin, page
from webapi.admin.session import LOGIN, NoSession, provide_admin, session_cookie, sign_in, sign_out
from webapi.auth import runtime


@dataclass
class LoginForm:
    username: str = ""
    password: str = ""


Form = Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)]


def _signed_in(request: Request) -> bool:
    try:
        provide_admin(request)
    except NoSession:
        return False
    return True


@get("/login", sync_to_thread=True)
def login_page(request: Request) -> Template | Redirect:
    """The login form (a signed-in user goes on to the dashboard)."""
    if _signed_in(request):
        return Redirect("/admin/", status_code=303)
    return Template("login.html", context={"username": "", "error": None})


@post("/login", sync_to_thread=True, status_code=303)
def login(request: Request, data: Form) -> Template | Redirect:
    """Username and password → a session cookie and the dashboard; else the form with the error."""
    try:
        session_id = sign_in(request, data.username[:64], data.password[:256])
    except (NotSignedIn, TooMany) as exc:
        status = 429 if isinstance(exc, TooMany) else 401
        context = {"username": data.username[:64], "error": exc.message}
        return Template("login.html", context=context, status_code=status)
    return Redirect("/admin/", status_code=303, cookies=[session_cookie(request, session_id)])


@post("/logout", sync_to_thread=True, status_code=303)
def logout(request: Request, admin: Admin) -> Redirect:
    """End this sign-in and go back to the login page."""
    sign_out(request, admin)
    return Redirect(LOGIN, status_code=303, cookies=[session_cookie(request, None)])


@get("/", sync_to_thread=True)
def home(request: Request, admin: Admin) -> Template:
    """工作台: the counts the signed-in staff user should look at now."""
    with read_scope(runtime(request).engine) as session:
        board = dashboards.dashboard(session, admin.actor, tz=runtime(request).config.bridge.timezone)
    return page("dashboard.html", admin, nav="home", board=board)


@route("/{rest:path}", http_method=["GET", "POST", "PUT", "PATCH", "DELETE"], sync_to_thread=True)
def not_found(request: Request, admin: Admin) -> Template:
    """Any other /admin address, with any method: behind the login and the CSRF check like every
    page, then 页面不存在 (not the API's JSON answer)."""
    return page("error.html", admin, status_code=404, status=404, message="页面不存在")


PUBLIC = [login_page, login]
PAGES = [logout, home, not_found]
