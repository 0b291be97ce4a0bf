"""Customers, both APIs: for the mini-program, the caller's own customer, its bound accounts (C10)
and its salesperson's contact (C3); for staff, their customers (A1, A6, A7): list, create, change,
the type, notes.

The rules are ``bridge.customers``, ``bridge.accounts``, ``bridge.notes`` and ``bridge.users``;
who sees which customer is ``bridge.scope``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Request, delete, get, patch, post, put
from litestar.params import JSONBody, Parameter

from bridge import accounts, customers, notes, users
from bridge.db import read_scope, session_scope
from webapi import fields, views
from webapi.auth import Me, Staff, runtime, signed_in, wake_dispatcher

Phone = Annotated[str, msgspec.Meta(pattern=r"^[0-9+\-() ]{3,32}$")]
Page = Annotated[int, Parameter(ge=1, le=10000)]


class CustomerCreateBody(msgspec.Struct):
    name: fields.line(128, required=True)
    type: Literal[1, 2]
    phone: Phone | None = None
    contact_name: fields.line(64) | None = None
    salesperson_id: fields.Id | None = None
    """Admins only; a salesperson's new customer is their own."""


class CustomerUpdateBody(msgspec.Struct):
    """Only the fields given change; ``null`` clears phone / contact / salesperson."""

    name: fields.line(128, required=True) | msgspec.UnsetType = msgspec.UNSET
    phone: Phone | None | msgspec.UnsetType = msgspec.UNSET
    contact_name: fields.line(64) | None | msgspec.UnsetType = msgspec.UNSET
    salesperson_id: fields.Id | None | msgspec.UnsetType = msgspec.UNSET
    """Admins only."""


class CustomerTypeBody(msgspec.Struct):
    type: Literal[1, 2]


class ErpCodeBody(msgspec.Struct):
    erp_code: fields.line(64, required=True)
    """The code of the customer the ERP already has (its customer master's number)."""


class NoteBody(msgspec.Struct):
    body: fields.text(2000, required=True)


# --------------------------------------------------------------------------- the mini-program


@get("/me", sync_to_thread=True, operation_id="mpMe", tags=["mp me"])
def me_view(request: Request, me: Me) -> views.Me:
    """The customer, this account, the bound accounts and who to contact (the salesperson, or an
    admin when the customer has none, as ``/salesperson``)."""
    with read_scope(runtime(request).engine) as session:
        who = signed_in(session, me)
        c = who.customer
        return views.me_view(who.account, c, customers.bound_accounts(session, c.id), users.contact_or_none(session, c))


@get("/me/accounts", sync_to_thread=True, operation_id="mpAccounts", tags=["mp me"])
def my_accounts(request: Request, me: Me) -> list[views.AccountView]:
    """The phones and WeChat accounts bound to this customer (C10)."""
    with read_scope(runtime(request).engine) as session:
        who = signed_in(session, me)
        return [views.account_view(a) for a in customers.bound_accounts(session, who.customer.id)]


@delete(
    "/me/accounts/{account_id:int}",
    sync_to_thread=True,
    operation_id="mpUnbindAccount",
    tags=["mp me"],
    status_code=200,
)
def unbind_account(request: Request, account_id: fields.PathId, me: Me) -> views.Unbound:
    """Unbind one of this customer's accounts (not the last one); its sign-ins end at once and
    the orders it placed keep naming it."""
    with session_scope(runtime(request).engine) as session:
        who = signed_in(session, me)
        accounts.unbind_account(session, who.actor, who.customer, account_id)
        return views.Unbound(unbound=account_id)


@get("/salesperson", sync_to_thread=True, operation_id="mpSalesperson", tags=["mp me"])
def salesperson(request: Request, me: Me) -> views.Contact:
    """Contact my salesperson (C3): name, phone, WeChat / WeCom id; an admin answers when the
    customer has none."""
    with read_scope(runtime(request).engine) as session:
        return views.contact_view(users.contact_for(session, signed_in(session, me).customer))


# --------------------------------------------------------------------------- staff


def _detail(session, staff, customer) -> views.CustomerDetail:
    return views.customer_detail(customers.customer_overview(session, staff.actor, customer))


@get("/customers", sync_to_thread=True, operation_id="salesCustomers", tags=["sales customers"])
def list_customers(
    request: Request,
    staff: Staff,
    q: fields.Search = None,
    unassigned: Annotated[bool, Parameter(required=False)] = False,
    page: Page = 1,
) -> views.CustomerPage:
    """My customers (all, for an admin), searched by name, contact, phone, ERP code or id;
    ``unassigned=true`` (admins): the queue of customers no active salesperson follows (A10)."""
    with read_scope(runtime(request).engine) as session:
        return views.customer_page(
            customers.customer_page(session, staff.actor, search=q, unassigned=unassigned, page=page)
        )


@post("/customers", sync_to_thread=True, operation_id="salesCreateCustomer", tags=["sales customers"])
def add_customer(request: Request, data: JSONBody[CustomerCreateBody], staff: Staff) -> views.CustomerDetail:
    """Create a customer (A7), the caller's own unless an admin names its salesperson; a WeChat
    user who later binds ``phone`` joins it (scenario 2)."""
    with session_scope(runtime(request).engine) as session:
        customer = customers.create_customer(
            session,
            staff.actor,
            name=data.name,
            type=data.type,
            salesperson_id=data.salesperson_id,
            phone=data.phone,
            contact_name=data.contact_name,
        )
        return _detail(session, staff, customer)


@get("/customers/{customer_id:int}", sync_to_thread=True, operation_id="salesCustomer", tags=["sales customers"])
def customer_detail(request: Request, customer_id: fields.PathId, staff: Staff) -> views.CustomerDetail:
    """One customer with its accounts, addresses, open orders and notes."""
    with read_scope(runtime(request).engine) as session:
        return _detail(session, staff, customers.customer_for(session, staff.actor, customer_id))


@patch(
    "/customers/{customer_id:int}", sync_to_thread=True, operation_id="salesUpdateCustomer", tags=["sales customers"]
)
def change_customer(
    request: Request, customer_id: fields.PathId, data: JSONBody[CustomerUpdateBody], staff: Staff
) -> views.CustomerDetail:
    """Change a customer's name, phone, contact (and, for an admin, salesperson)."""
    changes = {
        k: getattr(data, k)
        for k in ("name", "phone", "contact_name", "salesperson_id")
        if getattr(data, k) is not msgspec.UNSET
    }
    with session_scope(runtime(request).engine) as session:
        customer = customers.customer_for(session, staff.actor, customer_id)
        return _detail(session, staff, customers.update_customer(session, staff.actor, customer.id, **changes))


@put(
    "/customers/{customer_id:int}/type",
    sync_to_thread=True,
    operation_id="salesSetCustomerType",
    tags=["sales customers"],
)
def change_type(
    request: Request, customer_id: fields.PathId, data: JSONBody[CustomerTypeBody], staff: Staff
) -> views.TypeChange:
    """Make the customer 类型一 or 类型二 (A1); orders already placed keep their rule, and
    ``notice`` says how many still wait for a payment confirmation."""
    with session_scope(runtime(request).engine) as session:
        customer = customers.customer_for(session, staff.actor, customer_id)
        change = customers.set_customer_type(session, staff.actor, customer.id, data.type)
        return views.TypeChange(
            customer_id=change.customer_id,
            old_type=change.old_type,
            type=change.new_type,
            type_label=views.labels.CUSTOMER_TYPE_LABELS[change.new_type],
            changed=change.changed,
            unreleased_open_orders=change.unreleased_open_orders,
            notice=change.notice,
        )


@put(
    "/customers/{customer_id:int}/erp-code",
    sync_to_thread=True,
    operation_id="salesSetCustomerErpCode",
    tags=["sales customers"],
)
def set_erp_code(
    request: Request, customer_id: fields.PathId, data: JSONBody[ErpCodeBody], staff: Staff
) -> views.ErpCodeSet:
    """Link the customer to the customer the ERP already has under ``erp_code`` (A11; admins
    only). A code another customer holds is refused (409) naming that customer."""
    rt = runtime(request)
    with session_scope(rt.engine) as session:
        customer = customers.customer_for(session, staff.actor, customer_id)
        change = customers.set_erp_code(
            session, staff.actor, customer.id, data.erp_code, connector=rt.config.connector.name
        )
        answer = views.ErpCodeSet(
            customer_id=change.customer_id,
            erp_code=change.code,
            previous_erp_code=change.previous,
            changed=change.changed,
        )
    if change.changed:
        wake_dispatcher(request)
    return answer


@post(
    "/customers/{customer_id:int}/notes",
    sync_to_thread=True,
    operation_id="salesCustomerNote",
    tags=["sales customers"],
)
def customer_note(
    request: Request, customer_id: fields.PathId, data: JSONBody[NoteBody], staff: Staff
) -> views.NoteOut:
    """Write a follow-up note on a customer (A6)."""
    with session_scope(runtime(request).engine) as session:
        customer = customers.customer_for(session, staff.actor, customer_id)
        return views.note_view(notes.add_note(session, staff.actor, data.body, customer))


MP = [me_view, my_accounts, unbind_account, salesperson]
SALES = [list_customers, add_customer, customer_detail, change_customer, change_type, set_erp_code, customer_note]
