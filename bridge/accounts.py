"""Accounts (C10): the WeChat users and phone numbers through which a customer orders.

A first mini-program login makes an account (and a new customer for it). Binding the account's
WeChat phone number ties it to that number; when a salesperson had registered the number on a
customer, the account joins that customer (scenario 2). A phone number belongs to at most one
customer (S3): a number registered on one customer or bound by an account of one customer cannot
be bound by another customer's account; an admin merges the two when they are one company.

Unbinding keeps the account row — orders and inquiries name the account that placed them — but
releases its openid and phone, ends every session it had, and takes it out of every list; the
same WeChat user logging in again gets a new account.

Functions take the caller's ``Session`` and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bridge import sessions
from bridge.actors import Actor, audit
from bridge.config import CustomersSection
from bridge.customers import bound, create_customer, normalize_phone, phone_holder, resolve_customer
from bridge.errors import Conflict, Forbidden, NotFound, NotSignedIn
from bridge.models import Account, AuthSession, Customer, Order
from bridge.scope import may_act_on
from bridge.types import utcnow
from bridge.users import salesperson_for_invite


def signed_in_account(session: Session, account_id: int | None) -> tuple[Account, Customer]:
    """The account a customer's token names and its (surviving) customer; NotSignedIn when the
    account is gone or unbound."""
    account = session.get(Account, account_id) if account_id else None
    if account is None or account.unbound_at is not None:
        raise NotSignedIn(
            "账号已解绑，请重新登录", f"account {account_id} is unbound or does not exist", code="account_unbound"
        )
    return account, resolve_customer(session, account.customer_id)


_SIGNED_IN = (
    select(Account, Customer, AuthSession)
    .outerjoin(Customer, Customer.id == Account.customer_id)
    .outerjoin(AuthSession, AuthSession.id == sa.bindparam("session_id"))
    .where(Account.id == sa.bindparam("account_id"))
)
"""The account, its customer and the sign-in session, in one statement: it runs per request."""


def signed_in(session: Session, account_id: int | None, session_id: str | None) -> tuple[Account, Customer]:
    """``signed_in_account`` while the sign-in session ``session_id`` is active: the token of an
    unbound account, or of a session that ended, is void (S1). Checked as those two are, read
    in one statement."""
    found = session.execute(_SIGNED_IN, {"account_id": account_id, "session_id": session_id}).first()
    account, customer, row = found if found is not None else (None, None, None)
    if account is None or account.unbound_at is not None:
        raise NotSignedIn(
            "账号已解绑，请重新登录", f"account {account_id} is unbound or does not exist", code="account_unbound"
        )
    if customer is None or customer.merged_into_id is not None:
        customer = resolve_customer(session, account.customer_id)  # the survivor, or NotFound
    sessions.active_row(row, sessions.Subject(account_id=account.id))
    return account, customer


@dataclass(frozen=True)
class WechatLogin:
    account: Account
    customer: Customer
    """The account's (surviving) customer."""
    created: bool
    """True for a first login: the account and its customer were made now."""


def wechat_login(
    session: Session, openid: str, unionid: str | None, *, invite: str | None, settings: CustomersSection
) -> WechatLogin:
    """The account of the WeChat user ``openid``. A first login makes the account and a new
    customer for it (``settings.default_type``; the salesperson of the invite code, else the
    default salesperson, else none). An account whose customer was merged away follows it to
    the survivor."""
    account = session.exec(select(Account).where(Account.openid == openid)).first()
    created = account is None
    if created:
        customer = create_customer(
            session,
            Actor.system("wechat-login"),
            name=f"微信用户{openid[-6:]}",
            type=settings.default_type,
            salesperson_id=salesperson_for_invite(session, invite, settings.default_salesperson),
        )
        account = Account(customer_id=customer.id, openid=openid, unionid=unionid)
    else:
        customer = resolve_customer(session, account.customer_id)
        account.customer_id = customer.id  # unchanged unless its customer was merged away
    account.last_login_at = utcnow()
    session.add(account)
    session.flush()
    return WechatLogin(account, customer, created)


@dataclass(frozen=True)
class PhoneBinding:
    phone: str
    customer: Customer
    """The customer the account belongs to now."""
    joined: bool
    """True when the account joined the customer a salesperson registered with this phone."""


def bind_phone(session: Session, actor: Actor, account: Account, phone: str) -> PhoneBinding:
    """Bind ``phone`` (as WeChat confirmed it) to ``account``; see the module docstring. Refused
    (Conflict) when the number belongs to another customer and this one cannot simply join it."""
    phone = normalize_phone(phone)
    customer = resolve_customer(session, account.customer_id)
    other = session.exec(
        select(Account).where(Account.phone == phone, Account.id != account.id, Account.unbound_at.is_(None))
    ).first()
    if other is not None:
        raise Conflict("该手机号已绑定其他微信账号", f"phone already bound to account {other.id}", code="phone_taken")
    holder = phone_holder(session, phone, other_than=customer.id)
    joined = False
    if holder is not None:
        has_history = session.exec(select(Order.id).where(Order.customer_id == customer.id)).first()
        others = session.exec(select(Account.id).where(bound(customer.id), Account.id != account.id)).first()
        if has_history or others:
            # Two real customers: a person decides (customers merge); nothing moves here.
            audit(
                session,
                actor,
                "account.phone_matches_customer",
                "customer",
                holder.id,
                {"account_id": account.id, "current_customer_id": customer.id, "phone": phone},
            )
            raise Conflict(
                "该手机号已登记在另一个客户名下，请联系业务员处理（可由管理员合并客户）",
                f"phone {phone} belongs to customer {holder.id}; account {account.id} is of customer {customer.id}, "
                "which has orders or other accounts: an admin merges them",
                code="phone_belongs_to_other_customer",
            )
        audit(
            session,
            actor,
            "account.joined_customer",
            "customer",
            holder.id,
            {"account_id": account.id, "left_customer_id": customer.id, "phone": phone},
        )
        account.customer_id, customer, joined = holder.id, holder, True
    account.phone = phone
    session.add(account)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # another account bound the same number at this very moment
        raise Conflict(
            "该手机号已绑定其他微信账号", f"phone {phone} was just bound by another account", code="phone_taken"
        ) from None
    return PhoneBinding(phone, customer, joined)


def unbind_account(session: Session, actor: Actor, customer: Customer, account_id: int) -> Account:
    """Unbind one of ``customer``'s accounts (C10); the last one cannot be unbound. The account's
    sessions end at once; its orders and inquiries keep naming it."""
    if not may_act_on(actor, customer):
        raise Forbidden("无权解绑该客户的账号", f"{actor} may not unbind accounts of customer {customer.id}")
    target = session.get(Account, account_id, with_for_update=True)
    if target is None or target.customer_id != customer.id or target.unbound_at is not None:
        raise NotFound("账号不存在", f"account {account_id} not found for customer {customer.id}")
    remaining = session.exec(select(sa.func.count()).select_from(Account).where(bound(customer.id))).one()
    if remaining <= 1:
        raise Conflict("至少需要保留一个绑定账号", "the last account of a customer cannot be unbound")
    ended = sessions.end_all(session, sessions.Subject(account_id=target.id), "account unbound")
    audit(
        session,
        actor,
        "account.unbind",
        "account",
        target.id,
        {
            "customer_id": customer.id,
            "phone": target.phone,
            "wechat": target.openid is not None,
            "sessions_ended": ended,
        },
    )
    target.unbound_at = utcnow()
    target.openid = target.unionid = target.phone = None
    session.add(target)
    session.flush()
    return target
