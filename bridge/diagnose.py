"""``jht-bridge check``: one line per thing that must work, each saying what to do when not.

A line is ok, a failure (the bridge cannot work like this), or a warning: it works, but is unsafe
to go live with — files others on the machine can read, a demo login whose published password
still opens it.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Engine

from bridge.config import Config
from bridge.types import utcnow


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    warn: bool = False
    """Works, but should be fixed before going live; printed as WARN, not counted as a failure."""

    @property
    def level(self) -> str:
        """``fail``, ``warn`` or ``ok``."""
        return "fail" if not self.ok else "warn" if self.warn else "ok"

    @property
    def mark(self) -> str:
        return {"fail": "FAIL", "warn": "WARN", "ok": "ok  "}[self.level]


@dataclass(frozen=True)
class Report:
    """The lines of one ``run_checks``, when it ran, and its verdict."""

    results: list[CheckResult]
    at: datetime

    @property
    def failed(self) -> int:
        return sum(not r.ok for r in self.results)

    @property
    def warnings(self) -> int:
        return sum(r.ok and r.warn for r in self.results)


class CachedChecks:
    """``run_checks`` for a page that shows them (the 工作台): the checks ask the ERP and verify
    demo passwords (argon2), so they run at most once every ``ttl_s`` seconds, and one at a time;
    callers in between get the last report."""

    def __init__(self, ttl_s: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.ttl_s = ttl_s
        self.clock = clock
        self._lock = threading.Lock()
        self._report: Report | None = None
        self._ran_at = float("-inf")

    def __call__(self, config: Config, engine: Engine) -> Report:
        with self._lock:
            if self._report is None or self.clock() - self._ran_at >= self.ttl_s:
                self._report = Report(run_checks(config, engine), utcnow())
                self._ran_at = self.clock()
            return self._report


def run_checks(config: Config, engine: Engine, *, send_test: bool = False) -> list[CheckResult]:
    results = [CheckResult("config", True, config.source or "no file found: built-in defaults")]
    database = _database(config, engine)
    results += database
    results += _connector(config)
    results += _wechat(config)
    results += _channels(config, engine, send_test=send_test)
    results += _secrets(config)
    results += _file_modes(config)
    if all(r.ok for r in database):
        results += _stuck_messages(engine)
        results += _demo_logins(engine)
        results += _unassigned(config, engine)
    return results


def _stuck_messages(engine: Engine) -> list[CheckResult]:
    """Dead letters in the outbox, dead, parked and quarantined events in the inbox: each a
    failing line with the count and the command that lists them (O3)."""
    from sqlmodel import Session

    from bridge.models import InboxStatus, OutboxStatus
    from bridge.syncstate import sync_state

    with Session(engine) as session:
        state = sync_state(session)
    outbox = state.messages_by_target(OutboxStatus.DEAD)
    dead_letters = sum(outbox.values())
    parts = ", ".join(f"{n} {'to the ERP' if target == 'erp' else 'notice(s)'}" for target, n in sorted(outbox.items()))
    dead, parked = state.events(InboxStatus.DEAD), state.events(InboxStatus.PARKED)
    quarantined = state.events(InboxStatus.QUARANTINED)
    return [
        CheckResult(
            "outbox dead letters",
            not dead_letters,
            f"{dead_letters} message(s) will not be delivered ({parts}): see `jht-bridge outbox list --status dead`, "
            "fix the cause, then `jht-bridge outbox retry ID…`"
            if dead_letters
            else "none",
        ),
        CheckResult(
            "inbox dead events",
            not dead,
            f"{dead} ERP event(s) could not be applied: see `jht-bridge inbox list --status dead`, fix the cause "
            "(e.g. [sync.status_map]), then `jht-bridge inbox replay ID…`"
            if dead
            else "none",
        ),
        CheckResult(
            "inbox parked events",
            not parked,
            f"{parked} ERP event(s) name an order the bridge does not know (yet): see "
            "`jht-bridge inbox list --status parked` (they are retried, then dead)"
            if parked
            else "none",
        ),
        CheckResult(
            "inbox quarantined events",
            not quarantined,
            f"{quarantined} ERP event(s) were refused as malformed: see `jht-bridge inbox list --status quarantined` "
            "for the reasons; the ERP sends a corrected copy (the same event id is taken up again)"
            if quarantined
            else "none",
        ),
    ]


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
            for label, model in (
                ("products", Product),
                ("customers", Customer),
                ("orders", Order),
                ("staff users", StaffUser),
            )
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


def _wechat(config: Config) -> list[CheckResult]:
    """WeChat login (O3): in live mode, WeChat's API at ``wechat.base_url`` reached and the AppID
    and AppSecret accepted, by fetching an access token (the stable token: no other process's
    token is cut short; nothing is sent to anyone). Dev mode is said as it is."""
    from bridge.wechat import LIVE_SETTINGS, WeChatClient, WeChatError, WeChatUnavailable

    settings = config.wechat
    if settings.mode == "dev":
        return [
            CheckResult(
                "wechat",
                True,
                "dev mode: any login code is accepted as a user, for demos and local use (`run` refuses it beyond "
                f"127.0.0.1); to go live {LIVE_SETTINGS}",
            )
        ]
    try:
        client = WeChatClient(settings)
    except ValueError as exc:
        return [CheckResult("wechat", False, str(exc))]
    try:
        client.access_token()
    except WeChatUnavailable as exc:
        return [CheckResult("wechat", False, f"{settings.base_url} cannot be reached or is busy: {exc}")]
    except WeChatError as exc:
        return [
            CheckResult(
                "wechat",
                False,
                f"{settings.base_url} refused AppID {settings.appid}: {exc} (check wechat.appid and the AppSecret)",
            )
        ]
    finally:
        client.close()
    return [
        CheckResult(
            "wechat", True, f"live: {settings.base_url} reached, AppID {settings.appid} accepted (access token fetched)"
        )
    ]


def _channels(config: Config, engine: Engine, *, send_test: bool) -> list[CheckResult]:
    """Each configured notice channel (built-in or a plugin's with a ``check``): reachable and
    its credentials accepted, without sending; ``send_test``: a test message too."""
    from bridge.models import StaffUser
    from bridge.notify import is_channel, test_message
    from bridge.plugins import make_plugin_manager, notifiers

    try:
        found = [n for n in notifiers(make_plugin_manager(), config, engine).values() if is_channel(n)]
    except Exception as exc:
        return [CheckResult("notify", False, f"cannot start the notifiers: {exc}")]
    results = []
    for channel in found:
        name = f"notify {channel.channel}"
        check = getattr(channel, "check", None)
        if check is None:
            results.append(CheckResult(name, True, "configured (it has no check)"))
            continue
        try:
            ok, detail = check()
        except Exception as exc:
            ok, detail = False, f"check failed: {type(exc).__name__}: {exc}"
        if ok and send_test and getattr(channel, "audience", "staff") == "staff":  # not to customers
            user = StaffUser(username="check", display_name="jht-bridge check", role="admin", password_hash="")
            try:
                channel.send(channel.addresses(user)[0] if channel.addresses(user) else "", test_message(user))
                detail += "; a test message was sent"
            except Exception as exc:
                ok, detail = False, f"the test message was refused: {exc}"
        results.append(CheckResult(name, ok, detail))
    return results


def _secrets(config: Config) -> list[CheckResult]:
    sec = config.security
    if sec.token_key():
        where = "environment" if sec.token_secret else str(sec.token_secret_file)
        return [CheckResult("token key", True, f"from {where}")]
    hint = sec.token_secret_file or "security.token_secret_file"
    return [CheckResult("token key", False, f"none: set JHT_SECURITY__TOKEN_SECRET or create {hint}")]


def _demo_logins(engine: Engine) -> list[CheckResult]:
    """Demo users (``jht-bridge demo-data``) that are active and still open with their public
    demo password: anyone may sign in as them."""
    from sqlmodel import Session, select

    from bridge.demo import DEMO_LOGINS
    from bridge.models import StaffUser
    from bridge.users import verify_password

    passwords = dict(DEMO_LOGINS)
    with Session(engine) as session:
        users = session.exec(
            select(StaffUser).where(StaffUser.username.in_(list(passwords)), StaffUser.active.is_(True))
        ).all()
    open_ = sorted(u.username for u in users if verify_password(u.password_hash, passwords[u.username]))
    if not open_:
        return [CheckResult("demo logins", True, "no demo login opens with its published password")]
    names = ", ".join(open_)
    return [
        CheckResult(
            "demo logins",
            True,
            f"{names} still sign(s) in with the published demo password: anyone can. Before real use run "
            f"`jht-bridge users reset-password NAME` or `jht-bridge users deactivate NAME` for {names}",
            warn=True,
        )
    ]


def _unassigned(config: Config, engine: Engine) -> list[CheckResult]:
    """Who gets the customers that arrive without an invite code (``customers.default_salesperson``),
    and how many customers nobody follows now (A10): a default naming nobody usable fails."""
    from sqlmodel import Session

    from bridge.customers import count_unassigned
    from bridge.users import default_salesperson

    username = config.customers.default_salesperson
    with Session(engine) as session:
        user, problem = default_salesperson(session, username) if username else (None, None)
        waiting = count_unassigned(session)
    queue = (
        f"{waiting} customer(s) without a salesperson wait for an admin: `jht-bridge customers list --unassigned`, "
        "then `jht-bridge customers assign CUSTOMER_ID USERNAME`"
        if waiting
        else "no customer is without a salesperson"
    )
    if problem:
        return [CheckResult("salespeople", False, f"{problem}; {queue}")]
    if user is not None:
        return [CheckResult("salespeople", True, f"customers without an invite code go to {user.username}; {queue}")]
    return [
        CheckResult(
            "salespeople",
            True,
            "customers.default_salesperson is not set: customers without an invite code get no salesperson; " + queue,
            warn=bool(waiting),
        )
    ]


def _file_modes(config: Config) -> list[CheckResult]:
    """The config file, the SQLite database (and its -wal/-shm files) and every secret file named
    in the config must be readable and writable by their owner only; their folder of secrets too."""
    if os.name == "nt":  # Windows has ACLs, not these mode bits
        return []
    files = []
    if config.source:
        files.append(Path(config.source).resolve())  # absolute: the chmod hint works from any folder
    db_file = sqlite_file(config)
    if db_file is not None:
        files += [db_file, db_file.with_name(db_file.name + "-wal"), db_file.with_name(db_file.name + "-shm")]
    secrets = list(secret_files(config).values())
    files += secrets
    config_dir = Path(config.source).resolve().parent if config.source else None
    folders = sorted({p.resolve().parent for p in secrets if p.resolve().parent != config_dir})
    loose = []
    for path in [*files, *folders]:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue  # not there (yet): other checks say so where it matters
        if mode & 0o077:
            want = "700" if path.is_dir() else "600"
            loose.append(f"{path} is open to group/others (mode {mode:03o}): run chmod {want} {path}")
    if loose:
        return [CheckResult("file permissions", True, "; ".join(loose), warn=True)]
    return [CheckResult("file permissions", True, "config, database and secret files are private to their owner")]


def sqlite_file(config: Config) -> Path | None:
    """The SQLite database file of ``config``; None for another database or an in-memory one."""
    from sqlalchemy.engine import make_url

    url = make_url(config.database.url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or url.database.startswith("file:"):
        return None
    return Path(url.database)


def secret_files(config: Config) -> dict[str, Path]:
    """Every ``*_file`` key of the config (built-in sections and connector tables), by its dotted
    key (``security.token_secret_file``): the files that hold its secrets."""
    found: dict[str, Path] = {}

    def walk(node, prefix: str) -> None:
        if isinstance(node, BaseModel):
            items = [
                *((name, getattr(node, name)) for name in type(node).model_fields),
                *(node.model_extra or {}).items(),
            ]
        elif isinstance(node, dict):
            items = list(node.items())
        else:
            return
        for key, value in items:
            if key.endswith("_file") and isinstance(value, (str, Path)) and str(value):
                path = Path(value)
                found[prefix + key] = path if path.is_absolute() else config.base_dir / path
            else:
                walk(value, f"{prefix}{key}.")

    walk(config, "")
    return found
