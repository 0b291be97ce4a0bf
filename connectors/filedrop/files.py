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
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

OUT, IN, ARCHIVE, ERROR = "out", "in", "archive", "error"
FOLDERS = (OUT, IN, ARCHIVE, ERROR)
DONE_SUFFIX = ".done"
ERROR_NOTE_SUFFIX = ".error.txt"
TEMP_PREFIX = ".tmp-"
_IGNORED_ENDINGS = (".tmp", ".part", DONE_SUFFIX)


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


def write_atomic(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``folder/name`` so that no reader ever sees a partial file: a
    temporary ``.tmp-…`` file, flushed and fsynced, renamed into place, then the folder
    fsynced. Replaces a file of the same name. On failure the temporary file is removed and
    the OSError is raised."""
    final = folder / name
    temp = folder / f"{TEMP_PREFIX}{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        with open(temp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, final)
    except BaseException:
        try:
            temp.unlink()
        except OSError:
            pass
        raise
    fsync_dir(folder)
    return final


def free_name(folder: Path, name: str) -> str:
    """``name`` if nothing in ``folder`` has it, else ``stem.2.ext``, ``stem.3.ext`` …"""
    if not (folder / name).exists():
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    n = 2
    while True:
        candidate = f"{stem}.{n}.{ext}" if ext else f"{stem}.{n}"
        if not (folder / candidate).exists():
            return candidate
        n += 1
