"""``customers``: list, merge duplicates, change type."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from bridge.cli._common import cells, out, unit_of_work
from bridge.labels import CUSTOMER_TYPE_LABELS

customers_app = typer.Typer(help="Customers: list, merge duplicates, change type.", no_args_is_help=True)


def _type(value: int) -> str:
    """``1 类型一``: the code and its label (``bridge.labels``)."""
    label = CUSTOMER_TYPE_LABELS.get(value)
    return f"{value} {label}" if label else str(value)


@customers_app.command("list")
def customers_list(
    ctx: typer.Context,
    search: Annotated[
        Optional[str],
        typer.Option(help="Part of the name, contact, phone (also a bound account's) or ERP code, or an exact id."),
    ] = None,
    include_merged: Annotated[
        bool, typer.Option("--include-merged", help="Also list merged customers (aliases of another one).")
    ] = False,
) -> None:
    """List customers with their type, salesperson, ERP code and how many accounts and orders
    they have. Merged customers (aliases) are left out unless --include-merged."""
    from bridge.customers import list_customers

    with unit_of_work(ctx) as session:
        rows = list_customers(session, search=search, include_merged=include_merged)
    table = Table("id", "name", "type", "salesperson", "phone", "ERP code", "accounts", "orders", "merged into")
    for row in rows:
        c = row.customer
        table.add_row(
            *cells(
                c.id,
                c.name,
                _type(c.type),
                row.salesperson,
                c.phone,
                c.erp_code,
                row.accounts,
                row.orders,
                c.merged_into_id,
            )
        )
    # Piped or redirected: one line per customer (no wrapping at 80 columns), for grep.
    (out if out.is_terminal else Console(highlight=False, width=400)).print(table)
    out.print(f"{len(rows)} customer(s)")


@customers_app.command("merge")
def customers_merge(
    ctx: typer.Context,
    survivor_id: Annotated[int, typer.Argument(help="Id of the customer that stays.", show_default=False)],
    absorbed_id: Annotated[
        int, typer.Argument(help="Id of the duplicate folded into it (kept as an alias).", show_default=False)
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Merge without asking for confirmation.")] = False,
) -> None:
    """Merge customer ABSORBED_ID into customer SURVIVOR_ID (one company registered twice).

    Accounts, orders, addresses, notes, inquiries, product grants and prices, pending ERP
    messages and the ERP code move to the survivor; the absorbed customer stays as an alias
    so old references still work, and the ERP is told. Shows both customers and what will
    move, then asks before merging. Merging again into the same survivor changes nothing.
    Exits 1 with the reason when the merge is refused."""
    from bridge.actors import CLI_ADMIN
    from bridge.customers import merge_customers, merge_preview
    from bridge.models import StaffUser

    with unit_of_work(ctx) as session:
        preview = merge_preview(session, survivor_id, absorbed_id)
        if preview.already_merged:
            out.print(f"customer {absorbed_id} is already merged into customer {survivor_id}: nothing to do")
            return
        sides = []
        for c in (preview.survivor, preview.absorbed):
            sales = session.get(StaffUser, c.salesperson_id) if c.salesperson_id else None
            sides.append(
                cells(
                    c.id,
                    c.name,
                    _type(c.type),
                    sales.display_name if sales else None,
                    c.phone,
                    c.contact_name,
                    c.erp_code,
                )
            )
    table = Table("", "survivor (stays)", "absorbed (becomes alias)")
    for label, left, right in zip(("id", "name", "type", "salesperson", "phone", "contact", "ERP code"), *sides):
        table.add_row(label, left, right)
    out.print(table)
    moving = ", ".join(f"{n} {what}" for what, n in preview.rows.items() if n) or "no rows"
    out.print(f"will move to customer {survivor_id}: {moving}")
    if preview.survivor.type != preview.absorbed.type:
        out.print(f"note: the types differ; the survivor keeps type {preview.survivor.type}")
    if preview.survivor.erp_code and preview.absorbed.erp_code:
        out.print(
            f"note: both have an ERP code; the survivor keeps {preview.survivor.erp_code} and the ERP is "
            f"told to merge {preview.absorbed.erp_code} into it",
            markup=False,
        )
    if not yes:
        typer.confirm(f"Merge customer {absorbed_id} into customer {survivor_id}?", abort=True)
    with unit_of_work(ctx) as session:
        result = merge_customers(session, CLI_ADMIN, survivor_id, absorbed_id)
    if result.already_merged:
        out.print(f"customer {absorbed_id} is already merged into customer {survivor_id}: nothing to do")
        return
    moved = ", ".join(f"{n} {what}" for what, n in result.moved.items() if n) or "nothing"
    out.print(f"merged customer {absorbed_id} into customer {survivor_id}: moved {moved}")
    for what, items in result.dropped.items():
        for item in items:
            facts = ", ".join(f"{k} {v}" for k, v in item.items()) if isinstance(item, dict) else f"id {item}"
            out.print(f"dropped {what}: {facts}", markup=False)
    out.print(f"ERP code of customer {survivor_id}: {result.erp_code or '(none yet)'}", markup=False)


@customers_app.command("set-type")
def customers_set_type(
    ctx: typer.Context,
    customer_id: Annotated[int, typer.Argument(help="Id of the customer.", show_default=False)],
    new_type: Annotated[
        int,
        typer.Argument(
            metavar="1|2",
            min=1,
            max=2,
            help="1 = 类型一 (the ERP makes the production order at once), "
            "2 = 类型二 (the salesperson confirms payment first).",
            show_default=False,
        ),
    ],
) -> None:
    """Change a customer's type. It applies to new orders; orders already placed keep theirs,
    and the command says how many open ones still wait for payment confirmation."""
    from bridge.actors import CLI_ADMIN
    from bridge.customers import set_customer_type

    with unit_of_work(ctx) as session:
        change = set_customer_type(session, CLI_ADMIN, customer_id, new_type)
    if change.customer_id != customer_id:
        out.print(f"customer {customer_id} is merged into customer {change.customer_id}: changing that one")
    if change.changed:
        out.print(f"customer {change.customer_id}: type {change.old_type} → {change.new_type}")
    else:
        out.print(f"customer {change.customer_id} is already type {change.new_type}: nothing changed")
    if change.notice:
        out.print(
            f"note: {change.unreleased_open_orders} open order(s) not yet released still wait for the "
            f"salesperson's payment confirmation ({change.notice})"
        )
