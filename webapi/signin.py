"""Signing in and out, both APIs: the mini-program's WeChat login, token refresh and logout, the
WeChat phone binding (C10, scenario 2); staff login by password or by a bound WeChat account.

The rules are ``bridge.accounts`` and ``bridge.users``; tokens and login limits ``webapi.auth``.
"""

from __future__ import annotations

import msgspec
from litestar import Request, get, post
from litestar.params import JSONBody

from bridge import accounts, sessions, users
from bridge.db import read_scope, session_scope
from bridge.errors import NotSignedIn
from webapi import fields, views
from webapi.auth import (
    Me,
    Principal,
    Staff,
    Unauthorized,
    client_address,
    login_failed,
    runtime,
    signed_in,
    staff_sign_in,
)


class CustomerLoginBody(msgspec.Struct):
    code: fields.token(1, 128)
    """The code of ``wx.login``."""
    invite: fields.line(32) | None = None
    """A salesperson's invite code (the mini-program link they shared)."""


class RefreshBody(msgspec.Struct):
    refresh_token: fields.token(10, 2048)


class WechatCodeBody(msgspec.Struct):
    code: fields.token(1, 128)


class StaffLoginBody(msgspec.Struct):
    username: fields.token(1, 64)
    password: fields.token(1, 256)


def _refresh_ttl(request: Request) -> int:
    return runtime(request).config.security.refresh_ttl_s


def _rotated(request: Request, session, principal: Principal):
    """The session of ``principal``'s refresh token, rotated; None when the token was used before
    (the whole session is then ended, and that is committed)."""
    return sessions.rotate(
        session, principal.session_id, principal.token_id, principal.subject, ttl_s=_refresh_ttl(request)
    )


def _session_ended() -> NotSignedIn:
    return Unauthorized(
        "登录已失效，请重新登录", "refresh token used twice: the session is ended", code="session_ended"
    )


# --------------------------------------------------------------------------- the mini-program


@post("/auth/login", sync_to_thread=True, operation_id="mpLogin", tags=["mp auth"])
def customer_login(request: Request, data: JSONBody[CustomerLoginBody]) -> views.CustomerLogin:
    """WeChat login: exchange the ``wx.login`` code for the bridge's own tokens; a first login
    creates the account and a new customer (default type; salesperson from the invite code)."""
    request.app.state.wechat_limiter.attempt(client_address(request))
    info = request.app.state.wechat.code2session(data.code)
    with session_scope(runtime(request).engine) as session:
        found = accounts.wechat_login(
            session, info.openid, info.unionid, invite=data.invite, settings=runtime(request).config.customers
        )
        auth = sessions.open_session(
            session,
            sessions.Subject(account_id=found.account.id),
            ttl_s=_refresh_ttl(request),
            client=client_address(request),
        )
        principal = Principal("customer", account_id=found.account.id, customer_id=found.customer.id)
        customer = views.TypedCustomerRef(id=found.customer.id, name=found.customer.name, type=found.customer.type)
        return views.CustomerLogin(
            **request.app.state.tokens.issue(principal, auth), new_customer=found.created, customer=customer
        )


@post("/auth/refresh", sync_to_thread=True, operation_id="mpRefresh", tags=["mp auth"])
def customer_refresh(request: Request, data: JSONBody[RefreshBody]) -> views.TokenPair:
    """New access and refresh tokens for a valid refresh token, which is used up; presenting a
    used-up refresh token again ends the whole session (S1)."""
    tokens = request.app.state.tokens
    principal = tokens.verify(data.refresh_token, "refresh")
    if principal.kind != "customer":
        raise Unauthorized("请使用小程序登录", "a staff token on a customer endpoint", code="wrong_token")
    with session_scope(runtime(request).engine) as session:
        account, customer = accounts.signed_in_account(session, principal.account_id)
        auth = _rotated(request, session, principal)
        answer = (
            None
            if auth is None
            else tokens.issue(Principal("customer", account_id=account.id, customer_id=customer.id), auth)
        )
    if answer is None:  # committed: the session is ended
        raise _session_ended()
    return views.TokenPair(**answer)


@post("/auth/logout", sync_to_thread=True, operation_id="mpLogout", tags=["mp auth"], status_code=200)
def customer_logout(request: Request, me: Me) -> views.LoggedOut:
    """End this sign-in: its access and refresh tokens stop working at once."""
    with session_scope(runtime(request).engine) as session:
        signed_in(session, me)
        sessions.end(session, me.session_id, "logout")
    return views.LoggedOut(logged_out=True)


@post("/auth/phone", sync_to_thread=True, operation_id="mpBindPhone", tags=["mp auth"])
def bind_phone(request: Request, data: JSONBody[WechatCodeBody], me: Me) -> views.PhoneBound:
    """Bind the WeChat phone number to this account; when a salesperson registered that phone on
    a customer, this account joins that customer (scenario 2) and gets tokens naming it."""
    phone = request.app.state.wechat.phone_number(data.code)
    with session_scope(runtime(request).engine) as session:
        account, _ = accounts.signed_in_account(session, me.account_id)
        auth = sessions.check_active(session, me.session_id, me.subject)
        binding = accounts.bind_phone(session, me.actor, account, phone)
        principal = Principal("customer", account_id=account.id, customer_id=binding.customer.id)
        return views.PhoneBound(
            **request.app.state.tokens.issue(principal, auth),
            phone=binding.phone,
            customer=views.CustomerRef(id=binding.customer.id, name=binding.customer.name),
            joined_registered_customer=binding.joined,
        )


# --------------------------------------------------------------------------- staff


def _staff_tokens(request: Request, session, user, auth=None) -> views.StaffLogin:
    """The login answer: tokens of a new session (or of ``auth``, on a refresh) and the user."""
    if auth is None:
        auth = sessions.open_session(
            session, sessions.Subject(staff_id=user.id), ttl_s=_refresh_ttl(request), client=client_address(request)
        )
    principal = Principal("staff", staff_id=user.id, role=user.role)
    return views.StaffLogin(**request.app.state.tokens.issue(principal, auth), user=views.staff_user_view(user))


@post("/auth/login", sync_to_thread=True, operation_id="salesLogin", tags=["sales auth"])
def staff_login(request: Request, data: JSONBody[StaffLoginBody]) -> views.StaffLogin:
    """Username and password → tokens; a wrong username and a wrong password get the same answer,
    attempts are limited per address and per username, and every failure is logged."""
    engine = runtime(request).engine
    checked = staff_sign_in(request, engine, data.username, data.password)
    with session_scope(engine) as session:
        user = users.current_staff(session, checked.id)  # as they are now: still there and active
        return _staff_tokens(request, session, user)


@post("/auth/refresh", sync_to_thread=True, operation_id="salesRefresh", tags=["sales auth"])
def staff_refresh(request: Request, data: JSONBody[RefreshBody]) -> views.StaffLogin:
    """New tokens for a valid staff refresh token while the user is still active; the one
    presented is used up, and presenting it again ends the whole session (S1)."""
    principal = request.app.state.tokens.verify(data.refresh_token, "refresh")
    if principal.kind != "staff":
        raise Unauthorized("请使用员工账号登录", "a customer token on a staff endpoint", code="wrong_token")
    with session_scope(runtime(request).engine) as session:
        user = users.current_staff(session, principal.staff_id)
        auth = _rotated(request, session, principal)
        answer = None if auth is None else _staff_tokens(request, session, user, auth)
    if answer is None:  # committed: the session is ended
        raise _session_ended()
    return answer


@post("/auth/logout", sync_to_thread=True, operation_id="salesLogout", tags=["sales auth"], status_code=200)
def staff_logout(request: Request, staff: Staff) -> views.LoggedOut:
    """End this sign-in: its access and refresh tokens stop working at once."""
    with session_scope(runtime(request).engine) as session:
        sessions.end(session, staff.session_id, "logout")
    return views.LoggedOut(logged_out=True)


@post("/auth/wechat/login", sync_to_thread=True, operation_id="salesWechatLogin", tags=["sales auth"])
def staff_wechat_login(request: Request, data: JSONBody[WechatCodeBody]) -> views.StaffLogin:
    """Log in from the phone with the WeChat account bound earlier (``/auth/wechat/bind``)."""
    request.app.state.wechat_limiter.attempt(client_address(request))
    openid = request.app.state.wechat.code2session(data.code).openid
    with session_scope(runtime(request).engine) as session:
        try:
            user = users.wechat_sign_in(session, openid)
        except NotSignedIn as exc:
            if exc.code == "account_disabled":
                login_failed(client_address(request), "(wechat)", f"{exc.detail} (WeChat login)")
            raise
        return _staff_tokens(request, session, user)


@post("/auth/wechat/bind", sync_to_thread=True, operation_id="salesWechatBind", tags=["sales auth"], status_code=200)
def staff_wechat_bind(request: Request, data: JSONBody[WechatCodeBody], staff: Staff) -> views.StaffUserView:
    """Bind the caller's WeChat account, so later logins from the phone need no password."""
    openid = request.app.state.wechat.code2session(data.code).openid
    with session_scope(runtime(request).engine) as session:
        user = users.current_staff(session, staff.staff_id)
        return views.staff_user_view(users.bind_wechat(session, staff.actor, user, openid))


@get("/me", sync_to_thread=True, operation_id="salesMe", tags=["sales auth"])
def staff_me(request: Request, staff: Staff) -> views.StaffUserView:
    """The signed-in staff user."""
    with read_scope(runtime(request).engine) as session:
        return views.staff_user_view(users.current_staff(session, staff.staff_id))


MP_PUBLIC = [customer_login, customer_refresh]
MP = [customer_logout, bind_phone]
SALES_PUBLIC = [staff_login, staff_refresh, staff_wechat_login]
SALES = [staff_logout, staff_wechat_bind, staff_me]
