"""What every command of the CLI shares: the consoles, the per-invocation ``State`` (config and
database engine, read once), the one way to fail (a message and an exit code, never a
traceback), the unit of work, and stored text made safe for rich."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, Optional

import typer
from rich.console import Console

from bridge.config import Config, ConfigError, load_config

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
    _log_file: bool = False
    _engine: object = field(default=None, repr=False)

    def config(self) -> Config:
        """The configuration, read and validated once; a problem exits 2 naming the key."""
        if self._config is None:
            try:
                self._config = load_config(self.config_path)
            except ConfigError as exc:
                fail(str(exc), code=2)
            self._setup_logging()
        return self._config

    def log_to_file(self) -> None:
        """Write ``log.file`` too from now on, if it is set: the long-running commands (``run``,
        ``serve``, ``worker``) do, one-off commands never (two processes rotating one file would
        lose lines, and an admin's command would leave files the service user cannot rotate)."""
        self._log_file = True
        self._setup_logging()

    def _setup_logging(self) -> None:
        from bridge.logs import setup_logging

        settings = self.config().log
        file = settings.file if self._log_file else None
        try:
            setup_logging(
                self.log_level or settings.level,
                settings.format,
                file=file,
                file_max_bytes=settings.file_max_mb * 2**20,
                file_backups=settings.file_backups,
            )
        except OSError as exc:
            fail(f"log.file: cannot write {file}: {exc.strerror or exc}", code=2)

    def engine(self):
        """The database engine, made once; a database the config names but this install cannot
        open (e.g. its driver is not installed) exits 2 like any other config problem."""
        if self._engine is None:
            from bridge.db import make_engine

            try:
                self._engine = make_engine(self.config())
            except ConfigError as exc:
                fail(str(exc), code=2)
        return self._engine

    def reset(self, config_path: Path) -> None:
        """Use another config file from now on (``init`` and ``demo``, after making one)."""
        if self._engine is not None:
            self._engine.dispose()
        self.config_path, self._config, self._engine = config_path, None, None


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` on stderr (red in a terminal) and exit with ``code``. The
    message is printed as it is: it may quote stored text or an ERP's words."""
    if err.is_terminal:
        from rich.markup import escape

        err.print(f"[bold red]error:[/] {escape(message)}")
    else:
        err.print(f"error: {message}", markup=False)
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


def cells(*values: Any) -> list[str]:
    """Table cells from stored text: a customer named "[b]…" or an ERP error quoting "[E42]"
    must not turn into rich markup (or vanish as an unknown tag)."""
    from rich.markup import escape

    return [escape(str(v)) if v is not None else "" for v in values]


def revision_or_fail(ctx: typer.Context) -> str | None:
    """The database's schema revision; a database that cannot be opened exits 1 saying which."""
    from sqlalchemy.exc import OperationalError

    from bridge.db import current_revision

    st = state(ctx)
    try:
        return current_revision(st.engine())
    except OperationalError as exc:
        fail(f"cannot open the database {st.config().database.display_url()}: {exc.orig}")


def check_schema(ctx: typer.Context) -> None:
    """Exit 1 unless the database schema is the one this version needs."""
    from bridge.db import head_revision

    rev = revision_or_fail(ctx)
    if rev != head_revision():
        fail(
            f"the database schema is at {rev or 'empty'}, this version needs {head_revision()}: run `jht-bridge db upgrade`"
        )


def runtime(ctx: typer.Context):
    """The running parts (connector, plugins, notifiers) for a command, assembled by the
    composition root; config problems exit 2."""
    from bridge.app import open_runtime

    st = state(ctx)
    try:
        return open_runtime(st.config(), st.engine())
    except ConfigError as exc:
        fail(str(exc), code=2)
