"""Staff users (admins and salespeople): creating them and checking their passwords.

Passwords are hashed with argon2id (argon2-cffi's defaults, which follow RFC 9106).
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from bridge.actors import Actor, audit
from bridge.errors import Conflict, InvalidInput
from bridge.models import StaffRole, StaffUser

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def add_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: StaffRole,
    display_name: str | None = None,
    phone: str | None = None,
    wechat_id: str | None = None,
) -> StaffUser:
    """Create a staff user; a salesperson gets an invite code for their share link."""
    username = username.strip()
    if not username or len(username) > 64 or not username.replace("_", "").replace(".", "").replace("-", "").isalnum():
        raise InvalidInput("用户名只能包含字母、数字、点、下划线和短横线", f"invalid username {username!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"密码至少 {MIN_PASSWORD_LENGTH} 位", f"password must have at least {MIN_PASSWORD_LENGTH} characters"
        )
    if session.exec(select(StaffUser).where(StaffUser.username == username)).first():
        raise Conflict("用户名已存在", f"user {username!r} already exists")
    user = StaffUser(
        username=username,
        display_name=(display_name or username).strip(),
        role=role,
        password_hash=hash_password(password),
        phone=phone,
        wechat_id=wechat_id,
        invite_code=secrets.token_urlsafe(6) if role == StaffRole.SALES else None,
    )
    session.add(user)
    session.flush()
    audit(session, actor, "user.add", "staff_user", user.id, {"username": username, "role": role.value})
    return user
