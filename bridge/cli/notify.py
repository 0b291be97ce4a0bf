"""``notify``: the channels that bring notices to people (WeCom robot …)."""

from __future__ import annotations

from typing import Annotated, Optional

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


@notify_app.command("set")
def notify_set(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The staff user.")],
    email: Annotated[Optional[str], typer.Option(help="E-mail address for notices ('' clears it).")] = None,
    wecom_user: Annotated[
        Optional[str], typer.Option("--wecom-user", help="WeCom user id, for the WeCom app channel ('' clears it).")
    ] = None,
    channels: Annotated[
        Optional[str],
        typer.Option(help="Comma-separated channels the user wants: wecom_robot, wecom_app, email ('' for none)."),
    ] = None,
    all_channels: Annotated[
        bool, typer.Option("--all-channels", help="Every configured channel that reaches the user (the default).")
    ] = False,
) -> None:
    """Set where notices reach a staff user and through which channels, and print the result."""
    from bridge.actors import CLI_ADMIN
    from bridge.notify import set_contacts
    from bridge.users import get_user

    if channels is not None and all_channels:
        fail("give --channels or --all-channels, not both")
    chosen = None if channels is None else [c.strip() for c in channels.split(",") if c.strip()]
    with unit_of_work(ctx) as session:
        user = set_contacts(
            session,
            CLI_ADMIN,
            get_user(session, username),
            email=email,
            wecom_userid=wecom_user,
            channels=chosen,
            all_channels=all_channels,
        )
        which = "all configured" if user.notify_channels is None else ", ".join(user.notify_channels) or "none"
        out.print(
            f"{user.username}: email {user.email or '-'}, WeCom user {user.wecom_userid or '-'}, "
            f"phone {user.phone or '-'}; channels: {which}",
            markup=False,
        )
