"""Who is calling: bearer tokens issued by the bridge, and the login rate limit.

Tokens are JWTs (PyJWT, HS256) signed with the bridge's own key (``security.token_secret`` /
``token_secret_file``): a short-lived access token and a longer refresh token, each saying whose
it is (a customer's account or a staff user) and which kind it is, so a refresh token is never
accepted as an access token and a customer's token never opens a salesperson's endpoint.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException

from bridge.actors import Actor
from bridge.config import Config
from bridge.errors import DomainError
from bridge.models import StaffRole

ISSUER = "jht-bridge"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid access token."""

    kind: Literal["customer", "staff"]
    account_id: int | None = None
    customer_id: int | None = None
    staff_id: int | None = None
    role: StaffRole | None = None

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

    def issue(self, principal: Principal) -> dict[str, Any]:
        """An access and a refresh token for ``principal``, as the login answer carries them."""
        return {
            "access_token": self._encode(principal, "access", self.access_ttl),
            "refresh_token": self._encode(principal, "refresh", self.refresh_ttl),
            "token_type": "Bearer",
            "expires_in": self.access_ttl,
        }

    def _encode(self, p: Principal, typ: str, ttl: int) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "typ": typ,
            "sub": f"{p.kind}:{p.account_id if p.kind == 'customer' else p.staff_id}",
            "cid": p.customer_id,
            "role": p.role.value if p.role else None,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.key, algorithm="HS256")

    def verify(self, token: str, typ: str = "access") -> Principal:
        try:
            claims = jwt.decode(token, self.key, algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp", "sub", "typ"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("登录已过期，请重新登录", "token expired", code="token_expired") from None
        except jwt.PyJWTError:
            raise Unauthorized("登录信息无效，请重新登录", "invalid token") from None
        if claims.get("typ") != typ:
            raise Unauthorized("登录信息无效，请重新登录", f"a {claims.get('typ')} token where a {typ} token is needed")
        kind, _, ident = str(claims["sub"]).partition(":")
        if kind == "customer" and ident.isdigit() and isinstance(claims.get("cid"), int):
            return Principal("customer", account_id=int(ident), customer_id=claims["cid"])
        if kind == "staff" and ident.isdigit() and claims.get("role") in ("admin", "sales"):
            return Principal("staff", staff_id=int(ident), role=StaffRole(claims["role"]))
        raise Unauthorized("登录信息无效，请重新登录", "malformed token subject")


def bearer(connection: ASGIConnection) -> str:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("请先登录", "missing bearer token", code="login_required")
    return token.strip()


class LoginLimiter:
    """At most N logins per minute per key (address, username): a sliding window in memory.
    Per process; behind several API replicas each counts its own."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                window = self._hits.setdefault(key, deque())
                while window and now - window[0] > 60:
                    window.popleft()
                if len(window) >= self.per_minute:
                    raise RateLimited("登录过于频繁，请稍后再试", f"login rate limit reached for {key}", retry_after_s=60)
                window.append(now)


def not_authorized(message: str) -> NotAuthorizedException:
    return NotAuthorizedException(message)
