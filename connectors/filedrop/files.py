"""The folders of a file drop and the two rules both sides keep: how a file is written so the
other side never reads half of it, and which names a reader ignores.

Layout under the root folder shared with the ERP::

    out/       bridge → ERP: orders, customers, commands, merges (the ERP takes them away)
    in/        ERP → bridge: events (status, shipments, stock, customer codes)
    archive/   inbound files the bridge has handled
    error/     inbound files the bridge could not read, each with <file>.error.txt beside it
    stock.json the ERP's stock snapshot (stock.csv in CSV mode)

A writer writes to a temporary name that readers ignore (``.tmp-…``), flushes and fsyncs it,
then renames it to its final name: a rename inside one folder is atomic, so a final name
always holds a complete file. A writer that cannot rename may instead write ``<file>.done``
beside a complete file (see ``require_done_marker``).

The bridge's temporary names say who wrote them, ``.tmp-{name}.{host}.{pid}.{random}``, so that
a writer killed in the middle (SIGKILL, power cut) leaves a file the next start can recognise as
stale and remove (``remove_stale_temps``): one of this host whose process is gone, or any older
than ``STALE_TEMP_AGE_S``.
"""

from __future__ import annotations

import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

OUT, IN, ARCHIVE, ERROR = "out", "in", "archive", "error"
FOLDERS = (OUT, IN, ARCHIVE, ERROR)
DONE_SUFFIX = ".done"
ERROR_NOTE_SUFFIX = ".error.txt"
TEMP_PREFIX = ".tmp-"
_IGNORED_ENDINGS = (".tmp", ".part", DONE_SUFFIX)
STALE_TEMP_AGE_S = 3600
"""A temporary file of ours this old is stale whoever wrote it: no write takes an hour."""
PROBE_PIDS = os.name != "nt"
"""Whether a process can be asked if it still runs (``os.kill(pid, 0)``). Not on Windows, where
that call terminates the process: there only age makes a temporary file stale."""
_TEMP_NAME = re.compile(r"^\.tmp-(?P<name>.+)\.(?P<host>[a-z0-9-]+)\.(?P<pid>[0-9]+)\.(?P<rand>[0-9a-f]+)$")


def make_folders(root: Path) -> list[Path]:
    """Create root and its four folders where missing (what ``jht-bridge init`` needs);
    returns the folders it created."""
    made = []
    for sub in ("", *FOLDERS):
        folder = Path(root) / sub
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            made.append(folder)
    return made


def is_ignored(name: str) -> bool:
    """Names a reader skips: temporary files (``.x``, ``~x``, ``x.tmp``, ``x.part``) and
    ``.done`` markers (they belong to another file)."""
    lowered = name.lower()
    return name.startswith((".", "~")) or lowered.endswith(_IGNORED_ENDINGS)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable. Not possible on Windows, and some network file
    systems refuse it: the rename itself is still atomic there."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def this_host() -> str:
    """This machine's name as it goes into temporary file names: lower case letters, digits and
    dashes (dots and anything else become dashes), at most 40 characters."""
    name = re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().lower()).strip("-")
    return name[:40] or "host"


def temp_name(name: str) -> str:
    """The temporary name ``write_atomic`` writes ``name`` under first."""
    return f"{TEMP_PREFIX}{name}.{this_host()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, but not ours to signal (or cannot tell): keep its file
    return True


def stale_temps(folder: Path, now: float | None = None) -> list[str]:
    """Names of temporary files in ``folder`` that ``write_atomic`` left behind and nobody will
    finish: written on this host by a process that is gone, or older than ``STALE_TEMP_AGE_S``.
    Names of another shape (the ERP's own temporaries, probes) are never included."""
    now = time.time() if now is None else now
    host = this_host()
    found = []
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    for name in names:
        parts = _TEMP_NAME.match(name)
        if parts is None:
            continue
        try:
            st = os.lstat(folder / name)
        except OSError:
            continue
        old = now - st.st_mtime > STALE_TEMP_AGE_S
        orphan = (
            PROBE_PIDS and parts["host"] == host and int(parts["pid"]) != os.getpid() and not _alive(int(parts["pid"]))
        )
        if old or orphan:
            found.append(name)
    return found


def remove_stale_temps(folder: Path) -> list[str]:
    """Remove ``stale_temps(folder)``; returns the names removed."""
    removed = []
    for name in stale_temps(folder):
        try:
            os.unlink(folder / name)
        except FileNotFoundError:
            continue
        except OSError:
            continue  # another bridge removing it at the same time, or no permission: not fatal
        removed.append(name)
    return removed


def write_atomic(folder: Path, name: str, data: bytes, *, sync_folder: bool = True) -> Path:
    """Write ``data`` to ``folder/name`` so that no reader ever sees a partial file: a
    temporary ``.tmp-…`` file, flushed and fsynced, renamed into place, then the folder
    fsynced (unless ``sync_folder`` is false: the caller fsyncs it later, once for several
    files). Replaces a file of the same name. On failure the temporary file is removed and
    the OSError is raised."""
    final = folder / name
    finish_atomic([(write_temp(folder, name, data, fsync=True), final)], lambda temps: None)
    if sync_folder:
        fsync_dir(folder)
    return final


def write_temp(folder: Path, name: str, data: bytes, *, fsync: bool = False) -> Path:
    """The first half of ``write_atomic``: ``data`` in a new temporary file for ``name`` in
    ``folder``, not renamed yet, and fsynced only with ``fsync`` (else ``finish_atomic`` does
    it, for many files at once). On failure the temporary file is removed and the OSError is
    raised."""
    temp = folder / temp_name(name)
    try:
        with open(temp, "xb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
    except BaseException:
        discard(temp)
        raise
    return temp


def finish_atomic(written: list[tuple[Path, Path]], fsync: Callable[[Iterable[Path]], object]) -> set[Path]:
    """The second half of ``write_atomic`` for the ``(temp, final)`` pairs ``write_temp`` left:
    every temporary file fsynced (by ``fsync``, which may do them side by side), then each
    renamed into place in the given order; the folders renamed into are returned for their
    fsync. When a step fails, the temporary files not renamed yet are removed and the OSError
    is raised: the files renamed before it are complete and in place."""
    done = 0
    try:
        fsync(temp for temp, _ in written)
        for temp, final in written:
            os.replace(temp, final)
            done += 1
    except BaseException:
        for temp, _ in written[done:]:
            discard(temp)
        raise
    return {final.parent for _, final in written}


def fsync_file(path: Path) -> None:
    """Flush ``path``'s data to disk (through a new descriptor: fsync acts on the file; opened
    for writing, which Windows' FlushFileBuffers needs)."""
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def discard(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def free_name(folder: Path, name: str) -> str:
    """``name`` if nothing in ``folder`` has it, else ``stem.2.ext``, ``stem.3.ext`` … (a link
    counts, even one pointing nowhere)."""
    if not os.path.lexists(folder / name):
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    n = 2
    while True:
        candidate = f"{stem}.{n}.{ext}" if ext else f"{stem}.{n}"
        if not os.path.lexists(folder / candidate):
            return candidate
        n += 1
