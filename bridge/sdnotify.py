"""The service manager's notify protocol (systemd's ``sd_notify``), in the few lines it takes.

Under a ``Type=notify`` unit systemd passes ``$NOTIFY_SOCKET``, an AF_UNIX datagram socket (a
path, or an abstract-namespace name written with a leading ``@``); the service sends it
newline-separated ``KEY=value`` lines: ``READY=1`` once it serves, ``STOPPING=1`` when it begins
to shut down, ``WATCHDOG=1`` at least every ``$WATCHDOG_USEC`` microseconds (``WatchdogSec=``)
or systemd restarts it, ``STATUS=…`` for ``systemctl status``. Without ``$NOTIFY_SOCKET`` (a
terminal, Windows, a container) every call does nothing, so the bridge runs the same everywhere.

``bridge.app.serve`` is the only caller: it says ready when the API answers and the sync loops
run, stopping when a signal arrives, and pings the watchdog only while no sync loop is stuck in
one round for longer than the watchdog interval (``bridge.worker.Worker.stuck``).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping

from bridge.logs import get_logger

log = get_logger("bridge.sdnotify")


def socket_address(value: str | None) -> str | None:
    """The address to send to for ``$NOTIFY_SOCKET``: a path, or ``\\0name`` for ``@name`` (the
    abstract namespace). None when unset or of a kind we do not speak (e.g. ``vsock:``)."""
    if not value or not hasattr(socket, "AF_UNIX"):
        return None
    if value.startswith("@"):
        return "\0" + value[1:]
    return value if value.startswith("/") else None


def watchdog_interval_s(environ: Mapping[str, str]) -> float | None:
    """``$WATCHDOG_USEC`` in seconds when the watchdog is meant for this process
    (``$WATCHDOG_PID`` unset or ours), else None."""
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
        pid = int(environ.get("WATCHDOG_PID") or os.getpid())
    except ValueError:
        return None
    return usec / 1e6 if usec > 0 and pid == os.getpid() else None


class ServiceManager:
    """What the bridge tells the service manager that started it (nothing when none did)."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        environ = os.environ if environ is None else environ
        self.address = socket_address(environ.get("NOTIFY_SOCKET"))
        self.watchdog_s = watchdog_interval_s(environ) if self.address else None
        self._last_ping = float("-inf")
        self._stopping = False
        self._reported_stuck: tuple[str, ...] = ()

    def notify(self, *lines: str) -> bool:
        """Send one datagram of ``lines``; False when there is no service manager or it could
        not be reached (logged: the bridge keeps running, systemd will say what it misses)."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                # Never block the caller (the API's event loop) on a full receive queue.
                sock.setblocking(False)
                sock.sendto("\n".join(lines).encode(), self.address)
        except OSError as exc:
            log.warning("cannot notify the service manager", socket=self.address, error=str(exc))
            return False
        return True

    def ready(self, status: str) -> None:
        """Startup is over: the bridge serves (``status`` shows in ``systemctl status``)."""
        self.notify("READY=1", f"STATUS={status}")

    def stopping(self) -> None:
        """Shutdown has begun (sent once, however many signals arrive)."""
        if not self._stopping:
            self._stopping = True
            self.notify("STOPPING=1", "STATUS=stopping")

    def watchdog(self, stuck: Callable[[], list[str]] | None = None) -> None:
        """Ping the watchdog when half its interval has passed since the last ping, unless
        ``stuck()`` names loops stuck in one round: then no ping, so that systemd restarts a
        bridge that no longer does its work (said once in the log, naming the loops)."""
        if self.watchdog_s is None or self._stopping:
            return
        now = time.monotonic()
        if now - self._last_ping < self.watchdog_s / 2:
            return
        names = tuple(stuck()) if stuck is not None else ()
        if names:
            if names != self._reported_stuck:
                log.error(
                    "sync loops stuck: the service manager's watchdog is no longer pinged and will restart the bridge",
                    loops=list(names),
                    watchdog_s=self.watchdog_s,
                )
                self._reported_stuck = names
            return
        self._reported_stuck = ()
        self._last_ping = now
        self.notify("WATCHDOG=1")
