"""``outbox``: messages to the ERP and notifications (list, show, preview, retry, purge)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.table import Table

from bridge.cli._common import cells, fail, out, runtime, unit_of_work

outbox_app = typer.Typer(
    help="Messages to the ERP and notifications: list, show, preview, retry, purge.", no_args_is_help=True
)


@outbox_app.command("list")
def outbox_list(
    ctx: typer.Context,
    status: Annotated[
        Optional[str], typer.Option(help="pending, delivered, dead or superseded (default: all).")
    ] = None,
    ref: Annotated[Optional[str], typer.Option(help="Only messages about this order number or customer id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="Most rows to show, newest first.")] = 50,
) -> None:
    """List outbox messages, newest first: id, kind, order or customer, status, attempts,
    next try and the last error (dead letters show the ERP's own words), cut to its first
    80 characters (marked …): `outbox show ID` shows it whole."""
    from bridge.models import OutboxStatus
    from bridge.outbox import list_messages

    try:
        wanted = OutboxStatus(status) if status else None
    except ValueError:
        raise typer.BadParameter("use pending, delivered, dead or superseded", param_hint="--status")
    with unit_of_work(ctx) as session:
        rows = list_messages(session, status=wanted, ref=ref, limit=limit)
    table = Table("id", "kind", "ref", "status", "tries", "next try / delivered", "last error")
    for r in rows:
        when = r.delivered_at if r.delivered_at else r.next_attempt_at
        table.add_row(
            *cells(
                r.id,
                r.kind,
                r.aggregate_id,
                r.status.value,
                r.attempts,
                when.astimezone().strftime("%m-%d %H:%M:%S"),
                _cut(r.last_error or "", LIST_ERROR_CHARS),
            )
        )
    out.print(table)


LIST_ERROR_CHARS = 80
"""How much of a last error ``outbox list`` shows in its column (``outbox show`` shows it all)."""


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@outbox_app.command("show")
def outbox_show(
    ctx: typer.Context,
    message_id: Annotated[int, typer.Argument(help="Outbox message id (see `outbox list`).")],
) -> None:
    """Show one message whole: its kind, what it is about, status, attempts, times, the last
    error as the ERP wrote it (a dead letter's reason, never cut), what the ERP answered
    (the result), and the document (as queued, before plugins' adjustments: `outbox preview`
    shows what is sent)."""
    from bridge.models import OutboxMessage
    from bridge.outbox import delivery_state
    from bridge.text import readable_json

    with unit_of_work(ctx) as session:
        message = session.get(OutboxMessage, message_id)
        if message is None:
            fail(f"outbox message {message_id} does not exist")
        facts = [
            ("kind", message.kind),
            ("about", f"{message.aggregate_type} {message.aggregate_id}"),
            ("status", delivery_state(message)),
            ("attempts", str(message.attempts)),
            ("created", _when(message.created_at)),
        ]
        if message.delivered_at:
            facts.append(("delivered", _when(message.delivered_at)))
        elif message.next_attempt_at:
            facts.append(("next try", _when(message.next_attempt_at)))
        document, result, last_error = message.payload, message.result, message.last_error
    out.print(f"# outbox message {message_id}", markup=False)
    for name, value in facts:
        out.print(f"{name}: {value}", markup=False)
    out.print("# last error:" + (" none" if not last_error else ""), markup=False)
    if last_error:
        out.print(last_error, markup=False, soft_wrap=True)
    if result:
        out.print("# the ERP's answer (result):", markup=False)
        out.print(readable_json(result), markup=False, soft_wrap=True)
    out.print("# the document:", markup=False)
    out.print(readable_json(document), markup=False, soft_wrap=True)


def _when(value) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


@outbox_app.command("preview")
def outbox_preview(
    ctx: typer.Context,
    message_id: Annotated[int, typer.Argument(help="Outbox message id (see `outbox list`).")],
) -> None:
    """Show exactly what the connector would send for one message, without sending anything
    (E8): the SQL statements with their bound values in order (odbc), the file's name and text
    (filedrop), the request envelope (soap). A connector that cannot render shows the document
    it would be given, after every plugin's adjustments; so does a notice."""
    from bridge.actors import CLI_ADMIN
    from bridge.outbox import preview_message
    from bridge.text import readable_json

    rt = runtime(ctx)
    try:
        with unit_of_work(ctx) as session:
            preview = preview_message(session, message_id, actor=CLI_ADMIN, connector=rt.connector, adjust=rt.adjust)
    except LookupError as exc:
        fail(str(exc))
    finally:
        rt.connector.close()
    message = preview.message
    out.print(
        f"# {message.kind} → {rt.connector.name}.{preview.action}  (status {message.status.value}, "
        f"{message.attempts} attempt(s))",
        markup=False,
    )
    if message.last_error:
        out.print(f"# last error: {message.last_error}", markup=False, soft_wrap=True)
    if preview.sent is not None:
        if not preview.sent:
            out.print("# nothing is sent for it", markup=False)
        for n, part in enumerate(preview.sent, 1):
            out.print(f"## {n}. {part.title}", markup=False)
            out.print(part.text.rstrip("\r\n"), markup=False)
        return
    if preview.problem:
        out.print(f"# not sent: {preview.problem}", markup=False)
    out.print("# the document it gets:", markup=False)
    out.print(readable_json(preview.document), markup=False)


@outbox_app.command("retry")
def outbox_retry(
    ctx: typer.Context,
    ids: Annotated[
        Optional[list[int]],
        typer.Argument(help="Dead letters to re-queue (default: none; see --all-dead).", show_default=False),
    ] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="Re-queue every dead letter.")] = False,
) -> None:
    """Re-queue dead letters for delivery now (after the cause was fixed in the ERP or the
    config). Their attempt count starts again from zero; the audit log keeps which were."""
    from bridge.actors import CLI_ADMIN
    from bridge.outbox import retry_dead

    if not ids and not all_dead:
        fail("name the message ids to retry, or pass --all-dead")
    with unit_of_work(ctx) as session:
        n = retry_dead(session, CLI_ADMIN, None if all_dead else ids)
    out.print(f"re-queued {n} dead letter(s)")


@outbox_app.command("purge")
def outbox_purge(
    ctx: typer.Context,
    older_than_days: Annotated[
        int, typer.Option(help="Delete delivered and superseded messages older than this.")
    ] = 30,
) -> None:
    """Delete delivered (and superseded) messages older than --older-than-days. Pending
    messages and dead letters are never purged."""
    from datetime import timedelta

    from bridge.outbox import purge_delivered

    if older_than_days < 1:
        raise typer.BadParameter("at least 1 day", param_hint="--older-than-days")
    with unit_of_work(ctx) as session:
        n = purge_delivered(session, timedelta(days=older_than_days))
    out.print(f"purged {n} message(s)")
