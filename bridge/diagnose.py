"""``jht-bridge check``: one line per thing that must work, each saying what to do when not."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bridge.config import Config


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


def run_checks(config: Config, engine: Engine) -> list[CheckResult]:
    results = [CheckResult("config", True, config.source or "no file found: built-in defaults")]
    results += _database(config, engine)
    results += _connector(config)
    results += _secrets(config)
    return results


def _database(config: Config, engine: Engine) -> list[CheckResult]:
    from bridge.db import current_revision, head_revision

    where = config.database.display_url()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        rev = current_revision(engine)
    except sa.exc.SQLAlchemyError as exc:
        return [CheckResult("database", False, f"{where}: cannot connect: {getattr(exc, 'orig', exc)}")]
    head = head_revision()
    if rev != head:
        return [
            CheckResult("database", True, f"{where}: reachable"),
            CheckResult(
                "schema", False, f"at {rev or 'empty'}, this version needs {head}: run `jht-bridge db upgrade`"
            ),
        ]
    from sqlmodel import Session, func, select

    from bridge.models import Customer, Order, Product, StaffUser

    with Session(engine) as session:
        counts = {
            label: session.exec(select(func.count()).select_from(model)).one()
            for label, model in (("products", Product), ("customers", Customer), ("orders", Order), ("staff users", StaffUser))
        }
    summary = ", ".join(f"{n} {label}" for label, n in counts.items())
    return [
        CheckResult("database", True, f"{where}: reachable"),
        CheckResult("schema", True, f"up to date ({rev}); {summary}"),
    ]


def _connector(config: Config) -> list[CheckResult]:
    """The active connector's own report (reachable, folders/tables/operations present…)."""
    from bridge.config import ConfigError
    from bridge.plugins import load_connector

    try:
        connector = load_connector(config)
    except ConfigError as exc:
        return [CheckResult("connector", False, "; ".join(exc.problems))]
    except Exception as exc:  # a plugin that fails to start must not hide the other checks
        return [CheckResult("connector", False, f"{config.connector.name}: cannot start: {exc}")]
    try:
        lines = connector.check()
    except Exception as exc:
        lines = []
        results = [CheckResult(f"connector {connector.name}", False, f"check failed: {exc}")]
    else:
        results = [CheckResult(f"connector {connector.name}: {line.name}", line.ok, line.detail) for line in lines]
    finally:
        connector.close()
    return results or [CheckResult(f"connector {connector.name}", True, "no checks reported")]


def _secrets(config: Config) -> list[CheckResult]:
    sec = config.security
    if sec.token_key():
        where = "environment" if sec.token_secret else str(sec.token_secret_file)
        return [CheckResult("token key", True, f"from {where}")]
    hint = sec.token_secret_file or "security.token_secret_file"
    return [CheckResult("token key", False, f"none: set JHT_SECURITY__TOKEN_SECRET or create {hint}")]
