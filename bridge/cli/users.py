"""``users``: staff users (admins and salespeople)."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from bridge.cli._common import cells, fail, out, unit_of_work

users_app = typer.Typer(help="Staff users: admins and salespeople.", no_args_is_help=True)


_PASSWORD_STDIN_HELP = "Read the password from the first line of standard input (for scripts)."
_PASSWORD_FILE_HELP = "Read the password from the first line of this file (for scripts and installers)."


def _new_password(from_stdin: bool, from_file: Path | None = None) -> str:
    """A new password: one line of stdin or of a file, or typed twice at a hidden prompt."""
    if from_stdin and from_file is not None:
        fail("give --password-stdin or --password-file, not both")
    if from_file is not None:
        try:
            with open(from_file, encoding="utf-8") as f:
                return f.readline().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read the password file {from_file}: {exc}")
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("password: ")
    if getpass.getpass("again: ") != password:
        fail("the two passwords differ")
    return password


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Login name (letters, digits, . _ -).")],
    role: Annotated[str, typer.Option(help="admin or sales.")] = "sales",
    name: Annotated[Optional[str], typer.Option(help="Name shown to customers, e.g. 张伟.")] = None,
    phone: Annotated[Optional[str], typer.Option(help="Phone shown to the salesperson's customers.")] = None,
    wechat: Annotated[Optional[str], typer.Option(help="WeChat / WeCom id shown to customers.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help=_PASSWORD_STDIN_HELP)] = False,
    password_file: Annotated[Optional[Path], typer.Option("--password-file", help=_PASSWORD_FILE_HELP)] = None,
) -> None:
    """Add an admin or a salesperson. The password is asked for twice (or read from stdin or a
    file); it
    needs at least 10 characters and must not be a common or easily guessed one."""
    from bridge.actors import CLI_ADMIN
    from bridge.models import StaffRole
    from bridge.users import add_user

    try:
        staff_role = StaffRole(role)
    except ValueError:
        raise typer.BadParameter("use admin or sales", param_hint="--role")
    password = _new_password(password_stdin, password_file)
    with unit_of_work(ctx) as session:
        user = add_user(
            session,
            CLI_ADMIN,
            username=username,
            password=password,
            role=staff_role,
            display_name=name,
            phone=phone,
            wechat_id=wechat,
        )
        invite = f", invite code {user.invite_code}" if user.invite_code else ""
    out.print(f"added {staff_role.value} {user.username} (id {user.id}{invite})", markup=False)


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """List staff users: admins and salespeople, with the invite code each salesperson shares
    and when they last signed in."""
    from bridge.actors import CLI_ADMIN
    from bridge.users import list_users

    table = Table("id", "username", "name", "role", "phone", "invite code", "active", "last sign-in")
    with unit_of_work(ctx) as session:
        for row in list_users(session, CLI_ADMIN):
            u = row.user
            table.add_row(
                *cells(
                    u.id,
                    u.username,
                    u.display_name,
                    u.role.value,
                    u.phone,
                    u.invite_code,
                    "yes" if u.active else "no",
                    row.last_sign_in.strftime("%Y-%m-%d %H:%M UTC") if row.last_sign_in else None,
                )
            )
    out.print(table)


_USERNAME_ARG = Annotated[
    str, typer.Argument(help="Login name of the staff user (see `users list`).", show_default=False)
]


@users_app.command("deactivate")
def users_deactivate(ctx: typer.Context, username: _USERNAME_ARG) -> None:
    """Deactivate a staff user: they can no longer sign in, and every session they have open
    ends now. The last active admin cannot be deactivated. Their customers keep them as
    salesperson: the command says how many, to be given another salesperson."""
    from bridge.actors import CLI_ADMIN
    from bridge.users import deactivate_user

    with unit_of_work(ctx) as session:
        result = deactivate_user(session, CLI_ADMIN, username)
        user = result.user
        who = (user.role.value, user.username, user.id, user.display_name)  # read before the commit expires it
    role, name, user_id, display_name = who
    if result.changed:
        out.print(
            f"deactivated {role} {name} (id {user_id}): {result.sessions_ended} sign-in session(s) ended", markup=False
        )
    else:
        out.print(
            f"{name} (id {user_id}) was already inactive"
            + (f"; {result.sessions_ended} sign-in session(s) ended" if result.sessions_ended else ""),
            markup=False,
        )
    if result.customers:
        out.print(
            f"note: {result.customers} customer(s) still have {name} ({display_name}) as "
            "salesperson: give them another one (an admin, in the salesperson API: PATCH "
            "/api/sales/v1/customers/ID with salesperson_id; `jht-bridge customers list` shows them)",
            markup=False,
        )


@users_app.command("activate")
def users_activate(ctx: typer.Context, username: _USERNAME_ARG) -> None:
    """Let a deactivated staff user sign in again, with the password they had (reset it with
    `users reset-password` if that may be known to others)."""
    from bridge.actors import CLI_ADMIN
    from bridge.users import activate_user

    with unit_of_work(ctx) as session:
        changed = activate_user(session, CLI_ADMIN, username)
    out.print(f"activated {username}" if changed else f"{username} is already active: nothing changed", markup=False)


@users_app.command("reset-password")
def users_reset_password(
    ctx: typer.Context,
    username: _USERNAME_ARG,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help=_PASSWORD_STDIN_HELP)] = False,
    password_file: Annotated[Optional[Path], typer.Option("--password-file", help=_PASSWORD_FILE_HELP)] = None,
) -> None:
    """Set a new password for a staff user, asked for twice (or read from stdin or a file), and end every
    session they have open. It needs at least 10 characters and must not be a common or easily
    guessed one."""
    from bridge.actors import CLI_ADMIN
    from bridge.errors import DomainError
    from bridge.users import get_user, new_password, reset_password

    with unit_of_work(ctx) as session:
        user = get_user(session, username)  # an unknown name fails before the password is typed
    try:  # checked and hashed before the write transaction (bridge.users.NewPassword)
        password = new_password(_new_password(password_stdin, password_file), user.username, user.display_name)
    except DomainError as exc:
        fail(exc.detail)
    with unit_of_work(ctx) as session:
        ended = reset_password(session, CLI_ADMIN, username, password)
    out.print(f"new password set for {username}: {ended} sign-in session(s) ended", markup=False)


@users_app.command("revoke")
def users_revoke(ctx: typer.Context, username: _USERNAME_ARG) -> None:
    """End every sign-in session of a staff user (a lost phone, a shared computer): each of
    their apps and browsers must sign in again. The account and its password stay as they are."""
    from bridge.actors import CLI_ADMIN
    from bridge.users import revoke_sessions

    with unit_of_work(ctx) as session:
        ended = revoke_sessions(session, CLI_ADMIN, username)
    out.print(f"{username}: {ended} sign-in session(s) ended", markup=False)
