"""``inbox``: events from the ERP (list and replay)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.table import Table

from bridge.cli._common import cells, fail, out, runtime, unit_of_work

inbox_app = typer.Typer(help="Events from the ERP: list and replay.", no_args_is_help=True)


@inbox_app.command("list")
def inbox_list(
    ctx: typer.Context,
    status: Annotated[
        Optional[str], typer.Option(help="applied, ignored, parked, dead or quarantined (default: all).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="Most rows to show, newest first.")] = 50,
) -> None:
    """List events received from the ERP, newest first, with what became of each and why."""
    from bridge.inbox import list_events
    from bridge.models import InboxStatus

    try:
        wanted = InboxStatus(status) if status else None
    except ValueError:
        raise typer.BadParameter("use applied, ignored, parked, dead or quarantined", param_hint="--status")
    with unit_of_work(ctx) as session:
        rows = list_events(session, status=wanted, limit=limit)
    table = Table("id", "event", "kind", "status", "tries", "received", "reason / source")
    for r in rows:
        table.add_row(
            *cells(
                r.id,
                r.event_id[:40],
                r.kind,
                r.status.value,
                r.attempts,
                r.received_at.astimezone().strftime("%m-%d %H:%M:%S"),
                (r.error or r.source or "")[:80],
            )
        )
    out.print(table)


@inbox_app.command("replay")
def inbox_replay(
    ctx: typer.Context,
    ids: Annotated[list[int], typer.Argument(help="Inbox event ids (see `inbox list`).", show_default=False)],
) -> None:
    """Apply stored ERP events again — a parked one now, or a dead or quarantined one after its
    cause was fixed (e.g. a status word added to [sync.status_map]). Applied events are left
    alone. A corrected copy the ERP sends with the same event id needs no replay: it replaces a
    quarantined event, or a parked or dead one it differs from, and is applied by itself. Each
    replay is written to the audit log."""
    from bridge.actors import CLI_ADMIN
    from bridge.models import InboxEvent, InboxStatus

    rt = runtime(ctx)
    poller = rt.poller()
    try:
        for inbox_id in ids:
            try:
                status = poller.replay(inbox_id, CLI_ADMIN)
            except LookupError as exc:
                fail(str(exc))
            if status in (InboxStatus.APPLIED, InboxStatus.IGNORED):
                out.print(f"inbox {inbox_id}: {status.value}")
                continue
            with unit_of_work(ctx) as session:
                reason = session.get(InboxEvent, inbox_id).error
            out.print(f"inbox {inbox_id}: {status.value}: {reason}", markup=False)
    finally:
        rt.close()
