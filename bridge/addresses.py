"""A customer's delivery addresses (C13): at most ``MAX_ADDRESSES`` kept, at most one default,
deleted ones kept (orders carry their own copy of where they went) but never shown or used again.

Every function takes the customer already resolved (the caller's own, or one in a staff
member's scope) and checks ``actor`` may act on it (``bridge.scope``); an address of another
customer answers exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import sqlalchemy as sa
from sqlmodel import Session, select

from bridge.actors import Actor
from bridge.errors import Forbidden, InvalidInput, NotFound
from bridge.models import Address, Customer
from bridge.scope import may_act_on

MAX_ADDRESSES = 50

SHIP_TO_FIELDS = {"recipient": 64, "phone": 32, "province": 32, "city": 32, "district": 32, "detail": 255}
"""The parts of a delivery address and their length limits: an address book entry and an order's
own copy (``Order.ship_to``) have the same ones."""


@dataclass(frozen=True)
class AddressInput:
    recipient: str
    phone: str
    detail: str
    province: str = ""
    city: str = ""
    district: str = ""
    is_default: bool = False


def _check(actor: Actor, customer: Customer) -> None:
    if not may_act_on(actor, customer):
        raise Forbidden("无权修改该客户的收货地址", f"{actor} may not act on customer {customer.id}")


def active(customer_id: int) -> sa.ColumnElement[bool]:
    """SQL condition on ``Address``: the addresses of ``customer_id`` not deleted."""
    return sa.and_(Address.customer_id == customer_id, Address.deleted.is_(False))


def list_addresses(session: Session, actor: Actor, customer: Customer) -> list[Address]:
    """The customer's addresses, the default first."""
    _check(actor, customer)
    return list(
        session.exec(select(Address).where(active(customer.id)).order_by(Address.is_default.desc(), Address.id))
    )


def get_address(session: Session, actor: Actor, customer: Customer, address_id: int) -> Address:
    """One of the customer's (not deleted) addresses; anything else is NotFound."""
    _check(actor, customer)
    return find_address(session, customer, address_id)


def find_address(session: Session, customer: Customer, address_id: int) -> Address:
    """``get_address`` for a caller that has already checked the actor."""
    address = session.get(Address, address_id)
    if address is None or address.customer_id != customer.id or address.deleted:
        raise _not_found(customer, address_id)
    return address


def _not_found(customer: Customer, address_id: int) -> NotFound:
    return NotFound("收货地址不存在", f"address {address_id} not found for customer {customer.id}")


_SHIP_TO = sa.select(*(getattr(Address, name) for name in SHIP_TO_FIELDS)).where(
    Address.id == sa.bindparam("id"), active(sa.bindparam("customer_id"))
)


def ship_to(session: Session, customer: Customer, address_id: int) -> dict[str, str]:
    """The parts of one of the customer's (not deleted) addresses as an order keeps its copy
    (``Order.ship_to``), for a caller that has already checked the actor (order placement);
    anything else is NotFound, as ``find_address``. One Core read, no object: it runs per
    order placed (issue #16)."""
    row = session.connection().execute(_SHIP_TO, {"id": address_id, "customer_id": customer.id}).first()
    if row is None:
        raise _not_found(customer, address_id)
    return {name: value or "" for name, value in zip(SHIP_TO_FIELDS, row)}


def _save(session: Session, customer: Customer, address: Address, data: AddressInput) -> Address:
    for f in fields(AddressInput):
        value = getattr(data, f.name)
        setattr(address, f.name, value.strip() if isinstance(value, str) else value)
    if not address.recipient or not address.detail:
        raise InvalidInput("收货人和详细地址不能为空", "recipient and detail must not be blank")
    for key, limit in SHIP_TO_FIELDS.items():
        if len(getattr(address, key)) > limit:
            raise InvalidInput("收货信息过长", f"{key} longer than {limit}", field=key)
    if address.is_default:  # one default: this one takes it from the others
        session.execute(
            sa.update(Address)
            .where(Address.customer_id == customer.id, Address.id != (address.id or -1))
            .values(is_default=False)
        )
    session.add(address)
    session.flush()
    return address


def add_address(session: Session, actor: Actor, customer: Customer, data: AddressInput) -> Address:
    """Keep a new address (InvalidInput beyond ``MAX_ADDRESSES``)."""
    _check(actor, customer)
    count = session.exec(select(sa.func.count()).select_from(Address).where(active(customer.id))).one()
    if count >= MAX_ADDRESSES:
        raise InvalidInput(f"收货地址最多 {MAX_ADDRESSES} 个", f"at most {MAX_ADDRESSES} addresses per customer")
    return _save(session, customer, Address(customer_id=customer.id, recipient="", phone="", detail=""), data)


def update_address(session: Session, actor: Actor, customer: Customer, address_id: int, data: AddressInput) -> Address:
    """Change an address; orders already placed keep the copy they were placed with."""
    return _save(session, customer, get_address(session, actor, customer, address_id), data)


def delete_address(session: Session, actor: Actor, customer: Customer, address_id: int) -> Address:
    """Delete an address: it is kept, marked deleted and no longer the default."""
    address = get_address(session, actor, customer, address_id)
    address.deleted, address.is_default = True, False
    session.add(address)
    session.flush()
    return address
