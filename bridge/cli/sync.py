"""``sync``: run the sync by hand."""

from __future__ import annotations

import typer

from bridge.cli._common import check_schema, out, runtime

sync_app = typer.Typer(help="Run the sync by hand.", no_args_is_help=True)


@sync_app.command("once")
def sync_once(ctx: typer.Context) -> None:
    """Deliver every due outbox message and apply every waiting ERP event once, then exit
    (for cron-style deployments, diagnosis, and after fixing a dead letter)."""
    check_schema(ctx)
    rt = runtime(ctx)
    try:
        sent = rt.dispatcher().drain()
        received = rt.poller().drain()
    finally:
        rt.close()
    out.print(f"outbox: {sent} message(s) handled; inbox: {received} event(s) handled")
