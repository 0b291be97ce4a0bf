"""``notify``: the channels that bring notices to people (WeCom robot …)."""

from __future__ import annotations

from typing import Annotated

import typer

from bridge.cli._common import fail, out, runtime, unit_of_work

notify_app = typer.Typer(help="Notices to staff: test the channels.", no_args_is_help=True)


@notify_app.command("test")
def notify_test(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="Username of the staff user to send the test message to.")],
) -> None:
    """Send a test message to a staff user through each configured channel that reaches them
    (the WeCom robot: its group, @-mentioning the user's phone). Sent at once, not queued;
    prints one line per channel and exits 1 if any refused it or none is configured."""
    from bridge.notify import is_channel, send_test
    from bridge.users import get_user

    channels = [n for n in runtime(ctx).notifiers if is_channel(n)]
    if not channels:
        fail("no notice channel is configured: see [notify.*] in etc/bridge.example.toml")
    with unit_of_work(ctx) as session:
        user = get_user(session, to)
    results = send_test(channels, user)
    for name, ok, detail in results:
        out.print(f"[{'ok  ' if ok else 'FAIL'}] {name}: {detail}", markup=False)
    if not all(ok for _, ok, _ in results):
        fail("the test message did not reach every channel")
