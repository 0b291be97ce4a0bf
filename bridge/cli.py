"""The ``jht-bridge`` command line: set up, diagnose and operate the bridge.

Every command reads the configuration the same way (``--config``, ``$JHT_CONFIG``,
``./etc/bridge.toml``, ``./var/bridge.toml``); a bad configuration or a refused action prints
what is wrong and exits non-zero, never a traceback.
"""

from __future__ import annotations

import getpass
import os
import secrets
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
"""


@app.command()
def init(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="Folder for the config, database and ERP exchange files.")] = Path(
        "var"
    ),
) -> None:
    """Make a working setup in FOLDER (default ./var): bridge.toml, the SQLite database, the
    file-drop folders and a token signing key. Running it again changes nothing that exists;
    it only brings the database schema up to date."""
    from bridge.db import make_engine, upgrade

    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    config_file = folder / "bridge.toml"
    made = []
    if config_file.exists():
        out.print(f"{config_file} exists: keeping it")
    else:
        config_file.write_text(CONFIG_TEMPLATE.format(date=datetime.now().date().isoformat()), encoding="utf-8")
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
    """Diagnose the setup: configuration, database (reachable, schema up to date), and the
    ERP connector's folder. Prints one line per check; exits 1 if any failed."""
    from bridge.diagnose import run_checks

    st = state(ctx)
    config = st.config()
    results = run_checks(config, st.engine())
    bad = 0
    for result in results:
        mark = "ok  " if result.ok else "FAIL"
        bad += not result.ok
        out.print(f"[{mark}] {result.name}: {result.detail}", markup=False)
    if bad:
        fail(f"{bad} check(s) failed")


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


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Login name (letters, digits, . _ -).")],
    role: Annotated[str, typer.Option(help="admin or sales.")] = "sales",
    name: Annotated[Optional[str], typer.Option(help="Name shown to customers, e.g. 张伟.")] = None,
    phone: Annotated[Optional[str], typer.Option(help="Phone shown to the salesperson's customers.")] = None,
    wechat: Annotated[Optional[str], typer.Option(help="WeChat / WeCom id shown to customers.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (for scripts).")
    ] = False,
) -> None:
    """Add an admin or a salesperson. The password is asked for twice (or read from stdin)."""
    from bridge.actors import CLI_ADMIN
    from bridge.models import StaffRole
    from bridge.users import add_user

    try:
        staff_role = StaffRole(role)
    except ValueError:
        raise typer.BadParameter("use admin or sales", param_hint="--role")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            fail("the two passwords differ")
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
    """List staff users."""
    from sqlmodel import select

    from bridge.models import StaffUser

    with unit_of_work(ctx) as session:
        users = session.exec(select(StaffUser).order_by(StaffUser.id)).all()
    table = Table("id", "username", "name", "role", "phone", "invite code", "active")
    for u in users:
        table.add_row(str(u.id), u.username, u.display_name, u.role.value, u.phone or "", u.invite_code or "", "yes" if u.active else "no")
    out.print(table)


# --------------------------------------------------------------------------- run


@app.command()
def run(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address the API listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port the API listens on.")] = 8600,
) -> None:
    """Run the bridge: the API for the mini-program and admin pages plus the ERP sync loops.

    Not available in this version yet: the sync loops and the API land in the next releases.
    """
    state(ctx).config()
    fail(
        "`run` is not available yet: this version has the data model, rules and CLI; the ERP sync "
        "loops and the HTTP API come in the next versions. Use `check`, `demo-data`, "
        "`products import/export` and `customers merge` meanwhile."
    )


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
