"""``jht-bridge backup`` and ``restore``: the bridge's data into one archive while it runs, and
back (``bridge.backup`` does both; the README's Backup section)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from bridge.cli._common import fail, out, state


def _say(line: str) -> None:
    out.print(line, markup=False)


def backup(
    ctx: typer.Context,
    file: Annotated[
        Optional[Path],
        typer.Argument(
            help="Archive to write (.tar.gz). Default: jht-bridge-backup-YYYYMMDD-HHMMSS.tar.gz (UTC) here.",
            show_default=False,
        ),
    ] = None,
    include_secrets: Annotated[
        bool,
        typer.Option(
            "--include-secrets",
            help="Also copy the secret files the config names (token key, passwords); else they are only listed.",
        ),
    ] = False,
) -> None:
    """Back up the bridge's data while it runs: a consistent copy of the SQLite database (SQLite's
    online backup API) or a pg_dump (custom format) of PostgreSQL, the config file, and the list
    of secret files, with a manifest (version, schema revision, time, counts), in one .tar.gz
    readable by its owner only. The ERP exchange folder is not in it."""
    from bridge.backup import BackupError, default_name
    from bridge.backup import backup as make_backup

    config = state(ctx).config()
    try:
        make_backup(config, file or default_name(), include_secrets=include_secrets, say=_say)
    except BackupError as exc:
        fail(str(exc))


def restore(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A backup made by `jht-bridge backup`.", show_default=False)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before replacing the database.")] = False,
) -> None:
    """Restore a backup into the database of the current config, after asking (unless --yes).
    Refused while the bridge runs on it (stop the service first). The database replaced is kept
    (SQLite: renamed beside it; PostgreSQL: a pg_dump beside the config); an older schema is
    brought up to date. The current config and secret files stay; the backup's are written beside
    them as ….from-backup when they differ (a secret file the config names but lacks is restored)."""
    from bridge.backup import BackupError, check_restorable, read_manifest
    from bridge.backup import restore as restore_backup

    config = state(ctx).config()  # the engine is not opened: restore must be alone on the database
    if not file.is_file():
        fail(f"{file} does not exist")
    try:
        manifest = read_manifest(file)
        schema = check_restorable(config, manifest)
        _say(f"backup: {manifest.summary()}")
        where = Path(config.source).resolve() if config.source else "none"
        _say(f"into:   {config.database.display_url()} (config {where})")
        if schema == "older":
            _say("        its schema is older than this version's: it is upgraded after the restore")
        if not yes and not typer.confirm("Replace the database with the backup? (the current one is kept aside)"):
            fail("nothing restored")
        restore_backup(config, file, say=_say)
    except BackupError as exc:
        fail(str(exc))
