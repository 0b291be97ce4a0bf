"""``jht-bridge check``: one line per thing that must work, each saying what to do when not."""

from __future__ import annotations

import os
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
    name = config.connector.name
    if name != "filedrop":
        return [CheckResult("connector", False, f"{name}: unknown connector (built in: filedrop)")]
    root = config.connector.filedrop.root
    problems = []
    for sub in ("out", "in", "archive", "error"):
        folder = root / sub
        if not folder.is_dir():
            problems.append(f"{folder} missing")
        elif not os.access(folder, os.W_OK):
            problems.append(f"{folder} not writable")
    if problems:
        return [CheckResult("connector", False, f"filedrop at {root}: " + "; ".join(problems))]
    return [CheckResult("connector", True, f"filedrop at {root}: folders present and writable")]


def _secrets(config: Config) -> list[CheckResult]:
    sec = config.security
    if sec.token_key():
        where = "environment" if sec.token_secret else str(sec.token_secret_file)
        return [CheckResult("token key", True, f"from {where}")]
    hint = sec.token_secret_file or "security.token_secret_file"
    return [CheckResult("token key", False, f"none: set JHT_SECURITY__TOKEN_SECRET or create {hint}")]
