"""Who is calling: bearer tokens issued by the bridge, the caller's address, and the login limits.

Tokens are JWTs (PyJWT, HS256) signed with the bridge's own key (``security.token_secret`` /
``token_secret_file``): a short-lived access token and a longer refresh token, each saying whose
it is (a customer's account or a staff user), which kind it is (so a refresh token is never
accepted as an access token and a customer's token never opens a salesperson's endpoint) and
which sign-in session it belongs to (``sid``). A token is only as good as its session
(``bridge.sessions``): the handlers check the session on every request, so ending it — logout,
unbinding, deactivation, a password reset, a refresh token used twice — ends the token at once.
"""

from __future__ import annotations

import ipaddress
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import jwt
import sqlalchemy as sa
from litestar import Request
from litestar.di import NamedDependency
from litestar.connection import ASGIConnection
from sqlalchemy.engine import Engine

from bridge.accounts import signed_in as signed_in_account
from bridge.actors import Actor
from bridge.config import Config
from bridge.db import read_scope, session_scope
from bridge.errors import NotSignedIn, TooMany
from bridge.logs import get_logger
from bridge.models import AuthSession, LoginFailure, StaffRole
from bridge.sessions import Subject
from bridge.types import utcnow
from bridge.users import sign_in, signed_in_staff

ISSUER = "jht-bridge"
Unauthorized = NotSignedIn
"""401: not signed in (kept under the name the handlers use)."""
RateLimited = TooMany

log = get_logger("webapi.auth")


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid token."""

    kind: Literal["customer", "staff"]
    account_id: int | None = None
    customer_id: int | None = None
    staff_id: int | None = None
    role: StaffRole | None = None
    session_id: str | None = None
    """The sign-in session the token belongs to."""
    token_id: str | None = None
    """The token's own id (``jti``): for a refresh token, what rotation compares."""

    @property
    def actor(self) -> Actor:
        if self.kind == "customer":
            return Actor.customer(self.customer_id, self.account_id)
        if self.role == StaffRole.ADMIN:
            return Actor.admin(self.staff_id)
        return Actor.sales(self.staff_id)

    @property
    def is_admin(self) -> bool:
        return self.role == StaffRole.ADMIN

    @property
    def subject(self) -> Subject:
        return Subject(account_id=self.account_id) if self.kind == "customer" else Subject(staff_id=self.staff_id)


class Tokens:
    def __init__(self, config: Config):
        key = config.security.token_key()
        if not key:
            raise ValueError(
                "no token signing key: set JHT_SECURITY__TOKEN_SECRET or security.token_secret_file "
                "(`jht-bridge init` makes one)"
            )
        self.key = key
        self.access_ttl = config.security.access_ttl_s
        self.refresh_ttl = config.security.refresh_ttl_s

    def issue(self, principal: Principal, auth: AuthSession) -> dict[str, Any]:
        """An access token and the session's current refresh token for ``principal``, as the
        login and refresh answers carry them."""
        now = int(time.time())
        refresh_exp = int(_timestamp(auth.expires_at))
        return {
            "access_token": self._encode(principal, auth.id, "access", uuid.uuid4().hex, now, now + self.access_ttl),
            "refresh_token": self._encode(principal, auth.id, "refresh", auth.refresh_jti, now, refresh_exp),
            "token_type": "Bearer",
            "expires_in": self.access_ttl,
        }

    def _encode(self, p: Principal, sid: str, typ: str, jti: str, iat: int, exp: int) -> str:
        claims = {
            "iss": ISSUER,
            "typ": typ,
            "sub": f"{p.kind}:{p.account_id if p.kind == 'customer' else p.staff_id}",
            "sid": sid,
            "cid": p.customer_id,
            "role": p.role.value if p.role else None,
            "iat": iat,
            "exp": exp,
            "jti": jti,
        }
        return jwt.encode(claims, self.key, algorithm="HS256")

    def verify(self, token: str, typ: str = "access") -> Principal:
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=["HS256"],
                issuer=ISSUER,
                options={"require": ["exp", "sub", "typ", "sid", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("登录已过期，请重新登录", "token expired", code="token_expired") from None
        except jwt.PyJWTError:
            raise Unauthorized("登录信息无效，请重新登录", "invalid token") from None
        if claims.get("typ") != typ:
            raise Unauthorized("登录信息无效，请重新登录", f"a {claims.get('typ')} token where a {typ} token is needed")
        sid, jti = claims.get("sid"), claims.get("jti")
        if not isinstance(sid, str) or not isinstance(jti, str):
            raise Unauthorized("登录信息无效，请重新登录", "malformed token session")
        kind, _, ident = str(claims["sub"]).partition(":")
        if kind == "customer" and ident.isdigit() and isinstance(claims.get("cid"), int):
            return Principal("customer", account_id=int(ident), customer_id=claims["cid"], session_id=sid, token_id=jti)
        if kind == "staff" and ident.isdigit() and claims.get("role") in ("admin", "sales"):
            return Principal("staff", staff_id=int(ident), role=StaffRole(claims["role"]), session_id=sid, token_id=jti)
        raise Unauthorized("登录信息无效，请重新登录", "malformed token subject")


def _timestamp(value: datetime) -> float:
    return value.timestamp()


def bearer(connection: ASGIConnection) -> str:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("请先登录", "missing bearer token", code="login_required")
    return token.strip()


# --------------------------------------------------------------------------- the caller's address


def client_address(connection: ASGIConnection) -> str:
    """The caller's IP address. Forwarded headers (``X-Forwarded-For``) are believed only from the
    proxies named in ``api.trusted_proxies``: the server is set up that way (``bridge.app.server_config``),
    so this is the peer's address, or the client's as a trusted proxy reported it."""
    return connection.client.host if connection.client else "-"


def is_local(connection: ASGIConnection) -> bool:
    """Is the caller on this machine? Not when the request came through a proxy (it carries
    forwarded headers): a proxy on this machine would make every internet caller look local."""
    headers = connection.headers
    if any(name in headers for name in ("x-forwarded-for", "forwarded", "x-real-ip")):
        return False
    try:
        return ipaddress.ip_address(client_address(connection)).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------- login limits


class LoginLimiter:
    """Login attempts, limited three ways:

    - per address: at most ``per_minute`` attempts a minute, whatever the username (in this
      replica's memory: behind a proxy, an address's logins go to one replica);
    - per (username, address): at most ``per_minute`` wrong passwords a minute — a guesser at one
      address is stopped, and the account's owner at another address is not;
    - per username, from every address together: once ``per_minute × 3`` wrong passwords fell in
      15 minutes, one attempt at that username every few seconds after the last wrong one, the
      wait doubling with each further ``per_minute`` failures up to 5 minutes. Guessing spread
      over many addresses slows to a crawl, while the owner is kept waiting minutes at most, never
      locked out.

    The wrong passwords are kept in the database (``login_failure``, 15 minutes), so every API
    replica counts the same ones. ``failed`` and ``succeeded`` write in a transaction of their
    own: call them outside any other (``staff_sign_in`` does).
    """

    WINDOW_S = 60
    GLOBAL_WINDOW_S = 15 * 60
    MAX_GAP_S = 300

    def __init__(self, per_minute: int, engine: Engine | None = None, *, clock=time.monotonic, wall=utcnow):
        self.per_minute = per_minute
        self.engine = engine
        self.clock = clock
        self.wall = wall
        self._attempts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _trim(window: deque[float], now: float, span: float) -> deque[float]:
        while window and now - window[0] > span:
            window.popleft()
        return window

    def _gap(self, failures: int) -> float:
        """Seconds between attempts at a username with ``failures`` recent wrong passwords."""
        threshold = self.per_minute * 3
        if failures < threshold:
            return 0.0
        return min(self.MAX_GAP_S, 5.0 * 2 ** ((failures - threshold) // self.per_minute))

    def attempt(self, address: str, username: str | None = None) -> None:
        """Count an attempt; TooMany (with Retry-After) when one of the limits is reached."""
        now = self.clock()
        with self._lock:
            self._sweep(now)
            per_address = self._trim(self._attempts.setdefault(f"ip:{address}", deque()), now, self.WINDOW_S)
            if len(per_address) >= self.per_minute:
                retry = int(self.WINDOW_S - (now - per_address[0])) + 1
                raise TooMany(
                    "登录过于频繁，请稍后再试", f"login rate limit reached for address {address}", retry_after_s=retry
                )
        if username is not None and self.engine is not None:
            self._check_failures(address, _user_key(username))
        with self._lock:
            per_address.append(now)

    def _check_failures(self, address: str, user: str) -> None:
        now = self.wall()
        pair = sa.and_(_FAILURE.c.address == address[:64], _FAILURE.c.at > now - timedelta(seconds=self.WINDOW_S))
        counted = sa.select(
            sa.func.count(),
            sa.func.max(_FAILURE.c.at),
            sa.func.coalesce(sa.func.sum(sa.case((pair, 1), else_=0)), 0),
            sa.func.min(sa.case((pair, _FAILURE.c.at))),
        ).where(_FAILURE.c.username == user, _FAILURE.c.at > now - timedelta(seconds=self.GLOBAL_WINDOW_S))
        with read_scope(self.engine) as session:
            failures, last, from_here, first_here = session.execute(counted).one()
        if from_here >= self.per_minute:
            retry = int(self.WINDOW_S - (now - first_here).total_seconds()) + 1
            raise TooMany(
                "密码错误次数过多，请稍后再试",
                f"too many wrong passwords for {user!r} from {address}",
                retry_after_s=max(retry, 1),
            )
        gap = self._gap(failures)
        waited = (now - last).total_seconds() if last is not None else gap
        if gap and waited < gap:
            raise TooMany(
                "该账号登录失败次数过多，请稍后再试",
                f"{failures} wrong passwords for {user!r} in 15 min: one attempt every {gap:.0f} s",
                retry_after_s=int(gap - waited) + 1,
            )

    def failed(self, address: str, username: str) -> None:
        """A wrong password (or unknown username) for ``username`` from ``address``; failures
        older than the 15 minutes counted are deleted on the way."""
        if self.engine is None:
            return
        now = self.wall()
        with session_scope(self.engine) as session:
            session.execute(sa.insert(_FAILURE).values(username=_user_key(username), address=address[:64], at=now))
            session.execute(sa.delete(_FAILURE).where(_FAILURE.c.at < now - timedelta(seconds=self.GLOBAL_WINDOW_S)))

    def succeeded(self, address: str, username: str) -> None:
        """The right password: this address's failures for the username are forgotten."""
        if self.engine is None:
            return
        with session_scope(self.engine) as session:
            session.execute(
                sa.delete(_FAILURE).where(
                    _FAILURE.c.username == _user_key(username), _FAILURE.c.address == address[:64]
                )
            )

    def _sweep(self, now: float) -> None:
        # Keep memory bounded under a flood of addresses: drop empty windows now and then
        # (cheap: only when the table grew large).
        if len(self._attempts) < 10_000:
            return
        for key in [k for k, w in self._attempts.items() if not self._trim(w, now, self.WINDOW_S)]:
            del self._attempts[key]


_FAILURE = LoginFailure.__table__


def _user_key(username: str) -> str:
    return username.strip().lower()[:64]


def login_failed(address: str, username: str, reason: str) -> None:
    """Every failed staff login leaves a line (never the password)."""
    log.warning("staff login failed", username=username[:64], client=address, reason=reason)


def staff_sign_in(connection: ASGIConnection, engine: Engine, username: str, password: str, *, via: str | None = None):
    """``bridge.users.sign_in`` behind the login limits of ``app.state.login_limiter`` (per
    address and per username), every failure logged (``via``: where, when not the API). The staff
    user (detached: the caller reads them again in its own transaction), or NotSignedIn /
    TooMany. The password is checked in a read transaction, so a login never holds SQLite's
    write lock while the password hash takes its time (argon2: a tenth of a second and more)."""
    username = username.strip()
    address = client_address(connection)
    limiter = connection.app.state.login_limiter
    limiter.attempt(address, username)
    try:
        with read_scope(engine) as session:
            user = sign_in(session, username, password)
    except NotSignedIn as exc:
        if exc.code == "bad_credentials":
            limiter.failed(address, username)
        reason = exc.detail or exc.code
        login_failed(address, username, f"{reason} ({via})" if via else reason)
        raise
    limiter.succeeded(address, username)
    return user


# --------------------------------------------------------------------------- who is calling (dependencies)

Me = NamedDependency[Principal]
"""A handler parameter ``me``: the customer calling (``provide_customer``)."""
Staff = NamedDependency[Principal]
"""A handler parameter ``staff``: the staff user calling (``provide_staff``)."""


def runtime(connection: ASGIConnection):
    """The running bridge behind the app (``bridge.runtime.Runtime``)."""
    return connection.app.state.runtime


def wake_dispatcher(connection: ASGIConnection) -> None:
    """Tell the outbox loop a message waits, so the ERP hears of it now (not at the next poll)."""
    wake = getattr(connection.app.state, "wake_dispatcher", None)
    if wake:
        wake()


def provide_customer(request: Request) -> Principal:
    """The customer behind the bearer token (a staff token is refused here)."""
    principal = request.app.state.tokens.verify(bearer(request))
    if principal.kind != "customer":
        raise Unauthorized("请使用小程序登录", "a staff token on a customer endpoint", code="wrong_token")
    return principal


def provide_staff(request: Request) -> Principal:
    """The staff user behind the bearer token, as they are *now*: a customer's token is refused,
    and so is the token of a user deleted or deactivated since it was issued, or of a session
    that ended. The role comes from the database, so a demoted admin loses admin rights at once."""
    principal = request.app.state.tokens.verify(bearer(request))
    if principal.kind != "staff":
        raise Unauthorized("请使用员工账号登录", "a customer token on a staff endpoint", code="wrong_token")
    with read_scope(runtime(request).engine) as session:
        user = signed_in_staff(session, principal.staff_id, principal.session_id)
        return Principal("staff", staff_id=user.id, role=user.role, session_id=principal.session_id)


@dataclass(frozen=True)
class SignedIn:
    """A customer's caller, checked against the database: their account, their (surviving)
    customer, and the actor the services are called as."""

    account: Any
    customer: Any
    actor: Actor


def signed_in(session, me: Principal) -> SignedIn:
    account, customer = signed_in_account(session, me.account_id, me.session_id)
    return SignedIn(account, customer, Actor.customer(customer.id, account.id))
