"""``db``: the database schema (Alembic migrations)."""

from __future__ import annotations

from typing import Annotated

import typer

from bridge.cli._common import out, revision_or_fail, state

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Create or migrate the database schema to the latest version (safe to run again)."""
    from bridge.db import current_revision, upgrade

    engine = state(ctx).engine()
    before = revision_or_fail(ctx)
    upgrade(engine, revision)
    after = current_revision(engine)
    out.print(f"schema {before or 'empty'} → {after}" if before != after else f"schema already at {after}")


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Print the schema revision of the database and the newest one this version knows."""
    from bridge.db import head_revision

    rev = revision_or_fail(ctx)
    out.print(f"database: {rev or 'empty'}   newest: {head_revision()}")
