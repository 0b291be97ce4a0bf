"""Staff users (admins and salespeople): creating and managing them, their passwords, signing
in (password or a bound WeChat account), and who answers a customer (``contact_for``).

Every change to a staff user goes through this module, and each writes an audit row: adding
one, deactivating and activating, a password reset, a change of role, unbinding their WeChat,
ending their sign-in sessions. Anything that takes an account away from someone (deactivation, a
password reset, unbinding their WeChat, "end sessions") ends every sign-in session of that user
at once (``bridge.sessions``), so no token issued before outlives it. Neither deactivating nor
demoting may leave the shop without an active admin.

Passwords are hashed with argon2id (argon2-cffi's defaults, which follow RFC 9106) and must pass
``check_password``: long enough, and not one of the common or easily guessed ones.
"""

from __future__ import annotations

import secrets
import threading
import dataclasses
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from bridge import sessions
from bridge.actors import Actor, audit
from bridge.errors import Conflict, Forbidden, InvalidInput, NotFound, NotSignedIn
from bridge.logs import get_logger
from bridge.models import ActorKind, AuthSession, Customer, StaffRole, StaffUser
from bridge.text import check_text

log = get_logger("bridge.users")

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
"""The staff login takes passwords up to this length (webapi/signin.py): a longer one could never sign in."""
MIN_PASSWORD_SCORE = 3
"""zxcvbn's score (0–4) a password needs: 3 is "safely unguessable" for an online attack."""

_ZXCVBN_MAX = 72
# zxcvbn keeps the user inputs of a call in a module-level dictionary, so two checks at once
# (API requests run in threads) could score one password against the other's username.
_zxcvbn_lock = threading.Lock()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@dataclass(frozen=True)
class NewPassword:
    """A new password that passed ``check_password`` for ``username`` and ``display_name``,
    hashed (``new_password``). Made before the write transaction that stores it: the hash
    (argon2id) takes a tenth of a second or more, and on SQLite every other writer, order
    placement among them, would wait that long for the write lock."""

    username: str
    display_name: str | None
    hash: str = dataclasses.field(repr=False)

    def fits(self, username: str, display_name: str | None) -> bool:
        return (self.username, self.display_name) == (username, display_name)


def new_password(password: str, username: str, display_name: str | None = None) -> NewPassword:
    """``password`` checked (``check_password``, InvalidInput when refused) and hashed, for the
    staff user ``username`` whose name is ``display_name``: what ``add_user`` and
    ``reset_password`` store. Call it outside any write transaction."""
    check_password(password, username, display_name)
    return NewPassword(username, display_name, hash_password(password))


def _password_for(password: str | NewPassword, username: str, display_name: str | None) -> str:
    """The hash to store for the user as named now: the one made beforehand (``new_password``),
    or, from the plain text, checked and hashed here."""
    if isinstance(password, str):
        return new_password(password, username, display_name).hash
    if not password.fits(username, display_name):
        raise Conflict(
            "该员工的信息刚被修改，请重新输入密码",
            f"the password was checked for {password.username!r} ({password.display_name!r}), "
            f"not for {username!r} ({display_name!r}) as stored now",
            field="password",
        )
    return password.hash


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password(password: str, username: str, display_name: str | None = None) -> None:
    """Refuse (InvalidInput) a password shorter than ``MIN_PASSWORD_LENGTH`` or one zxcvbn
    scores below ``MIN_PASSWORD_SCORE``: common passwords (``12345678``), dictionary words,
    keyboard walks, dates, and anything built from the user's own username or name."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"密码至少 {MIN_PASSWORD_LENGTH} 位，建议用几个不相关的词组成",
            f"password must have at least {MIN_PASSWORD_LENGTH} characters",
            field="password",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"密码不能超过 {MAX_PASSWORD_LENGTH} 位",
            f"password must have at most {MAX_PASSWORD_LENGTH} characters",
            field="password",
        )
    from zxcvbn import zxcvbn

    inputs = [value for value in (username, display_name) if value]
    with _zxcvbn_lock:
        # zxcvbn refuses longer input (its matching slows down fast); what comes after the
        # first 72 characters only makes a password stronger.
        result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=inputs)
    if result["score"] < MIN_PASSWORD_SCORE:
        feedback = result["feedback"]
        why = feedback.get("warning") or "common words or patterns"
        hints = " ".join(feedback.get("suggestions") or [])
        raise InvalidInput(
            "密码太容易被猜到（常见密码、单词、键盘顺序、日期或用户名），请换一个更长、不常见的密码，例如几个不相关的词组合",
            f"password too easy to guess (score {result['score']} of 4, at least {MIN_PASSWORD_SCORE} needed): "
            f"{why}" + (f" {hints}" if hints else ""),
            field="password",
        )


def _require_admin(actor: Actor) -> None:
    if actor.kind != ActorKind.ADMIN:
        raise Forbidden("只有管理员可以管理员工账号", f"{actor} may not manage staff users")


def salespeople(session: Session) -> list[StaffUser]:
    """The staff users who follow at least one customer (the choices of a "by salesperson"
    filter), the active ones first, each group by name."""
    following = select(Customer.salesperson_id).where(
        Customer.salesperson_id.is_not(None), Customer.merged_into_id.is_(None)
    )
    stmt = select(StaffUser).where(StaffUser.id.in_(following))
    return list(session.exec(stmt.order_by(StaffUser.active.desc(), StaffUser.display_name, StaffUser.id)).all())


def get_user(session: Session, username: str, *, lock: bool = False) -> StaffUser:
    """The staff user named ``username``; NotFound when there is none."""
    stmt = select(StaffUser).where(StaffUser.username == username.strip())
    user = session.exec(stmt.with_for_update() if lock else stmt).first()
    if user is None:
        raise NotFound(f"员工账号 {username} 不存在", f"staff user {username!r} does not exist")
    return user


def parse_role(value: str | StaffRole) -> StaffRole:
    """``admin`` or ``sales`` as a ``StaffRole``; anything else is refused naming the field ``role``."""
    try:
        return StaffRole(value)
    except ValueError:
        raise InvalidInput(
            "请选择角色：管理员或业务员", f"role must be admin or sales, not {value!r}", field="role"
        ) from None


def _optional_line(value: str | None, field: str, label: str, max_length: int) -> str | None:
    """A one-line optional field: stripped, None when blank, refused when too long or holding a
    control character (naming ``field``)."""
    text = check_text((value or "").strip(), field, label, multiline=False)
    if len(text) > max_length:
        raise InvalidInput(f"{label}不能超过 {max_length} 个字", f"{field} longer than {max_length}", field=field)
    return text or None


def add_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: StaffRole | str,
    display_name: str | None = None,
    phone: str | None = None,
    wechat_id: str | None = None,
) -> StaffUser:
    """Create a staff user; a salesperson gets an invite code for their share link. The password
    must pass ``check_password``. Admins only. A refusal names the field (``username``,
    ``password``, ``role``, ``display_name``, ``phone``, ``wechat_id``)."""
    _require_admin(actor)
    username = username.strip()
    if not username or len(username) > 64 or not username.replace("_", "").replace(".", "").replace("-", "").isalnum():
        raise InvalidInput(
            "用户名只能包含字母、数字、点、下划线和短横线", f"invalid username {username!r}", field="username"
        )
    role = parse_role(role)
    display_name = _optional_line(display_name, "display_name", "姓名", 64) or username
    phone = _optional_line(phone, "phone", "电话", 32)
    wechat_id = _optional_line(wechat_id, "wechat_id", "微信号", 64)
    # Checked and hashed before this function's first statement: in a fresh session that one
    # begins the transaction, and on SQLite takes the write lock every other writer waits for.
    password_hash = _password_for(password, username, display_name)
    if session.exec(select(StaffUser).where(StaffUser.username == username)).first():
        raise Conflict("用户名已存在", f"user {username!r} already exists", field="username")
    user = StaffUser(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=password_hash,
        phone=phone,
        wechat_id=wechat_id,
        invite_code=_invite_code() if role == StaffRole.SALES else None,
    )
    session.add(user)
    session.flush()
    audit(session, actor, "user.add", "staff_user", user.id, {"username": username, "role": role.value})
    return user


def _invite_code() -> str:
    return secrets.token_urlsafe(6)


@dataclass(frozen=True)
class StaffListing:
    """A staff user as the staff list shows them."""

    user: StaffUser
    last_sign_in: datetime | None
    """When their latest sign-in session still on record was opened (ended ones are kept for
    ``sessions.KEEP_ENDED``), None when there is none."""
    customers: int
    """Customers (not merged ones) they are the salesperson of."""


def list_users(session: Session, actor: Actor) -> list[StaffListing]:
    """Every staff user, oldest first. Admins only."""
    _require_admin(actor)
    return _listings(session, list(session.exec(select(StaffUser).order_by(StaffUser.id)).all()))


def user_listing(session: Session, actor: Actor, username: str) -> StaffListing:
    """One staff user as ``list_users`` shows them; NotFound when there is none. Admins only."""
    _require_admin(actor)
    return _listings(session, [get_user(session, username)])[0]


def _listings(session: Session, users: list[StaffUser]) -> list[StaffListing]:
    ids = [u.id for u in users]
    signed_in = sessions.last_opened(session, ids)
    customers = dict(
        session.exec(
            select(Customer.salesperson_id, sa.func.count())
            .where(Customer.salesperson_id.in_(ids), Customer.merged_into_id.is_(None))
            .group_by(Customer.salesperson_id)
        ).all()
    )
    return [StaffListing(u, signed_in.get(u.id), customers.get(u.id, 0)) for u in users]


def _keep_an_admin(session: Session, user: StaffUser, refused: str, doing_en: str) -> None:
    """Refuse (Conflict) to take ``user`` away from the active admins when they are the last one,
    so someone can still manage the shop. ``refused``: what may not be done, in Chinese."""
    if not (user.active and user.role == StaffRole.ADMIN):
        return
    # Locking the active admins makes two admins removing each other at the same time wait for
    # one another: the second then sees it would remove the last one.
    admins = session.exec(
        select(StaffUser.id).where(StaffUser.role == StaffRole.ADMIN, StaffUser.active.is_(True)).with_for_update()
    ).all()
    if set(admins) <= {user.id}:
        raise Conflict(
            f"{refused}，请先添加或启用另一个管理员",
            f"{user.username!r} is the last active admin and cannot be {doing_en}: add or activate another admin first",
        )


@dataclass(frozen=True)
class Deactivation:
    """What ``deactivate_user`` did, and what is left for the operator to do."""

    user: StaffUser
    changed: bool
    """False when the user was inactive already."""
    sessions_ended: int
    customers: int
    """Customers (not merged ones) still assigned to this user as their salesperson: they
    should be given another salesperson."""


def deactivate_user(session: Session, actor: Actor, username: str) -> Deactivation:
    """Deactivate a staff user: they can no longer sign in, and every session they have is ended
    now. Refused (Conflict) for the last active admin, so someone can still manage the shop.
    Their customers keep them as salesperson until reassigned; the result counts them."""
    _require_admin(actor)
    user = get_user(session, username, lock=True)
    _keep_an_admin(session, user, "不能停用最后一个启用的管理员账号", "deactivated")
    changed = user.active
    if changed:
        user.active = False
        session.add(user)
        session.flush()
    ended = sessions.end_all(session, sessions.Subject(staff_id=user.id), "user deactivated")
    customers = session.exec(
        select(sa.func.count())
        .select_from(Customer)
        .where(Customer.salesperson_id == user.id, Customer.merged_into_id.is_(None))
    ).one()
    if changed or ended:
        audit(
            session,
            actor,
            "user.deactivate",
            "staff_user",
            user.id,
            {"username": user.username, "sessions_ended": ended, "customers": customers},
        )
    return Deactivation(user, changed, ended, customers)


def activate_user(session: Session, actor: Actor, username: str) -> bool:
    """Let a deactivated staff user sign in again (with the password they had). True when they
    were inactive; an active user is left as they are and nothing is written."""
    _require_admin(actor)
    user = get_user(session, username, lock=True)
    if user.active:
        return False
    user.active = True
    session.add(user)
    session.flush()
    audit(session, actor, "user.activate", "staff_user", user.id, {"username": user.username})
    return True


def reset_password(session: Session, actor: Actor, username: str, password: str | NewPassword) -> int:
    """Give a staff user a new password (it must pass ``check_password``) and end every session
    they have, so whoever knew the old password is signed out too. Returns how many sessions
    were ended. Pass ``new_password``'s answer, made before the transaction: the plain text is
    checked and hashed here, with the user's row (on SQLite the whole database) locked."""
    _require_admin(actor)
    user = get_user(session, username, lock=True)
    user.password_hash = _password_for(password, user.username, user.display_name)
    session.add(user)
    session.flush()
    return _sign_out_everywhere(session, actor, user, "user.reset_password", "password reset")


def _sign_out_everywhere(session: Session, actor: Actor, user: StaffUser, action: str, reason: str) -> int:
    """End every session of ``user`` and write the audit row ``action`` saying how many ended."""
    ended = sessions.end_all(session, sessions.Subject(staff_id=user.id), reason)
    audit(session, actor, action, "staff_user", user.id, {"username": user.username, "sessions_ended": ended})
    return ended


def revoke_sessions(session: Session, actor: Actor, username: str) -> int:
    """End every sign-in session of a staff user (a lost phone, a shared computer): they must
    sign in again. Returns how many were active."""
    _require_admin(actor)
    user = get_user(session, username)
    return _sign_out_everywhere(session, actor, user, "user.revoke_sessions", "ended by an admin")


def set_role(session: Session, actor: Actor, username: str, role: StaffRole | str) -> bool:
    """Make a staff user an admin or a salesperson; True when the role changed. The role is
    re-read on every request, so it takes effect at the user's next one. Refused (Conflict) for
    the last active admin. A new salesperson gets an invite code for their share link."""
    _require_admin(actor)
    role = parse_role(role)
    user = get_user(session, username, lock=True)
    if user.role == role:
        return False
    if role == StaffRole.SALES:
        _keep_an_admin(session, user, "不能把最后一个启用的管理员账号改为业务员", "made a salesperson")
    old = user.role
    user.role = role
    if role == StaffRole.SALES and user.invite_code is None:
        user.invite_code = _invite_code()
    session.add(user)
    session.flush()
    audit(
        session,
        actor,
        "user.role",
        "staff_user",
        user.id,
        {"username": user.username, "old": old.value, "new": role.value},
    )
    return True


def unbind_wechat(session: Session, actor: Actor, username: str) -> int | None:
    """Take the bound WeChat account off a staff user (a lost or changed phone): that WeChat no
    longer signs them in, and every session they have is ended (S1). Returns how many sessions
    were ended, None when no WeChat was bound (nothing is done). Admins only."""
    _require_admin(actor)
    user = get_user(session, username, lock=True)
    if user.wechat_openid is None:
        return None
    user.wechat_openid = None
    session.add(user)
    session.flush()
    return _sign_out_everywhere(session, actor, user, "user.wechat_unbind", "wechat unbound")


# --------------------------------------------------------------------------- signing in


@cache
def _decoy_hash() -> str:
    # Verifying against a throw-away hash when the user does not exist costs the same as a real
    # check, so the answer's timing does not tell which usernames exist either.
    return hash_password(secrets.token_hex(16))


BAD_LOGIN = "用户名或密码错误"


def _disabled(user: StaffUser) -> NotSignedIn:
    return NotSignedIn("账号已停用，请联系管理员", f"staff user {user.id} is inactive", code="account_disabled")


def sign_in(session: Session, username: str, password: str) -> StaffUser:
    """The active staff user with this username and password. A wrong username and a wrong
    password get the same answer (``bad_credentials``) in the same time; a deactivated user is
    ``account_disabled``. The caller counts and logs failures (it knows where they came from)."""
    username = username.strip()
    user = session.exec(select(StaffUser).where(StaffUser.username == username)).first()
    stored = user.password_hash if user is not None else _decoy_hash()
    if not verify_password(stored, password) or user is None:
        reason = "unknown user" if user is None else "wrong password"
        raise NotSignedIn(BAD_LOGIN, f"login refused for {username!r}: {reason}", code="bad_credentials")
    if not user.active:
        raise _disabled(user)
    return user


def current_staff(session: Session, staff_id: int | None) -> StaffUser:
    """The staff user a token names, as they are now: gone or deactivated users are signed out."""
    user = session.get(StaffUser, staff_id) if staff_id else None
    if user is None:
        raise NotSignedIn("登录信息无效，请重新登录", f"staff user {staff_id} no longer exists")
    if not user.active:
        raise _disabled(user)
    return user


def signed_in_staff(session: Session, staff_id: int | None, session_id: str | None) -> StaffUser:
    """``current_staff`` while the sign-in session ``session_id`` is active (S1)."""
    user = current_staff(session, staff_id)
    sessions.check_active(session, session_id, sessions.Subject(staff_id=user.id))
    return user


def staff_of_session(session: Session, session_id: str | None) -> StaffUser:
    """The staff user whose sign-in session ``session_id`` is (the admin pages' cookie names only
    the session), while both are active: ``signed_in_staff``."""
    row = session.get(AuthSession, session_id) if session_id else None
    return signed_in_staff(session, row.staff_id if row is not None else None, session_id)


def wechat_sign_in(session: Session, openid: str) -> StaffUser:
    """The active staff user who bound this WeChat account (``bind_wechat``)."""
    user = session.exec(select(StaffUser).where(StaffUser.wechat_openid == openid)).first()
    if user is None:
        raise NotSignedIn(
            "该微信尚未绑定员工账号，请先用用户名和密码登录后绑定",
            "no staff user bound to this openid",
            code="wechat_not_bound",
        )
    if not user.active:
        raise _disabled(user)
    return user


def bind_wechat(session: Session, actor: Actor, user: StaffUser, openid: str) -> StaffUser:
    """Bind a WeChat account to ``user`` (themselves), so later phone logins need no password. One
    WeChat account opens one staff user."""
    if actor.kind not in (ActorKind.ADMIN, ActorKind.SALES) or actor.id != str(user.id):
        raise Forbidden("只能绑定自己的微信", f"{actor} may not bind WeChat for staff user {user.id}")
    other = session.exec(select(StaffUser).where(StaffUser.wechat_openid == openid, StaffUser.id != user.id)).first()
    if other is not None:
        raise Conflict("该微信已绑定其他员工账号", f"openid already bound to staff user {other.id}")
    if user.wechat_openid != openid:
        user.wechat_openid = openid
        session.add(user)
        audit(session, actor, "user.wechat_bind", "staff_user", user.id)
        session.flush()
    return user


def contact_for(session: Session, customer: Customer) -> StaffUser:
    """Who a customer contacts (C3): their salesperson, or, when they have none or theirs has
    left, the first active admin, who answers for them. NotFound when there is nobody."""
    user = contact_or_none(session, customer)
    if user is None:
        raise NotFound("暂未分配业务员，请稍后再试", "no salesperson assigned and no admin to fall back to")
    return user


def contact_or_none(session: Session, customer: Customer) -> StaffUser | None:
    """``contact_for``, or None when there is nobody to contact."""
    user = session.get(StaffUser, customer.salesperson_id) if customer.salesperson_id else None
    if user is None or not user.active:
        user = session.exec(
            select(StaffUser)
            .where(StaffUser.role == StaffRole.ADMIN, StaffUser.active.is_(True))
            .order_by(StaffUser.id)
        ).first()
    return user


def salesperson_for_invite(session: Session, invite: str | None, default_username: str | None) -> int | None:
    """The salesperson a new customer gets (A10): the active owner of the invite code they came
    with, else the configured default salesperson (``customers.default_salesperson``) while that
    user exists and is active, else none — the customer then
    waits in the admins' queue (``scope.unassigned_queue``). A default that cannot be used is
    logged (and reported by ``jht-bridge check``), never a refused login."""
    if invite:
        user = session.exec(
            select(StaffUser).where(StaffUser.invite_code == invite, StaffUser.active.is_(True))
        ).first()
        if user is not None:
            return user.id
    if default_username:
        user, problem = default_salesperson(session, default_username)
        if user is not None:
            return user.id
        log.warning("default salesperson unusable: the new customer is unassigned", reason=problem)
    return None


def default_salesperson(session: Session, username: str) -> tuple[StaffUser | None, str | None]:
    """The staff user ``customers.default_salesperson`` names, if new customers can be given to
    them (they exist and are active); else None and why not (English, with what to do)."""
    user = session.exec(select(StaffUser).where(StaffUser.username == username.strip())).first()
    if user is None:
        return (
            None,
            f"customers.default_salesperson: no staff user {username!r} (`jht-bridge users add {username} --role sales`)",
        )
    if not user.active:
        return (
            None,
            f"customers.default_salesperson: staff user {username!r} is deactivated (activate them or name another)",
        )
    return user, None
