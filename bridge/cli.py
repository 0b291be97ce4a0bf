"""The ``jht-bridge`` command line: set up, diagnose and operate the bridge.

Every command reads the configuration the same way (``--config``, ``$JHT_CONFIG``,
``./etc/bridge.toml``, ``./var/bridge.toml``); a bad configuration or a refused action prints
what is wrong and exits non-zero, never a traceback.
"""

from __future__ import annotations

import getpass
import os
import secrets
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from bridge import __version__
from bridge.config import Config, ConfigError, load_config

app = typer.Typer(
    name="jht-bridge",
    help="锦亨泰商城 bridge: the mini-program's backend beside the production software (ERP).",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
users_app = typer.Typer(help="Staff users: admins and salespeople.", no_args_is_help=True)
customers_app = typer.Typer(help="Customers: list, merge duplicates, change type.", no_args_is_help=True)
products_app = typer.Typer(help="The product catalog: import and export (CSV or XLSX).", no_args_is_help=True)
config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(customers_app, name="customers")
app.add_typer(products_app, name="products")
app.add_typer(config_app, name="config")

out = Console(highlight=False, soft_wrap=True)
if not out.is_terminal:
    # Piped into a file or a pager: do not squeeze tables into 80 columns.
    out = Console(highlight=False, soft_wrap=True, width=200)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class State:
    config_path: Optional[Path] = None
    log_level: Optional[str] = None
    _config: Optional[Config] = None
    _engine: object = field(default=None, repr=False)

    def config(self, *, skip_existence_checks: bool = False) -> Config:
        if self._config is None:
            try:
                self._config = load_config(self.config_path, skip_existence_checks=skip_existence_checks)
            except ConfigError as exc:
                fail(str(exc), code=2)
            from bridge.logs import setup_logging

            setup_logging(self.log_level or self._config.log.level, self._config.log.format)
        return self._config

    def engine(self):
        if self._engine is None:
            from bridge.db import make_engine

            self._engine = make_engine(self.config())
        return self._engine


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}" if err.is_terminal else f"error: {message}", markup=err.is_terminal)
    raise typer.Exit(code)


def state(ctx: typer.Context) -> State:
    return ctx.find_root().obj


@contextmanager
def unit_of_work(ctx: typer.Context) -> Iterator:
    """A committed transaction; a domain error becomes a clear message and exit code 1."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from bridge.db import session_scope
    from bridge.errors import DomainError

    st = state(ctx)
    try:
        with session_scope(st.engine()) as session:
            yield session
    except DomainError as exc:
        fail(exc.detail)
    except (OperationalError, ProgrammingError) as exc:
        fail(
            f"database {st.config().database.display_url()}: {exc.orig}\n"
            "  (is it reachable, and has `jht-bridge db upgrade` been run?)"
        )


def _version(value: bool) -> None:
    if value:
        out.print(f"jht-bridge {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    config: Annotated[
        Optional[Path],
        typer.Option(
            "--config",
            "-c",
            help="Config file. Default: $JHT_CONFIG, then ./etc/bridge.toml, then ./var/bridge.toml.",
            show_default=False,
        ),
    ] = None,
    log_level: Annotated[
        Optional[str],
        typer.Option(help="Override log.level: debug, info, warning or error.", show_default=False),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """锦亨泰商城 bridge: stores the shop's orders, syncs them with the ERP, serves the mini-program.

    Start with `jht-bridge init`, then `jht-bridge demo-data` for a demo catalog, then
    `jht-bridge check`. Settings can be overridden by environment variables named
    JHT_<SECTION>__<KEY>, e.g. JHT_DATABASE__URL or JHT_LOG__LEVEL.
    """
    if log_level and log_level not in ("debug", "info", "warning", "error"):
        raise typer.BadParameter("use debug, info, warning or error", param_hint="--log-level")
    ctx.obj = State(config_path=config, log_level=log_level)


# --------------------------------------------------------------------------- init / db

CONFIG_TEMPLATE = """\
# jht-bridge configuration, made by `jht-bridge init` on {date}.
# Every key, with its default and meaning: etc/bridge.example.toml in the source tree.
# Any key can be overridden by an environment variable JHT_<SECTION>__<KEY>.
# Relative paths are relative to this file's folder.

[bridge]
name = "jht-bridge"
timezone = "Asia/Shanghai"

[database]
# SQLite file next to this config. For PostgreSQL:
# url = "postgresql+psycopg://jht@db-host:5432/jht"   (password: JHT_DATABASE__PASSWORD)
url = "sqlite:///bridge.db"

[customers]
# 1: the ERP makes the production order at once; 2: the salesperson confirms payment first.
default_type = 2

[connector]
name = "filedrop"

[connector.filedrop]
# Folder shared with the ERP (out/, in/, archive/, error/ are made below it).
root = "erp"
format = "json"
encoding = "utf-8"

[security]
# Key that signs the API's tokens; keep this file readable by the service account only.
token_secret_file = "secrets/token.key"

[wechat]
# dev: any login code is accepted (demos, local use; refused unless the API listens on 127.0.0.1).
# Before going live: mode = "live", appid = "wx…", and the AppSecret in JHT_WECHAT__APP_SECRET.
mode = "dev"
appid = ""
"""


@app.command()
def init(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="Folder for the config, database and ERP exchange files.")] = Path(
        "var"
    ),
) -> None:
    """Make a working setup in FOLDER (default ./var): bridge.toml, the SQLite database, the
    file-drop folders and a token signing key. The config file, the database and the key are
    made readable by their owner only (mode 600; the secrets folder 700). Running it again
    changes nothing that exists; it only brings the database schema up to date."""
    from bridge.db import make_engine, upgrade

    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    config_file = folder / "bridge.toml"
    made = []
    if config_file.exists():
        out.print(f"{config_file} exists: keeping it")
    else:
        # Owner-only from the first byte (no window at the umask's mode): it names the secret
        # files and may later hold the database's and the ERP's addresses.
        fd = os.open(config_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(CONFIG_TEMPLATE.format(date=datetime.now().date().isoformat()))
        made.append(str(config_file))
    for sub in ("erp/out", "erp/in", "erp/archive", "erp/error"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    key_file = folder / "secrets" / "token.key"
    if not key_file.exists():
        key_file.parent.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
        made.append(str(key_file))
    st = state(ctx)
    st.config_path = config_file
    config = st.config()
    engine = make_engine(config)
    upgrade(engine)
    engine.dispose()
    for path in made:
        out.print(f"created {path}")
    out.print(f"database ready: {config.database.display_url()}")
    out.print(
        "next: jht-bridge --config {0} demo-data   (a demo catalog)\n"
        "      jht-bridge --config {0} users add admin --role admin\n"
        "      jht-bridge --config {0} check".format(_rel(config_file))
    )


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Create or migrate the database schema to the latest version (safe to run again)."""
    from bridge.db import current_revision, upgrade

    engine = state(ctx).engine()
    before = _revision_or_fail(ctx, current_revision)
    upgrade(engine, revision)
    after = current_revision(engine)
    out.print(f"schema {before or 'empty'} → {after}" if before != after else f"schema already at {after}")


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Print the schema revision of the database and the newest one this version knows."""
    from bridge.db import current_revision, head_revision

    rev = _revision_or_fail(ctx, current_revision)
    out.print(f"database: {rev or 'empty'}   newest: {head_revision()}")


def _revision_or_fail(ctx, current_revision):
    from sqlalchemy.exc import OperationalError

    st = state(ctx)
    try:
        return current_revision(st.engine())
    except OperationalError as exc:
        fail(f"cannot open the database {st.config().database.display_url()}: {exc.orig}")


# --------------------------------------------------------------------------- check


@app.command()
def check(ctx: typer.Context) -> None:
    """Diagnose the setup: configuration, database (reachable, schema up to date), the ERP
    connector, the token key, file permissions (config, database and secret files private to
    their owner) and demo logins whose published password still works. Prints one line per
    check: ok, WARN (works, but fix it before going live) or FAIL. Exits 1 if any failed;
    warnings alone exit 0."""
    from bridge.diagnose import run_checks

    st = state(ctx)
    config = st.config()
    results = run_checks(config, st.engine())
    for result in results:
        out.print(f"[{result.mark}] {result.name}: {result.detail}", markup=False)
    bad = sum(not result.ok for result in results)
    warnings = sum(result.ok and result.warn for result in results)
    if bad:
        fail(f"{bad} check(s) failed" + (f", {warnings} warning(s)" if warnings else ""))
    if warnings:
        out.print(f"{warnings} warning(s): see the WARN lines")


# --------------------------------------------------------------------------- config


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective configuration (file + environment), secrets hidden."""
    import json

    config = state(ctx).config()
    data = config.model_dump(mode="json")
    data["database"]["url"] = config.database.display_url()
    out.print(f"# from {config.source or '(defaults: no config file found)'}")
    out.print(json.dumps(data, ensure_ascii=False, indent=2), markup=False)


# --------------------------------------------------------------------------- users


_PASSWORD_STDIN_HELP = "Read the password from the first line of standard input (for scripts)."


def _new_password(from_stdin: bool) -> str:
    """A new password: one line of stdin, or typed twice at a hidden prompt."""
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
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help=_PASSWORD_STDIN_HELP)
    ] = False,
) -> None:
    """Add an admin or a salesperson. The password is asked for twice (or read from stdin); it
    needs at least 10 characters and must not be a common or easily guessed one."""
    from bridge.actors import CLI_ADMIN
    from bridge.models import StaffRole
    from bridge.users import add_user

    try:
        staff_role = StaffRole(role)
    except ValueError:
        raise typer.BadParameter("use admin or sales", param_hint="--role")
    password = _new_password(password_stdin)
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
    out.print(f"added {staff_role.value} {user.username} (id {user.id}{invite})")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """List staff users: admins and salespeople, with the invite code each salesperson shares."""
    from sqlmodel import select

    from bridge.models import StaffUser

    with unit_of_work(ctx) as session:
        users = session.exec(select(StaffUser).order_by(StaffUser.id)).all()
    table = Table("id", "username", "name", "role", "phone", "invite code", "active")
    for u in users:
        table.add_row(*_cells(u.id, u.username, u.display_name, u.role.value, u.phone, u.invite_code,
                              "yes" if u.active else "no"))
    out.print(table)


_USERNAME_ARG = Annotated[str, typer.Argument(help="Login name of the staff user (see `users list`).", show_default=False)]


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
        out.print(f"deactivated {role} {name} (id {user_id}): "
                  f"{result.sessions_ended} sign-in session(s) ended", markup=False)
    else:
        out.print(f"{name} (id {user_id}) was already inactive"
                  + (f"; {result.sessions_ended} sign-in session(s) ended" if result.sessions_ended else ""),
                  markup=False)
    if result.customers:
        out.print(f"note: {result.customers} customer(s) still have {name} ({display_name}) as "
                  "salesperson: give them another one (an admin, in the salesperson API: PATCH "
                  "/api/sales/v1/customers/ID with salesperson_id; `jht-bridge customers list` shows them)",
                  markup=False)


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
) -> None:
    """Set a new password for a staff user, asked for twice (or read from stdin), and end every
    session they have open. It needs at least 10 characters and must not be a common or easily
    guessed one."""
    from bridge.actors import CLI_ADMIN
    from bridge.users import get_user, reset_password

    with unit_of_work(ctx) as session:
        get_user(session, username)  # an unknown name fails before the password is typed
    password = _new_password(password_stdin)
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


# --------------------------------------------------------------------------- customers

_TYPE_LABEL = {1: "1 类型一", 2: "2 类型二"}


def _cells(*values) -> list[str]:
    """Table cells from stored text: a customer named "[b]…" must not turn into rich markup."""
    from rich.markup import escape

    return [escape(str(v)) if v is not None else "" for v in values]


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
            *_cells(
                c.id, c.name, _TYPE_LABEL.get(c.type, c.type), row.salesperson, c.phone, c.erp_code,
                row.accounts, row.orders, c.merged_into_id,
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
                _cells(
                    c.id, c.name, _TYPE_LABEL.get(c.type, c.type), sales.display_name if sales else None,
                    c.phone, c.contact_name, c.erp_code,
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
    out.print(f"ERP code of customer {survivor_id}: {result.erp_code or '(none yet)'}")


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


# --------------------------------------------------------------------------- products / demo data


def _choice(value: Optional[str], allowed: tuple[str, ...], option: str) -> Optional[str]:
    if value is not None and value.lower() not in allowed:
        raise typer.BadParameter(f"use {' or '.join(allowed)}", param_hint=option)
    return value.lower() if value else None


@contextmanager
def _progress(label: str) -> Iterator:
    """A ``progress(done, total)`` callback: a bar on stderr in a terminal; in a pipe or a log,
    one plain line at the end (and every quarter for big files) instead of control codes."""
    if err.is_terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=err, transient=True,
        ) as bar:
            task = bar.add_task(label, total=None)
            # total 0 means "not known yet": rich shows a pulsing bar for None.
            yield lambda done, total: bar.update(task, completed=done, total=total or None)
        return
    printed: set[int] = set()

    def plain(done: int, total: int) -> None:
        quarter = 4 * done // total if total else -1
        if quarter not in printed and (quarter == 4 or (total >= 1000 and quarter > 0)):
            printed.add(quarter)
            err.print(f"{label}: {done}/{total} rows", markup=False)

    yield plain


_FORMAT_HELP = "File format. Default: from the file name's suffix (.csv or .xlsx)."


@products_app.command("export")
def products_export(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="File to write, e.g. catalog.xlsx or catalog.csv.", show_default=False)],
    fmt: Annotated[Optional[str], typer.Option("--format", "-f", metavar="csv|xlsx", help=_FORMAT_HELP, show_default=False)] = None,
) -> None:
    """Export the whole catalog (both kinds, active or not) to FILE, one product per row,
    ordered by code, with Chinese headers: 编码, 名称, 类型, ERP物料编码, 单位, 单价, the wheel
    spec (形状, 外径/厚度/孔径 mm, 磨料, 粒度, 硬度, 结合剂, 最高线速度), 标记, 说明, 上架.

    Edit the file and bring it back with `products import`; an export imported unchanged
    changes nothing. To edit in Excel, prefer .xlsx: Excel reads a CSV's codes and numbers as it
    likes (0012 becomes 12). CSV is UTF-8 with a BOM, so Excel on Chinese Windows shows it right.

    Text that Excel or WPS would run as a formula (starting with = + - @, a tab or a carriage
    return) stays text: in CSV it gets one apostrophe in front ('=1+1), which `products import`
    takes away again; in XLSX it is written as a text cell. Control characters are removed, with
    a warning naming the products."""
    from bridge.catalog import FORMATS, export_products

    fmt = _choice(fmt, FORMATS, "--format")
    with unit_of_work(ctx) as session:
        count = export_products(session, file, fmt)
    out.print(f"exported {count} product(s) to {file}", markup=False)


@products_app.command("import")
def products_import(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="Catalog sheet (.xlsx or .csv), e.g. one made by `products export`.",
            exists=True, dir_okay=False, readable=True, show_default=False,
        ),
    ],
    fmt: Annotated[Optional[str], typer.Option("--format", "-f", metavar="csv|xlsx", help=_FORMAT_HELP, show_default=False)] = None,
    encoding: Annotated[
        str,
        typer.Option(
            metavar="auto|utf-8|gb18030",
            help="CSV text encoding: auto (UTF-8, else GB18030 as Chinese Excel saves CSV), utf-8 or gb18030."
        ),
    ] = "auto",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file and count what would change; write nothing.")
    ] = False,
) -> None:
    """Import products from FILE, all rows or none: new codes (编码) are created, existing ones
    updated where a cell differs, the rest counted unchanged.

    Headers may be the Chinese ones of `products export` or the English field names, in any
    order; 编码 and 名称 are required, a column left out keeps its current values. An XLSX file
    is read from its first sheet; empty rows are skipped. When any row is bad, nothing is
    imported: every bad cell is listed with its row number, column, value and reason, and the
    command exits 1. The import is recorded in the audit log.

    In a CSV, one apostrophe before a leading = + - @, tab or carriage return is taken away (as
    `products export` puts it there; write ''=1+1 for text starting with '=); a cell holding a
    control character is refused."""
    from bridge.actors import CLI_ADMIN
    from bridge.catalog import COLUMNS, ENCODINGS, FORMATS, import_products

    fmt = _choice(fmt, FORMATS, "--format")
    encoding = _choice(encoding, ENCODINGS, "--encoding")
    with _progress(f"checking {file.name}") as progress, unit_of_work(ctx) as session:
        report = import_products(session, CLI_ADMIN, file, fmt, dry_run, progress, encoding=encoding)
    if not report.ok:
        _print_row_errors(report.errors)
        fail(f"{len(report.bad_rows)} row(s) of {file.name} have errors: nothing imported")
    out.print(report.summary(), markup=False)
    headers = {c.key: c.header for c in COLUMNS}
    shown = list(report.changes.items())
    for sku, keys in shown[:50]:
        out.print(f"  {'would update' if dry_run else 'updated'} {sku}: {', '.join(headers[k] for k in keys)}", markup=False)
    if len(shown) > 50:
        out.print(f"  … and {len(shown) - 50} more updated product(s)")


def _print_row_errors(errors) -> None:
    def short(value: str) -> str:
        return value if len(value) <= 40 else value[:39] + "…"

    if out.is_terminal:
        table = Table("行 row", "列 column", "值 value", "原因 reason")
        for e in errors:
            table.add_row(str(e.row), e.column, short(e.value), e.reason)
        out.print(table)
    else:
        # One line per error keeps a log or a pipe greppable (a table would wrap at 80 columns).
        for e in errors:
            out.print(f"row {e.row}, {e.column or '-'}: {short(e.value)!r}: {e.reason}", markup=False)


@app.command("demo-data")
def demo_data(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option("--force", help="Load into a database that already holds real products, customers or orders.")
    ] = False,
) -> None:
    """Load a demo grinding-wheel shop: ~20 standard wheels and 3 custom ones (each granted to
    one customer), a salesperson (sales, 张伟) and an admin (admin) with demo passwords, two
    type-1 and two type-2 customers with addresses, a hidden product, customer prices and
    packaging QR codes.

    Safe to run again: what exists is kept and reported as already there. Refuses a database
    with real data (the demo passwords are public) unless --force."""
    from bridge.actors import CLI_ADMIN
    from bridge.demo import load_demo_data

    with unit_of_work(ctx) as session:
        summary = load_demo_data(session, CLI_ADMIN, force=force)
    table = Table("demo data", "created", "already there")
    for kind in summary.KINDS:
        table.add_row(kind, str(summary.created[kind]), str(summary.existing[kind]))
    out.print(table)
    out.print("demo logins (salesperson and admin API: POST /api/sales/v1/auth/login):")
    for login in summary.logins:
        secret = login.password or "(account existed before: its password was not changed)"
        out.print(f"  {login.role.value:5}  {login.username} / {secret}   {login.display_name}", markup=False)


# --------------------------------------------------------------------------- run


def _runtime(ctx: typer.Context):
    """The running parts (connector, plugins) for a command; config problems exit 2."""
    from bridge.runtime import Runtime

    st = state(ctx)
    try:
        return Runtime.open(st.config(), st.engine())
    except ConfigError as exc:
        fail(str(exc), code=2)


def _check_schema(ctx: typer.Context) -> None:
    from bridge.db import current_revision, head_revision

    rev = _revision_or_fail(ctx, current_revision)
    if rev != head_revision():
        fail(f"the database schema is at {rev or 'empty'}, this version needs {head_revision()}: run `jht-bridge db upgrade`")


HostOption = Annotated[Optional[str], typer.Option(help="Address to listen on (default: api.host, 127.0.0.1).", show_default=False)]
PortOption = Annotated[Optional[int], typer.Option(help="Port to listen on (default: api.port, 8600).", show_default=False)]


@app.command()
def run(ctx: typer.Context, host: HostOption = None, port: PortOption = None) -> None:
    """Run the bridge in one process: the HTTP API for the mini-program and salespeople, and
    the ERP sync loops (outbox dispatcher and inbox poller), until Ctrl-C or SIGTERM."""
    _serve(ctx, host, port, api=True, loops=True)


@app.command()
def serve(ctx: typer.Context, host: HostOption = None, port: PortOption = None) -> None:
    """Run only the HTTP API (for several API replicas on PostgreSQL, with `worker` processes
    running the sync loops)."""
    _serve(ctx, host, port, api=True, loops=False)


@app.command()
def worker(ctx: typer.Context) -> None:
    """Run only the sync loops (outbox dispatcher and inbox poller), for a deployment where
    API processes and workers are separate. Several workers may share a PostgreSQL database:
    they split the outbox and elect one inbox poller per connector."""
    _serve(ctx, None, None, api=False, loops=True)


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Server:
    """uvicorn's server, stopped by our own SIGTERM/SIGINT handlers: uvicorn would re-raise the
    signal after its shutdown and kill the process before the sync loops finish their work."""

    def __init__(self, config):
        import contextlib

        import uvicorn

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self):
                yield

        self.server = Server(config)

    def request_exit(self) -> None:
        self.server.should_exit = True

    def run(self) -> None:
        self.server.run()
        if not self.server.started:
            raise SystemExit(1)


def _serve(ctx: typer.Context, host: Optional[str], port: Optional[int], *, api: bool, loops: bool) -> None:
    _check_schema(ctx)
    rt = _runtime(ctx)
    config = rt.config
    host, port = host or config.api.host, port or config.api.port
    wechat = None
    if api or config.wechat.shipment_template_id:
        from webapi.wechat import WeChatClient, WeChatNotifier

        if config.wechat.mode == "dev":
            if api and not _is_loopback(host):
                fail(f"wechat.mode = dev accepts any login code; it is refused on {host}. Listen on 127.0.0.1, "
                     "or set wechat.mode = live with wechat.appid and JHT_WECHAT__APP_SECRET.", code=2)
            from bridge.logs import get_logger

            get_logger("bridge.cli").warning(
                "WECHAT DEV MODE: any login code is accepted as a user. For demos and local use only.")
        try:
            wechat = WeChatClient(config.wechat)
        except ValueError as exc:
            fail(f"{exc}", code=2)
        if config.wechat.shipment_template_id:
            rt.notifiers.append(WeChatNotifier(rt.engine, wechat, timezone=config.bridge.timezone))
    loop = rt.worker() if loops else None
    if not api:
        out.print(f"sync loops running with connector {rt.connector.name}; Ctrl-C stops", markup=False)
        loop.run_forever()
        rt.engine.dispose()
        return
    from webapi.app import create_app, server_config

    try:
        application = create_app(rt, wechat=wechat)
    except ValueError as exc:
        fail(str(exc), code=2)
    if loop is not None:
        application.state.wake_dispatcher = loop.wake
        loop.start()
    out.print(f"API on http://{host}:{port} (OpenAPI: /schema)" + (", sync loops running" if loop else "")
              + "; Ctrl-C stops", markup=False)
    server = _Server(server_config(application, config, host, port, access_log=False, lifespan="on"))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: server.request_exit())
    try:
        server.run()
    finally:
        if loop is not None:
            loop.stop()
            loop.join(30)
        rt.engine.dispose()


sync_app = typer.Typer(help="Run the sync by hand.", no_args_is_help=True)
app.add_typer(sync_app, name="sync")


@sync_app.command("once")
def sync_once(ctx: typer.Context) -> None:
    """Deliver every due outbox message and apply every waiting ERP event once, then exit
    (for cron-style deployments, diagnosis, and after fixing a dead letter)."""
    _check_schema(ctx)
    rt = _runtime(ctx)
    try:
        sent = rt.dispatcher().drain()
        received = rt.poller().drain()
    finally:
        rt.close()
    out.print(f"outbox: {sent} message(s) handled; inbox: {received} event(s) handled")


outbox_app = typer.Typer(help="Messages to the ERP and notifications: list, preview, retry, purge.", no_args_is_help=True)
inbox_app = typer.Typer(help="Events from the ERP: list and replay.", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")
app.add_typer(inbox_app, name="inbox")


@outbox_app.command("list")
def outbox_list(
    ctx: typer.Context,
    status: Annotated[Optional[str], typer.Option(help="pending, delivered, dead or superseded (default: all).")] = None,
    ref: Annotated[Optional[str], typer.Option(help="Only messages about this order number or customer id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="Most rows to show, newest first.")] = 50,
) -> None:
    """List outbox messages, newest first: id, kind, order or customer, status, attempts,
    next try and the last error (dead letters show the ERP's own words)."""
    from sqlmodel import select

    from bridge.models import OutboxMessage, OutboxStatus

    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        try:
            stmt = stmt.where(OutboxMessage.status == OutboxStatus(status))
        except ValueError:
            raise typer.BadParameter("use pending, delivered, dead or superseded", param_hint="--status")
    if ref:
        stmt = stmt.where(OutboxMessage.aggregate_id == ref)
    with unit_of_work(ctx) as session:
        rows = session.exec(stmt).all()
    table = Table("id", "kind", "ref", "status", "tries", "next try / delivered", "last error")
    for r in rows:
        when = r.delivered_at if r.delivered_at else r.next_attempt_at
        table.add_row(str(r.id), r.kind, r.aggregate_id, r.status.value, str(r.attempts),
                      when.astimezone().strftime("%m-%d %H:%M:%S"), (r.last_error or "")[:80])
    out.print(table)


@outbox_app.command("preview")
def outbox_preview(
    ctx: typer.Context,
    message_id: Annotated[int, typer.Argument(help="Outbox message id (see `outbox list`).")],
) -> None:
    """Show exactly what the connector would be given for one message — the document after
    every plugin's adjustments — without sending anything (E8)."""
    import json

    from bridge.models import OutboxMessage
    from bridge.outbox import message_action

    rt = _runtime(ctx)
    with unit_of_work(ctx) as session:
        message = session.get(OutboxMessage, message_id)
        if message is None:
            fail(f"outbox message {message_id} does not exist")
        action, doc = message_action(message)
    if action != "notify":
        doc = rt.adjust(message.kind, doc, rt.connector.name)
    rt.connector.close()
    out.print(f"# {message.kind} → {rt.connector.name}.{action}  (status {message.status.value}, {message.attempts} attempt(s))", markup=False)
    out.print(json.dumps(doc, ensure_ascii=False, indent=2, default=str), markup=False)


@outbox_app.command("retry")
def outbox_retry(
    ctx: typer.Context,
    ids: Annotated[Optional[list[int]], typer.Argument(help="Dead letters to re-queue (default: none; see --all-dead).", show_default=False)] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="Re-queue every dead letter.")] = False,
) -> None:
    """Re-queue dead letters for delivery now (after the cause was fixed in the ERP or the
    config). Their attempt count starts again from zero."""
    from bridge.outbox import retry_dead

    if not ids and not all_dead:
        fail("name the message ids to retry, or pass --all-dead")
    with unit_of_work(ctx) as session:
        n = retry_dead(session, None if all_dead else ids)
    out.print(f"re-queued {n} dead letter(s)")


@outbox_app.command("purge")
def outbox_purge(
    ctx: typer.Context,
    older_than_days: Annotated[int, typer.Option(help="Delete delivered and superseded messages older than this.")] = 30,
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


@inbox_app.command("list")
def inbox_list(
    ctx: typer.Context,
    status: Annotated[Optional[str], typer.Option(help="applied, ignored, parked, dead or quarantined (default: all).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="Most rows to show, newest first.")] = 50,
) -> None:
    """List events received from the ERP, newest first, with what became of each and why."""
    from sqlmodel import select

    from bridge.models import InboxEvent, InboxStatus

    stmt = select(InboxEvent).order_by(InboxEvent.id.desc()).limit(limit)
    if status:
        try:
            stmt = stmt.where(InboxEvent.status == InboxStatus(status))
        except ValueError:
            raise typer.BadParameter("use applied, ignored, parked, dead or quarantined", param_hint="--status")
    with unit_of_work(ctx) as session:
        rows = session.exec(stmt).all()
    table = Table("id", "event", "kind", "status", "tries", "received", "reason / source")
    for r in rows:
        table.add_row(str(r.id), r.event_id[:40], r.kind, r.status.value, str(r.attempts),
                      r.received_at.astimezone().strftime("%m-%d %H:%M:%S"), (r.error or r.source or "")[:80])
    out.print(table)


@inbox_app.command("replay")
def inbox_replay(
    ctx: typer.Context,
    ids: Annotated[list[int], typer.Argument(help="Inbox event ids (see `inbox list`).", show_default=False)],
) -> None:
    """Apply stored ERP events again — a parked one now, or a dead one after its cause was
    fixed (e.g. a status word added to [sync.status_map]). Applied events are left alone."""
    rt = _runtime(ctx)
    poller = rt.poller()
    try:
        for inbox_id in ids:
            try:
                status = poller.replay(inbox_id)
            except LookupError as exc:
                fail(str(exc))
            out.print(f"inbox {inbox_id}: {status.value}")
    finally:
        rt.close()


@app.command()
def demo(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Option(help="Folder to set up when no config is found.")] = Path("var"),
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="Afterwards let the simulated ERP move orders along until Ctrl-C.")
    ] = False,
) -> None:
    """Walk through the proposal's two scenarios with a simulated ERP on the file drop: a
    type-2 customer orders a stocked wheel (等待发货 → payment confirmed → shipped with a tracking
    number → receipt confirmed) and a type-1 customer orders its custom wheel (等待处理 →
    production → two shipments). Sets up FOLDER with demo data first when there is no config."""
    from bridge.config import find_config_file
    from bridge.walkthrough import DemoError, Walkthrough

    st = state(ctx)
    if find_config_file(st.config_path) is None:
        ctx.invoke(init, ctx, folder=folder)
        st.config_path = folder.resolve() / "bridge.toml"
        st._config = None
        st._engine = None
        ctx.invoke(demo_data, ctx)
    _check_schema(ctx)
    rt = _runtime(ctx)
    from bridge.logs import setup_logging

    # The walk-through's own lines tell the story; the loops' log lines only when asked for.
    setup_logging(st.log_level or "warning", rt.config.log.format)
    try:
        with Walkthrough(rt, lambda line: out.print(line, markup=False)) as walk:
            walk.scenario_1()
            walk.scenario_2()
            out.print("done: see `jht-bridge outbox list`, `jht-bridge inbox list` and the files under "
                      f"{rt.config.connector.filedrop.root}", markup=False)
            if keep_running:
                out.print("the simulated ERP now moves open orders along by itself; Ctrl-C stops", markup=False)
                walk.keep_running()
    except DemoError as exc:
        fail(str(exc))
    finally:
        rt.engine.dispose()


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
