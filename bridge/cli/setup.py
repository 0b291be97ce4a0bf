"""Setting up and diagnosing: ``init`` (a working setup in a folder) and ``check``."""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from bridge.cli._common import fail, out, state

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
# Username of the salesperson who gets the customers that log in without an invite code
# (users add NAME --role sales first). Unset, they have no salesperson: an admin assigns one
# (customers list --unassigned, then customers assign CUSTOMER_ID USERNAME).
# default_salesperson = "sales"

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
    from bridge.db import upgrade
    from connectors.filedrop import make_folders

    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    config_file = folder / "bridge.toml"
    made = []
    if config_file.exists():
        out.print(f"{config_file} exists: keeping it", markup=False)
    else:
        # Owner-only from the first byte (no window at the umask's mode): it names the secret
        # files and may later hold the database's and the ERP's addresses.
        fd = os.open(config_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(CONFIG_TEMPLATE.format(date=datetime.now().date().isoformat()))
        made.append(str(config_file))
    make_folders(folder / "erp")  # the template's [connector.filedrop] root
    key_file = folder / "secrets" / "token.key"
    if not key_file.exists():
        key_file.parent.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
        made.append(str(key_file))
    st = state(ctx)
    st.reset(config_file)
    config = st.config()
    upgrade(st.engine())
    for path in made:
        out.print(f"created {path}", markup=False)
    out.print(f"database ready: {config.database.display_url()}", markup=False)
    out.print(
        "next: jht-bridge --config {0} demo-data   (a demo catalog)\n"
        "      jht-bridge --config {0} users add admin --role admin\n"
        "      jht-bridge --config {0} check".format(_rel(config_file)),
        markup=False,
    )


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def check(
    ctx: typer.Context,
    send_test: Annotated[
        bool, typer.Option("--send-test", help="Also send a test message through each notice channel.")
    ] = False,
) -> None:
    """Diagnose the setup: configuration, database (reachable, schema up to date), the ERP
    connector, WeChat login (live mode: WeChat's API reached and the AppID and secret accepted,
    by fetching an access token), each notice channel (reachable, credentials accepted; nothing is sent unless
    --send-test), the token key, file permissions (config, database and secret files private to
    their owner), dead letters in the outbox and dead or parked ERP events in the inbox (each
    with the command that lists them), and demo logins whose published password still works.
    Prints one line per check: ok, WARN (works, but fix it before going live) or FAIL. Exits 1
    if any failed; warnings alone exit 0. With no configuration at all (no config file found, no
    JHT_* variables) it says where it looked and stops: run `jht-bridge init` first."""
    from bridge.config import nothing_configured
    from bridge.diagnose import Report, run_checks
    from bridge.types import utcnow

    st = state(ctx)
    if missing := nothing_configured(st.config_path):
        # Checking the built-in defaults would report their folders, and make a database here.
        out.print(f"[FAIL] config: {missing}", markup=False)
        fail("1 check(s) failed")
    config = st.config()
    report = Report(run_checks(config, st.engine(), send_test=send_test), utcnow())
    for result in report.results:
        out.print(f"[{result.mark}] {result.name}: {result.detail}", markup=False)
    bad, warnings = report.failed, report.warnings
    if bad:
        fail(f"{bad} check(s) failed" + (f", {warnings} warning(s)" if warnings else ""))
    if warnings:
        out.print(f"{warnings} warning(s): see the WARN lines")
