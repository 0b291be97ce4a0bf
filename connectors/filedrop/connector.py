"""The file-drop connector: the bridge and the ERP exchange files in a shared folder.

Outgoing messages are files in out/, one per message, named ``{seq}_{ref}_{kind}.{ext}`` so
they sort in delivery order (seq is the outbox id the dispatcher passes as
``doc["_outbox_id"]``). Each is written to a temporary name, fsynced and renamed, so the ERP
never sees half a file; delivering the same message again writes the same name with the same
bytes.

Inbound events are files the ERP puts in in/, each read only once complete: renamed into
place, marked with ``<file>.done``, or held still for ``settle_s`` (an ERP writing in place;
``_settled``). Every pull hands out whatever events in in/ the bridge has not acknowledged yet,
oldest file name first; a file leaves in/ once every event in
it was acknowledged (``ack``): to archive/, or to error/ with a ``.error.txt`` when anything in
it was quarantined or refused (``REFUSED``). So the cursor is only informative: what is in in/ is what is still to do,
and a restart simply reads it again (the bridge deduplicates by event id).

The stock snapshot is the file ``stock.json`` (``stock.csv``) the ERP rewrites in the root.

Nothing in the share is trusted: an entry of in/ that is not a regular file (a symbolic link, a
folder, a named pipe, a socket) is never opened or followed but quarantined as it is, moved to
error/ itself; a file's size is taken from its directory entry before it is opened, and a file
over ``formats.MAX_INBOUND_BYTES`` is quarantined unread; any error decoding one file quarantines
that file with its reason, and the files behind it are read as usual.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import json
import os
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bridge.connector import (
    CheckLine,
    Connector,
    ConnectorContext,
    ErpEvent,
    PermanentError,
    Rendered,
    StockFigures,
    TransientError,
    check_command,
    command_args,
)
from bridge.logs import get_logger
from connectors.filedrop import formats
from connectors.filedrop.files import (
    ARCHIVE,
    DONE_SUFFIX,
    ERROR,
    ERROR_NOTE_SUFFIX,
    FOLDERS,
    IN,
    OUT,
    TEMP_PREFIX,
    discard,
    finish_atomic,
    free_name,
    fsync_dir,
    fsync_file,
    is_ignored,
    remove_stale_temps,
    stale_temps,
    write_atomic,
    write_temp,
)
from connectors.filedrop.formats import (
    DocumentError,
    FileProblem,
    check_document,
    decode_events,
    decode_stock,
    encode_document,
    out_name,
    read_time,
    Where,
    too_large,
)
from connectors.filedrop.settings import FiledropSettings

log = get_logger("connectors.filedrop")

COMMAND_SCHEMA = "jht.order_command/1"
FSYNC_THREADS = 8
"""How many of a round's files ``settle`` fsyncs at once."""
MTIME_SLACK_S = 2.0
"""How coarse a file system's modification times may be (FAT keeps two seconds): a file is only
taken as settled by its modification time when that is ``settle_s`` plus this much behind."""
OUT_STALE_AFTER_S = 900
"""A file still in out/ after this long means the ERP is not picking files up."""
OPERATION_KINDS = {"push_customer": "customer.upsert", "push_order": "order.create", "push_merge": "customer.merge"}
"""The kind of file each operation writes (an order command writes ``order.<command>``)."""
REFUSED = ("quarantined", "dead")
"""The outcomes (inbox statuses) that put a file in error/: an event that could not be read, and
one the bridge refused to apply without a person (an unknown ERP status word, a transition the
state machine forbids); the bridge keeps both, ``jht-bridge inbox list`` shows them."""
EVENT_ID_MAX = 128
"""The inbox keeps event ids of at most this many characters."""

_seq_lock = threading.Lock()
_last_fallback_us = 0


def _fallback_seq() -> str:
    """A 20-digit UTC timestamp (yyyymmddHHMMSS + microseconds), strictly increasing in this
    process: the sequence of a message that came without an outbox id."""
    global _last_fallback_us
    with _seq_lock:
        now = max(time.time_ns() // 1000, _last_fallback_us + 1)
        _last_fallback_us = now
    seconds, micro = divmod(now, 1_000_000)
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y%m%d%H%M%S") + f"{micro:06d}"


def _fit_id(event_id: str) -> str:
    if len(event_id) <= EVENT_ID_MAX:
        return event_id
    return event_id[:100] + "~" + hashlib.sha256(event_id.encode()).hexdigest()[:16]


def _signature(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _not_a_file(st: os.stat_result) -> FileProblem | None:
    """Why a directory entry (its ``lstat``) is not a regular file the bridge may read, or None."""
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return FileProblem(
            "is a symbolic link: the bridge does not follow links out of the share",
            "是符号链接（快捷方式）：桥接程序不会跟随链接去读共享目录以外的文件，请放入文件本身",
        )
    if stat.S_ISDIR(mode):
        return FileProblem("is a folder", "是文件夹，不是文件：请只在 in/ 中放事件文件")
    if stat.S_ISFIFO(mode):
        return FileProblem("is a named pipe (FIFO)", "是命名管道（FIFO），不是普通文件")
    if stat.S_ISSOCK(mode):
        return FileProblem("is a socket", "是套接字，不是普通文件")
    return FileProblem("is not a regular file (a device?)", "不是普通文件")


class _Refused(Exception):
    """The file turned out not to be one the bridge may read, once opened."""

    def __init__(self, problem: FileProblem):
        super().__init__(problem.en)
        self.problem = problem


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def _read_limited(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them. The open does not
    follow a symbolic link (O_NOFOLLOW: an entry swapped for a link after it was looked at) nor
    block on a named pipe (O_NONBLOCK), and what was opened is checked again (fstat) before a
    byte is read: _Refused when it is not a regular file or is too large. Windows has neither
    flag: there the look at the entry (lstat) before the open is the check."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _Refused(
                _not_a_file(os.lstat(path))
                or FileProblem("is a symbolic link: the bridge does not follow links out of the share", "是符号链接")
            ) from None
        raise
    try:
        st = os.fstat(fd)
        problem = _not_a_file(st)
        if problem is None and st.st_size > limit:
            problem = too_large(st.st_size, limit)
        if problem is not None:
            raise _Refused(problem)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # grew while being read
                raise _Refused(too_large(total, limit))
    finally:
        os.close(fd)


def _format_of(name: str, default: str) -> str:
    ext = name.rpartition(".")[2].lower()
    return ext if ext in ("json", "csv") else default


@dataclass
class _InboundFile:
    """What the connector knows of one file in in/: its events and which were acknowledged."""

    name: str
    signature: tuple[int, int, int]
    events: list[ErpEvent]
    problem_zh: str | None = None
    outcomes: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    reasons_zh: dict[str, str] = field(default_factory=dict)
    """The bridge's reasons in Chinese for the events it refused, by event id (``ack``)."""

    @property
    def complete(self) -> bool:
        return all(e.event_id in self.outcomes for e in self.events)


@dataclass(frozen=True)
class _StockSnapshot:
    path: Path
    signature: tuple[int, int, int]
    as_of: datetime
    items: dict[str, Decimal]


def _cannot_write(final: Path, exc: OSError) -> str:
    return f"cannot write {final}: {exc.strerror or exc} (is the ERP share mounted and writable?)"


class FiledropConnector(Connector):
    """Exchanges files with the ERP in a shared folder (see ``docs/filedrop.md``)."""

    name = "filedrop"
    description = "files in a shared folder: out/ to the ERP, in/ from it, JSON or CSV, UTF-8 or GB18030"
    Settings = FiledropSettings

    def __init__(self, settings: FiledropSettings | dict[str, Any], context: ConnectorContext | None = None):
        context = context or ConnectorContext()
        if isinstance(settings, dict):
            settings = FiledropSettings.model_validate(settings, context={"base_dir": context.base_dir})
        super().__init__(settings, context)
        self.settings: FiledropSettings = settings
        self.root: Path = settings.root
        self.zone = ZoneInfo(self.context.timezone)
        """Where the ERP's times without an offset are read (``[bridge] timezone``)."""
        self._lock = threading.RLock()
        self._unsettled: set[Path] = set()
        """Folders a file was renamed into since the last ``settle`` (their fsync is due)."""
        self._files: dict[str, _InboundFile] = {}
        self._deferred: dict[str, tuple[int, int, int]] = {}
        """Files left for a later look (not readable yet: still open in the ERP)."""
        self._settling: dict[str, tuple[tuple[int, int, int], float]] = {}
        """Files not read yet because they may still be written: what each looked like when
        first seen so, and when (``time.monotonic``)."""
        self._stock: _StockSnapshot | None = None
        self._stock_lock = threading.Lock()
        self._wake = threading.Event()
        self._watcher: _Watcher | None = None
        self._watcher_started = 0.0
        self._temps_cleaned = False
        self._round = threading.local()
        """``pending``: the dispatcher thread's (temporary file, final path) pairs of the round
        open on it (``open_round``), waiting for ``settle``; None outside a round."""
        self._fsyncs: ThreadPoolExecutor | None = None

    # ------------------------------------------------------------------ folders

    def _folder(self, sub: str) -> Path:
        """root/sub, or a TransientError saying which folder is missing (share not mounted?)."""
        if not self.root.is_dir():
            raise TransientError(
                f"the file-drop folder {self.root} is not there: is the ERP share mounted? (connector.filedrop.root)"
            )
        folder = self.root / sub
        if not folder.is_dir():
            raise TransientError(f"the file-drop folder {folder} is missing (jht-bridge init makes it)")
        return folder

    def _clean_temps_once(self) -> None:
        """Before the first delivery (and the first pull): remove the temporary files a writer
        killed in the middle left in out/, archive/ and error/ (``files.stale_temps``)."""
        if self._temps_cleaned:
            return
        self._temps_cleaned = True
        for sub in (OUT, ARCHIVE, ERROR):
            folder = self.root / sub
            if folder.is_dir():
                removed = remove_stale_temps(folder)
                if removed:
                    log.info("stale temporary files removed", folder=str(folder), files=removed)

    # ------------------------------------------------------------------ outgoing

    def render(self, operation: str, doc: dict[str, Any]) -> list[Rendered]:
        """The file ``operation`` would write for ``doc`` (its name in out/, its size, and its
        bytes as text in the configured encoding), built by the code the delivery writes with
        and without writing anything (E8)."""
        name, data = self._file(operation, doc)
        encoding = self.settings.encoding
        bom = encoding == "utf-8" and data.startswith(codecs.BOM_UTF8)
        title = f"{OUT}/{name} ({len(data)} bytes, {encoding}{', with a byte-order mark' if bom else ''})"
        return [Rendered(title, data.decode("gb18030" if encoding == "gb18030" else "utf-8-sig"))]

    def _file(self, operation: str, doc: dict[str, Any]) -> tuple[str, bytes]:
        """The name and bytes of the file ``operation`` writes for ``doc`` (the order command's
        arguments read from the document, as the dispatcher passes them)."""
        if operation == "order_command":
            return self._command_file(*command_args(doc), doc)
        if operation not in OPERATION_KINDS:
            raise PermanentError(f"the file drop has no operation {operation!r}")
        return self._encode(OPERATION_KINDS[operation], doc)

    def _encode(self, kind: str, doc: dict[str, Any]) -> tuple[str, bytes]:
        """The file name and bytes ``kind`` (order.create, customer.upsert, order.release …)
        is written as. Raises PermanentError when the document cannot be written."""
        try:
            ref = check_document(kind, doc)
            data = encode_document(kind, doc, self.settings.format, self.settings.encoding)
        except DocumentError as exc:
            raise PermanentError(f"{kind}: {exc}; nothing was written") from None
        return out_name(self._seq(doc), ref, kind, self.settings.format), data

    def _command_file(
        self, order_no: str, command: str, at: datetime | str, doc: dict[str, Any] | None
    ) -> tuple[str, bytes]:
        """The file of an order command: the command document, checked against the arguments."""
        check_command(order_no, command)
        body = dict(doc or {})
        body.setdefault("schema", COMMAND_SCHEMA)
        body.setdefault("order_no", order_no)
        body.setdefault("command", command)
        body.setdefault("at", at.isoformat() if isinstance(at, datetime) else at)
        if body["order_no"] != order_no or body["command"] != command:
            raise PermanentError(
                f"order {order_no}: the command document is for {body['order_no']} {body['command']}, "
                f"not {order_no} {command}"
            )
        return self._encode(f"order.{command}", body)

    def _seq(self, doc: dict[str, Any]) -> str:
        outbox_id = doc.get("_outbox_id")
        if outbox_id is None:
            return _fallback_seq()
        if isinstance(outbox_id, bool) or not str(outbox_id).isdigit():
            raise PermanentError(f"_outbox_id {outbox_id!r} is not a whole number")
        return f"{int(outbox_id):012d}"

    def _deliver(self, file: tuple[str, bytes]) -> str:
        name, data = file
        out = self._folder(OUT)
        self._clean_temps_once()
        final = out / name
        pending = getattr(self._round, "pending", None)
        try:
            written = not (final.is_file() and final.read_bytes() == data)  # else: delivered, not yet taken
            if written and pending is not None:
                pending.append((write_temp(out, name, data), final))  # fsynced and renamed at settle()
            elif written:
                write_atomic(out, name, data, sync_folder=False)
        except OSError as exc:
            raise TransientError(_cannot_write(final, exc)) from None
        with self._lock:  # settle() fsyncs the folder (also for a rename a crash left unsynced)
            self._unsettled.add(out)
        if written:
            log.info("file written for the ERP", file=name)
        return name

    def open_round(self) -> None:
        """From now on this thread's files wait for ``settle`` as temporary files."""
        self._round.pending = []

    def close_round(self) -> None:
        """The temporary files of the round not settled are removed (never renamed into out/:
        the ERP never saw them; their messages go again)."""
        pending, self._round.pending = getattr(self._round, "pending", None) or [], None
        for temp, _ in pending:
            discard(temp)

    def settle(self) -> None:
        """The round's files made durable and put in place, then the folders renamed into
        fsynced once each, before the dispatcher records them: the temporary files fsynced
        side by side (the disk's journal takes them in one go, where one after the other each
        waited for its own), renamed into out/ in the order they were delivered."""
        pending = getattr(self._round, "pending", None)
        if pending:
            self._round.pending = []
            try:
                finish_atomic(pending, self._fsync_all)
            except OSError as exc:
                raise TransientError(_cannot_write(pending[0][1], exc)) from None
        with self._lock:
            folders, self._unsettled = self._unsettled, set()
        for folder in folders:
            fsync_dir(folder)

    def _fsync_all(self, paths) -> None:
        paths = list(paths)
        if len(paths) == 1:
            fsync_file(paths[0])
            return
        with self._lock:
            if self._fsyncs is None:
                self._fsyncs = ThreadPoolExecutor(max_workers=FSYNC_THREADS, thread_name_prefix="filedrop-fsync")
        for _ in self._fsyncs.map(fsync_file, paths):  # raises the first error
            pass

    def push_customer(self, doc: dict[str, Any]) -> str | None:
        """Writes ``{seq}_customer-{id}_customer.upsert.{ext}``; the ERP's code comes back as a
        ``customer.code`` event."""
        self._deliver(self._file("push_customer", doc))
        return None

    def push_order(self, doc: dict[str, Any]) -> str | None:
        """Writes ``{seq}_{order_no}_order.create.{ext}``: header and lines in one file, so the
        ERP has all of the order or nothing. The ERP deduplicates by order number."""
        self._deliver(self._file("push_order", doc))
        return None

    def order_command(self, order_no: str, command: str, at: datetime | str, doc: dict[str, Any] | None = None) -> None:
        """Writes ``{seq}_{order_no}_order.{command}.{ext}`` holding the command document."""
        self._deliver(self._command_file(order_no, command, at, doc))

    def push_merge(self, doc: dict[str, Any]) -> None:
        """Writes ``{seq}_customer-{survivor id}_customer.merge.{ext}``."""
        self._deliver(self._file("push_merge", doc))

    # ------------------------------------------------------------------ incoming

    def _candidates(self, in_dir: Path) -> list[tuple[str, os.stat_result]]:
        """Entries of in/ to look at, in name order, with their ``lstat``: complete files, and
        every entry that is not a regular file (quarantined as it is, marker or not)."""
        names = os.listdir(in_dir)
        present = set(names)
        found = []
        for name in sorted(names):
            if is_ignored(name):
                continue
            try:
                st = os.lstat(in_dir / name)
            except FileNotFoundError:
                continue
            regular = stat.S_ISREG(st.st_mode)
            if regular and self.settings.require_done_marker and name + DONE_SUFFIX not in present:
                continue
            found.append((name, st))
        return found

    def _settled(self, name: str, st: os.stat_result) -> bool:
        """Is the file complete enough to read? An ERP that writes in place (no temporary name,
        no rename) may be between two writes; so a file is read only once its size and
        modification time have stayed the same for ``settle_s`` while the bridge watched, or
        its modification time is that far behind this machine's clock (a file that was there
        before this process looked: after a restart, ``sync once``). With
        ``require_done_marker`` the marker says the file is complete; ``settle_s = 0`` reads
        at once (an ERP that always renames). Anything but a regular file is judged at once."""
        settle = self.settings.settle_s
        if settle == 0 or self.settings.require_done_marker or not stat.S_ISREG(st.st_mode):
            return True
        sig, now = _signature(st), time.monotonic()
        seen = self._settling.get(name)
        if seen is None or seen[0] != sig:
            seen = self._settling[name] = (sig, now)
        return now - seen[1] >= settle or time.time() - st.st_mtime >= settle + MTIME_SLACK_S

    def _due(self, name: str, sig: tuple[int, int, int]) -> bool:
        """Has a file left to settle held still long enough for the next pull to read it?"""
        seen = self._settling.get(name)
        return seen is None or seen[0] != sig or time.monotonic() - seen[1] >= self.settings.settle_s

    def _read(self, in_dir: Path, name: str, st: os.stat_result) -> _InboundFile | None:
        """Read and parse one inbound entry (``st`` is its ``lstat``); None when it is to be
        looked at again later. An entry that is not a regular file, a file over the size limit
        and a file that cannot be decoded — whatever the error — become one quarantined event."""
        sig = _signature(st)
        raw: bytes | None = None
        problem = _not_a_file(st)
        if problem is None and st.st_size > formats.MAX_INBOUND_BYTES:
            problem = too_large(st.st_size, formats.MAX_INBOUND_BYTES)
        if problem is None:
            try:
                raw = _read_limited(in_dir / name, formats.MAX_INBOUND_BYTES)
            except FileNotFoundError:
                return None
            except _Refused as refused:
                problem = refused.problem
            except OSError as exc:  # e.g. still open in the ERP on Windows
                log.warning("inbound file not readable yet", file=name, error=str(exc))
                self._deferred[name] = sig
                return None
        if problem is None:
            fmt = _format_of(name, self.settings.format)
            try:
                items = decode_events(raw, fmt, self.settings.encoding, self.zone)
            except FileProblem as decoding:
                problem = decoding
            except Exception as exc:  # a bug or a case no rule foresaw: this file only, never the loop
                log.warning("inbound file could not be decoded", file=name, error=f"{type(exc).__name__}: {exc}")
                problem = FileProblem(
                    f"{type(exc).__name__}: {exc}",
                    f"读取文件时出错（{type(exc).__name__}），请把文件和错误信息交给技术人员",
                )
        if problem is not None:
            self._deferred.pop(name, None)
            if raw is not None:
                digest = hashlib.sha256(raw).hexdigest()[:16]
                excerpt = raw[:300].decode("gb18030" if self.settings.encoding == "gb18030" else "utf-8", "replace")
            else:  # never read: the entry as it stands names it
                digest = hashlib.sha256(
                    f"{st.st_mode}:{st.st_size}:{st.st_mtime_ns}:{problem.en}".encode()
                ).hexdigest()[:16]
                excerpt = ""
            event = ErpEvent(
                event_id=_fit_id(f"file:{name}:{digest}"),
                kind="invalid",
                data={"file": name, "reason": problem.en, "reason_zh": problem.zh, "excerpt": excerpt},
                cursor=name,
                problem=f"{name}: {problem.en}",
                source=name,
            )
            log.warning("inbound file cannot be read", file=name, reason=problem.en)
            return _InboundFile(name, sig, [event], problem_zh=problem.zh)
        self._deferred.pop(name, None)
        events = []
        for index, item in enumerate(items, start=1):
            event_id = item["event_id"]
            if event_id is None:
                # The content is part of the id: an ERP that reuses a file name for new events
                # gets new ids, while the same file read twice gets the same ones.
                canonical = json.dumps({"kind": item["kind"], "data": item["data"]}, sort_keys=True, ensure_ascii=False)
                event_id = f"{name}#{index}:{hashlib.sha256(canonical.encode()).hexdigest()[:12]}"
            events.append(ErpEvent(_fit_id(event_id), item["kind"], item["data"], cursor=name, source=name))
        return _InboundFile(name, sig, events)

    def pull_events(self, cursor: str | None, limit: int = 100) -> tuple[list[ErpEvent], str | None]:
        """Every event in in/ not acknowledged yet, oldest file name first, at most ``limit``.
        The cursor is not needed to resume (files leave in/ only once acknowledged); the one
        returned is the name of the last file handed out, for people."""
        in_dir = self._folder(IN)
        self._clean_temps_once()
        with self._lock:
            try:
                candidates = self._candidates(in_dir)
            except OSError as exc:
                raise TransientError(f"cannot list {in_dir}: {exc.strerror or exc}") from None
            present = {name for name, _ in candidates}
            for name in set(self._files) - present:
                del self._files[name]
            for name in set(self._deferred) - present:
                del self._deferred[name]
            for name in set(self._settling) - present:
                del self._settling[name]
            events: list[ErpEvent] = []
            last = None
            for name, st in candidates:
                state = self._files.get(name)
                if state is None or state.signature != _signature(st):
                    if not self._settled(name, st):
                        self._files.pop(name, None)
                        continue
                    self._settling.pop(name, None)
                    state = self._read(in_dir, name, st)
                    if state is None:
                        self._files.pop(name, None)
                        continue
                    self._files[name] = state
                if state.complete:  # acknowledged, but moving it failed before: try again
                    self._finish(in_dir, state)
                    continue
                todo = [e for e in state.events if e.event_id not in state.outcomes]
                room = limit - len(events)
                if room > 0:
                    events += todo[:room]
                    last = name
            return events, last or cursor

    def ack(self, event: ErpEvent, outcome: str, reason: str | None = None, reason_zh: str | None = None) -> None:
        """Note the event's outcome; once every event of its file has one, move the file (and
        its ``.done`` marker) to archive/, or to error/ with a ``.error.txt`` when any of them
        was quarantined or dead (``REFUSED``). A file already gone is left alone. Never raises: a move that fails
        (share gone) is tried again at the next pull."""
        name = event.source
        if not name:
            return
        in_dir = self.root / IN
        with self._lock:
            try:
                state = self._files.get(name)
                if state is None:
                    # Acknowledged by another instance or after a restart: read the file again.
                    try:
                        st = os.lstat(in_dir / name)
                    except OSError:
                        return
                    state = self._read(in_dir, name, st)
                    if state is None:
                        return
                    self._files[name] = state
                if event.event_id not in {e.event_id for e in state.events}:
                    return
                state.outcomes[event.event_id] = (outcome, event.problem or reason)
                if reason_zh and not event.problem:
                    state.reasons_zh[event.event_id] = reason_zh
                if state.complete:
                    self._finish(in_dir, state)
            except Exception as exc:  # ack runs after the bridge committed: never fail it
                log.warning("could not tidy an inbound file", file=name, error=str(exc))

    def _finish(self, in_dir: Path, state: _InboundFile) -> None:
        # A file that could not be read belongs in error/ whatever the outcome says (a restarted
        # bridge acknowledges the duplicate of a quarantined event as "ignored").
        unreadable = {e.event_id for e in state.events if e.problem}
        quarantined = [
            (eid, r) for eid, (outcome, r) in state.outcomes.items() if outcome in REFUSED or eid in unreadable
        ]
        dest = self.root / (ERROR if quarantined else ARCHIVE)
        source = in_dir / state.name
        try:
            now = os.lstat(source)
        except FileNotFoundError:  # a link is moved as it is, even one pointing nowhere
            self._files.pop(state.name, None)
            return
        if _signature(now) != state.signature:
            # Written to since it was read (an ERP writing in place paused longer than settle_s):
            # moving it now would take the rows still to come out of the bridge's sight. It is
            # read again once it settles; the events already applied are skipped by their ids.
            log.warning("inbound file changed after it was read; reading it again", file=state.name)
            self._files.pop(state.name, None)
            return
        try:
            if not dest.is_dir():
                raise FileNotFoundError(f"{dest} is missing")
            target = free_name(dest, state.name)
            if quarantined:
                write_atomic(dest, target + ERROR_NOTE_SUFFIX, self._error_note(state, quarantined))
            os.rename(source, dest / target)
            marker = in_dir / (state.name + DONE_SUFFIX)
            if marker.exists():
                os.replace(marker, dest / (target + DONE_SUFFIX))
            fsync_dir(dest)
            fsync_dir(in_dir)
        except OSError as exc:
            log.warning("could not move an inbound file; will try again", file=state.name, to=str(dest), error=str(exc))
            return
        self._files.pop(state.name, None)
        log.info("inbound file done", file=state.name, to=f"{dest.name}/{target}")

    def _error_note(self, state: _InboundFile, quarantined: list[tuple[str, str | None]]) -> bytes:
        moved = datetime.now().astimezone().isoformat(timespec="seconds")
        lines = [
            "jht-bridge could not use this file. / 桥接程序无法处理此文件。",
            "",
            f"File / 文件: {state.name}",
            f"Moved to error/ at / 移入 error/ 时间: {moved}",
            "",
            "Reason / 原因:",
        ]
        whole_file = len(state.events) == 1 and state.events[0].kind == "invalid"
        for event_id, reason in quarantined:
            reason = reason or "no reason given"
            if whole_file:
                lines += [f"  {reason}", f"  {state.problem_zh or '文件无法读取（原因见上一行）'}"]
            else:
                zh = state.reasons_zh.get(event_id)
                lines += [
                    f"  event {event_id}: {reason}",
                    f"  事件 {event_id} 被拒绝：{zh}" if zh else f"  事件 {event_id} 被拒绝（原因见上一行英文说明）",
                ]
                if state.outcomes.get(event_id, ("",))[0] == "dead":
                    lines += [
                        "  The bridge keeps this event: once the cause is fixed on the bridge's side (e.g. the",
                        "  ERP's status word added to [sync.status_map]), `jht-bridge inbox replay ID` applies it",
                        "  (ID from `jht-bridge inbox list --status dead`).",
                        "  桥接程序已保存此事件：在桥接程序一侧修正原因后（如在 [sync.status_map] 中加入该状态词），",
                        "  用 `jht-bridge inbox replay 编号` 重新处理（编号见 `jht-bridge inbox list --status dead`）。",
                    ]
        lines += [
            "",
            "What to do / 处理方法:",
            "  Fix the cause, then put a corrected file back into in/ (written to a temporary name and",
            "  renamed). A corrected event may keep its event_id: the bridge takes up again each refused",
            "  event that comes back corrected, and skips the events it already applied.",
            "  `jht-bridge inbox list` shows what the bridge recorded.",
            "  修正问题后，将修正后的文件放回 in/ 目录（先写临时文件名再改名）。修正后的事件可沿用",
            "  原来的 event_id：被拒绝的事件修正后再次放入会被重新处理，已处理成功的事件会被跳过。",
            "",
        ]
        text = "\r\n".join(lines)
        if self.settings.encoding == "gb18030":
            return text.encode("gb18030")
        return b"\xef\xbb\xbf" + text.encode("utf-8")

    # ------------------------------------------------------------------ waiting

    def _unseen_files(self) -> bool:
        """Is there a complete file in in/ the last pull did not see (or that changed since)?"""
        in_dir = self.root / IN
        try:
            candidates = self._candidates(in_dir)
        except OSError:
            return False
        with self._lock:
            for name, st in candidates:
                sig = _signature(st)
                known = self._files.get(name)
                if (
                    (known is None or known.signature != sig)
                    and self._deferred.get(name) != sig
                    and self._due(name, sig)
                ):
                    return True
        return False

    def _ensure_watcher(self) -> bool:
        if not self.settings.watch:
            return False
        if self._watcher is not None and self._watcher.is_alive():
            return True
        if time.monotonic() - self._watcher_started < 30 and self._watcher is not None:
            return False  # it stopped recently; poll for a while before trying again
        in_dir = self.root / IN
        if not in_dir.is_dir():
            return False
        try:
            import watchfiles  # noqa: F401
        except ImportError:
            return False
        self._watcher_started = time.monotonic()
        self._watcher = _Watcher(in_dir, self._wake)
        self._watcher.start()
        return True

    def wait_for_events(self, timeout: float) -> bool:
        """True as soon as a new complete file is in in/ (a file-system notification, or a
        quick look every second; four times a second without notifications), False when
        ``timeout`` passed without one."""
        deadline = time.monotonic() + max(0.0, timeout)
        watching = self._ensure_watcher()
        self._wake.clear()
        while True:
            if self._unseen_files():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._wake.wait(min(remaining, 1.0 if watching else 0.25)):
                self._wake.clear()

    def close(self) -> None:
        """Stop the watcher thread and the fsync threads."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()
        fsyncs, self._fsyncs = self._fsyncs, None
        if fsyncs is not None:
            fsyncs.shutdown(wait=True)

    # ------------------------------------------------------------------ stock

    def _stock_path(self) -> Path:
        preferred = self.root / f"stock.{self.settings.format}"
        other = self.root / ("stock.csv" if self.settings.format == "json" else "stock.json")
        return other if not os.path.lexists(preferred) and os.path.lexists(other) else preferred

    def _load_stock(self) -> _StockSnapshot:
        if not self.root.is_dir():
            raise TransientError(f"the file-drop folder {self.root} is not there: is the ERP share mounted?")
        path = self._stock_path()
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            raise TransientError(f"the ERP has not written {path.name} yet ({path})") from None
        except OSError as exc:
            raise TransientError(f"cannot read {path}: {exc.strerror or exc}") from None
        problem = _not_a_file(st)
        if problem is None and st.st_size > formats.MAX_STOCK_BYTES:
            problem = too_large(st.st_size, formats.MAX_STOCK_BYTES)
        if problem is not None:
            raise TransientError(f"{path} {problem.en}" if problem.en.startswith("is ") else f"{path}: {problem.en}")
        sig = _signature(st)
        with self._stock_lock:
            if self._stock is not None and self._stock.path == path and self._stock.signature == sig:
                return self._stock
            try:
                raw = _read_limited(path, formats.MAX_STOCK_BYTES)
                as_of_text, items = decode_stock(
                    raw, _format_of(path.name, self.settings.format), self.settings.encoding
                )
            except _Refused as refused:
                raise TransientError(f"{path}: {refused.problem.en}") from None
            except OSError as exc:
                raise TransientError(f"cannot read {path}: {exc.strerror or exc}") from None
            except FileProblem as problem:
                raise TransientError(f"{path} cannot be read: {problem.en}") from None
            except Exception as exc:  # whatever else decoding raised: the snapshot is unusable, not the bridge
                raise TransientError(f"{path} cannot be read: {type(exc).__name__}: {exc}") from None
            as_of = datetime.fromtimestamp(st.st_mtime, timezone.utc)
            if as_of_text:
                try:
                    as_of = read_time(as_of_text, self.zone, Where("as_of", "库存快照的 as_of"))
                except FileProblem as problem:
                    log.warning("stock as_of cannot be read; using the file's time", file=path.name, reason=problem.en)
            self._stock = _StockSnapshot(path, sig, as_of, items)
            return self._stock

    def query_stock(self, skus: list[str]) -> StockFigures:
        """Quantities from the ERP's snapshot file (re-read only when it changed), with the
        snapshot's time: the bridge merges them with ``stock`` events by freshness. Skus the
        snapshot does not list are left out. No snapshot yet → TransientError."""
        snapshot = self._load_stock()
        return StockFigures({sku: snapshot.items[sku] for sku in skus if sku in snapshot.items}, snapshot.as_of)

    def stock_as_of(self) -> datetime | None:
        """When the ERP's stock snapshot was taken (its ``as_of``, else the file's time, aware);
        None when there is no readable snapshot."""
        try:
            return self._load_stock().as_of
        except TransientError:
            return None

    # ------------------------------------------------------------------ check

    def ready(self) -> list[CheckLine]:
        """For ``/readyz``: the root and its folders are there and this process may write in
        them (asked of the file system, nothing written). Never raises."""
        try:
            if not self.root.is_dir():
                return [
                    CheckLine("filedrop root", False, "the file-drop folder is not there: is the ERP share mounted?")
                ]
            lines = []
            for sub in FOLDERS:
                folder = self.root / sub
                if not folder.is_dir():
                    lines.append(CheckLine(f"filedrop {sub}/", False, f"{sub}/ is missing"))
                elif not os.access(folder, os.W_OK):
                    lines.append(CheckLine(f"filedrop {sub}/", False, f"{sub}/ is not writable"))
                else:
                    lines.append(CheckLine(f"filedrop {sub}/", True, "present and writable"))
            return lines
        except Exception as exc:
            return [CheckLine("filedrop", False, f"looking at the file-drop folder failed: {type(exc).__name__}")]

    def writes_to(self) -> list[Path]:
        """The share: out/, in/, archive/ and error/ are all written."""
        return [self.root]

    def check(self) -> list[CheckLine]:
        """Root and folders present and writable, files waiting both ways, quarantined files,
        stale temporary files, the stock snapshot and its age. Never raises."""
        try:
            return self._check()
        except Exception as exc:  # a check must report, not crash
            return [CheckLine("filedrop", False, f"checking {self.root} failed: {exc}")]

    def _check(self) -> list[CheckLine]:
        if not self.root.is_dir():
            return [
                CheckLine(
                    "filedrop root",
                    False,
                    f"{self.root} does not exist: mount the ERP share there, or set connector.filedrop.root",
                )
            ]
        lines = [CheckLine("filedrop root", True, str(self.root))]
        for sub in FOLDERS:
            folder = self.root / sub
            if not folder.is_dir():
                lines.append(
                    CheckLine(f"filedrop {sub}/", False, f"{folder} is missing: run `jht-bridge init` or create it")
                )
                continue
            probe = folder / f"{TEMP_PREFIX}check-{os.getpid()}-{threading.get_ident()}"
            try:
                probe.write_bytes(b"")
                probe.unlink()
            except OSError as exc:
                lines.append(CheckLine(f"filedrop {sub}/", False, f"{folder} is not writable: {exc.strerror or exc}"))
                continue
            lines.append(CheckLine(f"filedrop {sub}/", True, f"{folder} present and writable"))
        now = time.time()
        out_dir = self.root / OUT
        if out_dir.is_dir():
            ages = [now - st.st_mtime for _, st in self._entries(out_dir)]
            if not ages:
                lines.append(CheckLine("filedrop to the ERP", True, "nothing waiting in out/"))
            else:
                oldest = max(ages)
                ok = oldest < OUT_STALE_AFTER_S
                detail = f"{len(ages)} file(s) waiting in out/, oldest {_age(oldest)}"
                if not ok:
                    detail += ": the ERP is not picking files up"
                lines.append(CheckLine("filedrop to the ERP", ok, detail))
        in_dir = self.root / IN
        if in_dir.is_dir():
            waiting = self._candidates(in_dir)
            unmarked = len(self._entries(in_dir)) - len(waiting)
            detail = (
                f"{len(waiting)} file(s) waiting in in/, oldest {_age(now - min(st.st_mtime for _, st in waiting))}"
                if waiting
                else "nothing waiting in in/"
            )
            if unmarked:
                detail += f"; {unmarked} more without their .done marker yet"
            lines.append(CheckLine("filedrop from the ERP", True, detail))
        error_dir = self.root / ERROR
        if error_dir.is_dir():
            # folders and links moved there count: each needs a person as much as a file does
            bad = [n for n, _ in self._entries(error_dir) if not n.endswith(ERROR_NOTE_SUFFIX)]
            if bad:
                lines.append(
                    CheckLine(
                        "filedrop quarantine",
                        False,
                        f"{len(bad)} file(s) in {error_dir} need a person (reason in each <file>.error.txt), "
                        f"e.g. {bad[0]}",
                    )
                )
            else:
                lines.append(CheckLine("filedrop quarantine", True, "error/ is empty"))
        stale = {sub: stale_temps(self.root / sub) for sub in (OUT, ARCHIVE, ERROR) if (self.root / sub).is_dir()}
        count = sum(len(names) for names in stale.values())
        if count:
            where = ", ".join(f"{len(names)} in {sub}/" for sub, names in stale.items() if names)
            lines.append(
                CheckLine(
                    "filedrop temporary files",
                    True,
                    f"{count} stale temporary file(s) left by an interrupted write ({where}): "
                    "the bridge removes them before its next delivery",
                )
            )
        lines.append(self._check_stock())
        return lines

    def _entries(self, folder: Path) -> list[tuple[str, os.stat_result]]:
        """Every entry of ``folder`` a reader does not ignore, with its ``lstat``."""
        found = []
        for name in sorted(os.listdir(folder)):
            if is_ignored(name):
                continue
            try:
                st = os.lstat(folder / name)
            except OSError:
                continue
            found.append((name, st))
        return found

    def _check_stock(self) -> CheckLine:
        path = self._stock_path()
        if not os.path.lexists(path):
            # Not a failure: a new setup has none until the ERP is connected. Orders still
            # work; they start as 等待处理 (stock unknown), which the ERP corrects later.
            return CheckLine(
                "filedrop stock",
                True,
                f"{path} not written by the ERP yet: until it is, new orders start as 等待处理 (stock unknown)",
            )
        try:
            snapshot = self._load_stock()
        except TransientError as exc:
            return CheckLine("filedrop stock", False, str(exc))
        age = (datetime.now(timezone.utc) - snapshot.as_of).total_seconds()
        return CheckLine(
            "filedrop stock",
            True,
            f"{path.name}: {len(snapshot.items)} item(s) as of {snapshot.as_of.isoformat(timespec='seconds')} "
            f"({_age(age)} old)",
        )


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


class _Watcher(threading.Thread):
    """Watches in/ with watchfiles and sets ``wake`` when a file appears or changes there."""

    def __init__(self, folder: Path, wake: threading.Event):
        super().__init__(name=f"filedrop-watch {folder}", daemon=True)
        self.folder = folder
        self.wake = wake
        self._halt = threading.Event()

    @staticmethod
    def _relevant(change: Any, path: str) -> bool:
        import watchfiles

        name = os.path.basename(path)
        if change == watchfiles.Change.deleted:
            return False
        return name.endswith(DONE_SUFFIX) or not is_ignored(name)

    def run(self) -> None:
        import watchfiles

        try:
            watcher = watchfiles.watch(
                self.folder,
                watch_filter=self._relevant,
                stop_event=self._halt,
                debounce=200,
                step=20,
                rust_timeout=500,
                yield_on_timeout=True,
                recursive=False,
                raise_interrupt=False,
            )
            for changes in watcher:
                if changes:
                    self.wake.set()
        except Exception as exc:  # folder gone, too many watches…: the waiter falls back to polling
            log.info(
                "watching in/ stopped; looking at it periodically instead", folder=str(self.folder), error=str(exc)
            )

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=3)
