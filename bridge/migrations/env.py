"""Alembic environment: run by ``jht-bridge db upgrade`` (and by tests) with our engine.

On SQLite a migration that rebuilds a table (batch mode, or 0002's AUTOINCREMENT rebuild) drops
the old table, which foreign keys referencing it would refuse. So SQLite migrations run with
foreign keys off — a PRAGMA that only takes effect outside a transaction — and every foreign key
is checked before the migration commits: a violation aborts it and nothing is changed.
"""

from alembic import context

from bridge import models  # noqa: F401  (registers every table on the metadata)
from bridge.models import metadata

config = context.config


def run() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from bridge.db import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # The raw connection is in autocommit mode here (bridge.db): the PRAGMA takes effect.
            conn.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
        try:
            with conn.begin():
                context.configure(
                    connection=conn,
                    target_metadata=metadata,
                    render_as_batch=True,  # SQLite cannot ALTER most things: rebuild tables instead
                    compare_type=True,
                )
                context.run_migrations()
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the migration would break foreign keys: {broken[:10]}")
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys = ON")


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; use `jht-bridge db upgrade`")
run()
