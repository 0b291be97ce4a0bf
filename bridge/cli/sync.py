"""``sync``: run the sync by hand."""

from __future__ import annotations

import typer

from bridge import autocomplete
from bridge.cli._common import check_schema, out, runtime

sync_app = typer.Typer(help="Run the sync by hand.", no_args_is_help=True)


@sync_app.command("once")
def sync_once(ctx: typer.Context) -> None:
    """Deliver every due outbox message and apply every waiting ERP event once, then exit.

    First the shipped orders that are due are completed (orders.auto_complete_days), so their
    ERP command goes out in the same run. For cron-style deployments, diagnosis, and after
    fixing a dead letter."""
    check_schema(ctx)
    rt = runtime(ctx)
    try:
        completed = autocomplete.run(rt.engine, rt.config.orders.auto_complete_days)
        sent = rt.dispatcher().drain()
        received = rt.poller().drain()
    finally:
        rt.close()
    out.print(
        f"auto-complete: {len(completed)} order(s) completed; outbox: {sent} message(s) handled; "
        f"inbox: {received} event(s) handled"
    )


@sync_app.command("auto-complete")
def sync_auto_complete(ctx: typer.Context) -> None:
    """Complete the shipped orders whose latest shipment is orders.auto_complete_days days old or
    older (the worker does it hourly): by the system, on the timeline, and the ERP is told as for a
    customer's confirmation of receipt (delivered by the worker or the next `sync once`)."""
    check_schema(ctx)
    rt = runtime(ctx)
    days = rt.config.orders.auto_complete_days
    try:
        completed = autocomplete.run(rt.engine, days)
    finally:
        rt.close()
    if days == 0:
        out.print("auto-complete is off (orders.auto_complete_days = 0)")
        return
    for c in completed:
        out.print(f"{c.order_no}  shipped {c.shipped_at.isoformat()}  → completed")
    out.print(f"{len(completed)} order(s) completed automatically ({days} days after shipment)")
