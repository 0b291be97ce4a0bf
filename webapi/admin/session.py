"""Signing staff in and out of the admin pages, and the guard in front of every page.

A login (``bridge.users.sign_in``, with the API's login limiter and failure log) opens a
``bridge.sessions`` session; its id travels in an HttpOnly, SameSite=Strict cookie (Secure on
https). Every request re-reads the user and the session (``bridge.users.signed_in_staff``): a
deactivated user, a logout or a lapsed session ends access at once, and the browser is sent to
the login page.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException
from litestar.response import Redirect

from bridge import sessions, users
from bridge.actors import Actor
from bridge.db import read_scope, session_scope
from bridge.errors import NotSignedIn
from bridge.models import StaffRole, StaffUser
from webapi.auth import client_address, runtime, staff_sign_in

COOKIE = "jht_admin"
LOGIN = "/admin/login"


@dataclass(frozen=True)
class AdminUser:
    """The staff user behind the session cookie, as they are now."""

    id: int
    username: str
    display_name: str | None
    role: StaffRole
    session_id: str

    @property
    def actor(self) -> Actor:
        return Actor.admin(self.id) if self.role == StaffRole.ADMIN else Actor.sales(self.id)

    @property
    def is_admin(self) -> bool:
        return self.role == StaffRole.ADMIN


class NoSession(NotAuthorizedException):
    """No valid admin session: the exception handler sends the browser to the login page."""


def provide_admin(request: Request) -> AdminUser:
    """The signed-in staff user of this request, re-read now, or NoSession."""
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        raise NoSession()
    with read_scope(runtime(request).engine) as session:
        try:
            user: StaffUser = users.staff_of_session(session, session_id)
        except NotSignedIn:
            raise NoSession() from None
        admin = AdminUser(user.id, user.username, user.display_name, user.role, session_id)
    request.scope["jht_admin"] = admin  # type: ignore[typeddict-unknown-key]  # for the error page
    return admin


def to_login(request: Request, exc: Exception) -> Redirect:
    return Redirect(LOGIN, status_code=303)


def sign_in(request: Request, username: str, password: str) -> str:
    """Check the password (the login rule and limits of the API) and open a session; its id."""
    engine = runtime(request).engine
    checked = staff_sign_in(request, engine, username, password, via="admin pages")
    with session_scope(engine) as session:
        user = users.current_staff(session, checked.id)  # as they are now: still there and active
        auth = sessions.open_session(
            session, sessions.Subject(staff_id=user.id), ttl_s=ttl_s(request), client=client_address(request)
        )
        return auth.id


def sign_out(request: Request, user: AdminUser) -> None:
    with session_scope(runtime(request).engine) as session:
        sessions.end(session, user.session_id, "logout")


def ttl_s(request: Request) -> int:
    return runtime(request).config.security.admin_session_ttl_s


def session_cookie(request: Request, session_id: str | None) -> Cookie:
    """The cookie naming ``session_id`` (None: the cookie that removes it)."""
    return Cookie(
        key=COOKIE,
        value=session_id or "",
        path="/admin",
        max_age=ttl_s(request) if session_id else 0,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
