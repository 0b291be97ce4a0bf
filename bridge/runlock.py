"""The lock a running bridge holds on its SQLite database, so that ``restore`` can tell it runs.

Every ``run``, ``serve`` and ``worker`` on an SQLite database holds a *shared* lock on the file
``<database>.running`` beside it for as long as it runs; ``restore`` takes the same file's lock
*exclusively*, and so fails while any of them runs, and keeps every new one from starting while
it replaces the database. The operating system drops a lock when its process ends, however it
ends (SIGKILL, a crash, a power cut): there is no stale pid file to clean up, and a pid that a
new process got meanwhile cannot fool it. Asking the API port instead would miss a ``worker``
(no port) and a bridge on another port; SQLite's own locks are held only during a transaction.

POSIX: ``flock`` (shared and exclusive). Windows has no shared ``msvcrt`` lock, so there each
running process locks one byte of the first ``SLOTS`` bytes it can get, and ``restore`` locks all
of them at once. The file holds nothing; it stays when the bridge stops.

On PostgreSQL the bridge's processes may run on other machines: ``restore`` asks the server who
is connected (``bridge.backup``), not this file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SLOTS = 64
"""Windows: how many bridge processes may run on one database at once (one byte each)."""


class Locked(Exception):
    """The lock is held the other way: a bridge runs (for ``restore``), or a restore is under way
    (for a bridge starting)."""


def lock_file(database: Path) -> Path:
    """The lock file of the SQLite database ``database``."""
    return database.with_name(database.name + ".running")


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try(fd: int, offset: int, length: int) -> bool:
        os.lseek(fd, offset, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, length)
        except OSError:
            return False
        return True

    def _lock(fd: int, shared: bool) -> bool:
        if not shared:
            return _try(fd, 0, SLOTS)
        return any(_try(fd, slot, 1) for slot in range(SLOTS))

else:
    import fcntl

    def _lock(fd: int, shared: bool) -> bool:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


@contextmanager
def hold(database: Path, *, shared: bool) -> Iterator[Path]:
    """Hold the lock of ``database`` (shared: a running bridge; else: a restore) until the block
    ends; ``Locked`` at once when it is held the other way. Yields the lock file's path."""
    path = lock_file(database)
    fd = _open(path)
    try:
        if not _lock(fd, shared):
            raise Locked(str(path))
        yield path
    finally:
        os.close(fd)  # releases the lock (flock, and msvcrt's byte ranges)
