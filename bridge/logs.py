"""Logging, configured once at start-up with structlog.

Readable colourless-or-coloured lines in a terminal, JSON lines otherwise (a service, a
container, a pipe). Context such as ``order_no`` and ``outbox_id`` is bound through
contextvars (``structlog.contextvars.bound_contextvars``) and appears on every line.
Standard-library loggers (uvicorn, alembic, sqlalchemy) go through the same renderer.

A long-running bridge may also write JSON lines to a file (``log.file``, set by the service
units), rotated by size, next to the console: the console (journald, WinSW's wrapper log, a
terminal) keeps what it always showed, the file is what a log shipper or a person with only the
data folder reads.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

import structlog

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def setup_logging(
    level: str = "info",
    fmt: str = "auto",
    stream=None,
    *,
    file: Path | None = None,
    file_max_bytes: int = 10 * 2**20,
    file_backups: int = 5,
) -> None:
    """Configure structlog and the standard logging module; safe to call again. With ``file``,
    JSON lines go to it as well, rotated at ``file_max_bytes`` keeping ``file_backups`` old
    files (its folder is made if missing; an ``OSError`` when it cannot be opened)."""
    stream = stream or sys.stderr
    if fmt == "auto":
        fmt = "console" if getattr(stream, "isatty", lambda: False)() else "json"
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_formatter(shared, fmt, colors=stream.isatty()))
    handlers: list[logging.Handler] = [handler]
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.handlers.RotatingFileHandler(
            file, maxBytes=file_max_bytes, backupCount=file_backups, encoding="utf-8"
        )
        to_file.setFormatter(_formatter(shared, "json"))
        handlers.append(to_file)
    root = logging.getLogger()
    for old in root.handlers:
        if isinstance(old, logging.FileHandler):
            old.close()  # the log file of an earlier call is let go of
    root.handlers[:] = handlers
    root.setLevel(_LEVELS[level])
    # Library chatter stays out of the operator's view; the CLI reports what it did itself.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("watchfiles").setLevel(logging.WARNING)


def _formatter(shared: list, fmt: str, colors: bool = False) -> structlog.stdlib.ProcessorFormatter:
    renderer = (
        structlog.dev.ConsoleRenderer(colors=colors)
        if fmt == "console"
        else structlog.processors.JSONRenderer(ensure_ascii=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *([structlog.processors.format_exc_info] if fmt == "json" else []),
            renderer,
        ],
    )


def get_logger(name: str | None = None):
    return structlog.get_logger(name)
