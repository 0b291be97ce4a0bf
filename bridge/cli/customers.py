"""``customers``: list (and the queue of unassigned ones), merge duplicates, change type, assign a
salesperson, link to the ERP's customers (one by one, or by importing the ERP's customer list)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from bridge.cli._common import cells, fail, out, state, unit_of_work
from bridge.cli.products import EncodingOption, FormatOption, choice, print_row_errors, sheet_argument
from bridge.labels import CUSTOMER_TYPE_LABELS

customers_app = typer.Typer(
    help="Customers: list, merge duplicates, change type, assign a salesperson, link to the ERP's customers.",
    no_args_is_help=True,
)


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
    unassigned: Annotated[
        bool,
        typer.Option(
            "--unassigned",
            help="Only customers no active salesperson follows (nobody but admins sees them or their orders).",
        ),
    ] = False,
) -> None:
    """List customers with their type, salesperson, ERP code and how many accounts and orders
    they have. Merged customers (aliases) are left out unless --include-merged. With
    --unassigned, the queue of customers waiting for a salesperson: give each one with
    `customers assign`."""
    from bridge.customers import list_customers

    with unit_of_work(ctx) as session:
        rows = list_customers(session, search=search, include_merged=include_merged, unassigned=unassigned)
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
        preview = merge_preview(session, CLI_ADMIN, survivor_id, absorbed_id)
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


@customers_app.command("assign")
def customers_assign(
    ctx: typer.Context,
    customer_id: Annotated[int, typer.Argument(help="Id of the customer.", show_default=False)],
    username: Annotated[
        str, typer.Argument(help="Username of the (active) salesperson who follows it from now on.", show_default=False)
    ],
) -> None:
    """Give a customer a salesperson: they see it, its orders (type 2: they confirm its payments)
    and its inquiries, and the customer's "contact my salesperson" names them. Audited, and the
    ERP's customer master is told."""
    from bridge.actors import CLI_ADMIN
    from bridge.customers import resolve_customer, update_customer
    from bridge.users import get_user

    with unit_of_work(ctx) as session:
        user = get_user(session, username)
        before = resolve_customer(session, customer_id).salesperson_id
        customer = update_customer(session, CLI_ADMIN, customer_id, salesperson_id=user.id)
        name = customer.name
    if customer.id != customer_id:
        out.print(f"customer {customer_id} is merged into customer {customer.id}: assigning that one")
    if before == user.id:
        out.print(f"customer {customer.id} already has salesperson {username}: nothing changed", markup=False)
    else:
        out.print(f"customer {customer.id} ({name}): salesperson is now {username}", markup=False)


@customers_app.command("set-erp-code")
def customers_set_erp_code(
    ctx: typer.Context,
    customer_id: Annotated[int, typer.Argument(help="Id of the shop's customer.", show_default=False)],
    code: Annotated[
        str, typer.Argument(help="The customer's code in the ERP's customer master, e.g. C0012.", show_default=False)
    ],
) -> None:
    """Link a shop customer to the customer the ERP already has under CODE, so the ERP gets the
    shop's orders for its own customer record instead of creating a new one. A code another
    customer holds is refused, naming that customer (merge the two if they are one company).
    Audited; the ERP is told (its messages still waiting are rebuilt to carry the code)."""
    from bridge.actors import CLI_ADMIN
    from bridge.customers import set_erp_code

    connector = state(ctx).config().connector.name
    with unit_of_work(ctx) as session:
        change = set_erp_code(session, CLI_ADMIN, customer_id, code, connector=connector)
    if change.customer_id != customer_id:
        out.print(f"customer {customer_id} is merged into customer {change.customer_id}: linking that one")
    if change.changed:
        out.print(
            f"customer {change.customer_id}: ERP code {change.previous or '(none)'} → {change.code}", markup=False
        )
    else:
        out.print(f"customer {change.customer_id} already has ERP code {change.code}: nothing changed", markup=False)


@customers_app.command("import")
def customers_import(
    ctx: typer.Context,
    file: Annotated[
        Path, sheet_argument("The ERP's customer list (.xlsx or .csv) with the columns ERP客户编码, 客户名称, 电话.")
    ],
    fmt: FormatOption = None,
    encoding: EncodingOption = "auto",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file and show what each row would do; write nothing.")
    ] = False,
) -> None:
    """Import the customers the ERP already has (code, name, phone), all rows or none.

    A row whose code a shop customer holds is left alone; one whose phone (电话) is a shop
    customer's without an ERP code links that customer to the code; any other becomes a new shop
    customer with that code (type customers.default_type, salesperson
    customers.default_salesperson). Headers: ERP客户编码 (or 客户编码, erp_code), 客户名称 (or 名称,
    name), 电话 (or 手机, phone). Prints what each row did. When a row is bad (an empty or bad
    cell, a code or phone twice, a phone whose customer has another ERP code) nothing is written:
    every bad row is listed and the command exits 1."""
    from bridge.actors import CLI_ADMIN
    from bridge.catalog import ENCODINGS, FORMATS
    from bridge.customer_import import import_erp_customers

    fmt = choice(fmt, FORMATS, "--format")
    encoding = choice(encoding, ENCODINGS, "--encoding")
    config = state(ctx).config()
    with unit_of_work(ctx) as session:
        report = import_erp_customers(
            session,
            CLI_ADMIN,
            file,
            connector=config.connector.name,
            settings=config.customers,
            fmt=fmt,
            encoding=encoding,
            dry_run=dry_run,
        )
    if not report.ok:
        print_row_errors(report.errors)
        fail(f"{len(report.bad_rows)} row(s) of {file.name} have errors: nothing imported")
    would = "would be " if dry_run else ""
    said = {
        "created": f"{would}new customer",
        "linked": f"{would}linked to customer",
        "unchanged": "unchanged, already held by customer",
    }
    for o in report.outcomes:
        who = said[o.action] + (f" {o.customer_id}" if o.customer_id is not None else "")
        out.print(f"row {o.row}: {o.erp_code} {o.name}: {who}", markup=False)
    out.print(report.summary(), markup=False)
