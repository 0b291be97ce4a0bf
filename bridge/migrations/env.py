"""Alembic environment: run by ``jht-bridge db upgrade`` (and by tests) with our engine."""

from alembic import context

from bridge import models  # noqa: F401  (registers every table on the metadata)
from bridge.models import metadata

config = context.config


def run() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from bridge.db import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        context.configure(
            connection=conn,
            target_metadata=metadata,
            render_as_batch=True,  # SQLite cannot ALTER most things: rebuild tables instead
            compare_type=True,
        )
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; use `jht-bridge db upgrade`")
run()
