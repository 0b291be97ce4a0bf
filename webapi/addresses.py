"""The mini-program's delivery addresses (C13). The rules (one default, the limit, soft delete)
are ``bridge.addresses``."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, delete, get, post, put
from litestar.params import JSONBody

from bridge import addresses
from bridge.db import read_scope, session_scope
from webapi import fields, views
from webapi.auth import Me, runtime, signed_in


class AddressBody(msgspec.Struct):
    recipient: fields.line(64, required=True)
    phone: Annotated[str, msgspec.Meta(min_length=5, max_length=32, pattern=r"^[0-9+\-() ]{5,32}$")]
    detail: fields.line(255, required=True)
    province: fields.line(32) = ""
    city: fields.line(32) = ""
    district: fields.line(32) = ""
    is_default: bool = False


def _input(data: AddressBody) -> addresses.AddressInput:
    return addresses.AddressInput(
        recipient=data.recipient,
        phone=data.phone,
        detail=data.detail,
        province=data.province,
        city=data.city,
        district=data.district,
        is_default=data.is_default,
    )


@get("/addresses", sync_to_thread=True, operation_id="mpAddresses", tags=["mp addresses"])
def list_addresses(request: Request, me: Me) -> list[views.AddressView]:
    """This customer's delivery addresses, the default first."""
    with read_scope(runtime(request).engine) as session:
        who = signed_in(session, me)
        return [views.address_view(a) for a in addresses.list_addresses(session, who.actor, who.customer)]


@post("/addresses", sync_to_thread=True, operation_id="mpAddAddress", tags=["mp addresses"])
def add_address(request: Request, data: JSONBody[AddressBody], me: Me) -> views.AddressView:
    """Add a delivery address (at most 50; a new default takes over from the old one)."""
    with session_scope(runtime(request).engine) as session:
        who = signed_in(session, me)
        return views.address_view(addresses.add_address(session, who.actor, who.customer, _input(data)))


@put("/addresses/{address_id:int}", sync_to_thread=True, operation_id="mpUpdateAddress", tags=["mp addresses"])
def update_address(
    request: Request, address_id: fields.PathId, data: JSONBody[AddressBody], me: Me
) -> views.AddressView:
    """Change a delivery address; orders keep the copy they were placed with."""
    with session_scope(runtime(request).engine) as session:
        who = signed_in(session, me)
        return views.address_view(addresses.update_address(session, who.actor, who.customer, address_id, _input(data)))


@delete(
    "/addresses/{address_id:int}",
    sync_to_thread=True,
    operation_id="mpDeleteAddress",
    tags=["mp addresses"],
    status_code=200,
)
def delete_address(request: Request, address_id: fields.PathId, me: Me) -> views.Deleted:
    """Delete a delivery address (orders placed with it keep their copy)."""
    with session_scope(runtime(request).engine) as session:
        who = signed_in(session, me)
        addresses.delete_address(session, who.actor, who.customer, address_id)
        return views.Deleted(deleted=address_id)


MP = [list_addresses, add_address, update_address, delete_address]
