"""The composition root: the one module that assembles a running bridge.

config → database engine → plugin manager → connector → notifiers (``open_runtime``) → sync
loops (``Runtime.worker``) → Litestar app (``build_api``, from ``webapi``) → uvicorn (``serve``),
which also tells a service manager that started the bridge (systemd, ``bridge.sdnotify``) when
it is ready, when it stops, and that it still works (the watchdog).
The CLI (``run``, ``serve``, ``worker`` and every command that needs the connector), the tests
and the benches start the bridge through here. No other module of ``bridge`` imports ``webapi``:
the core knows nothing of HTTP, and the HTTP layer receives what it needs from here instead of
building its own.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy
from sqlalchemy.engine import Engine

from bridge import runlock
from bridge.config import Config
from bridge.db import make_engine
from bridge.logs import get_logger
from bridge.plugins import load_connector, make_plugin_manager, notifiers
from bridge.products import ItemCodeBook
from bridge.runtime import Runtime
from bridge.sdnotify import ServiceManager
from bridge.wechat import LIVE_SETTINGS, WeChatClient, WeChatNotifier

if TYPE_CHECKING:
    import uvicorn
    from litestar import Litestar

log = get_logger("bridge.app")


class StartupError(Exception):
    """The bridge cannot start as configured; the message says what to change."""


def open_runtime(config: Config, engine: Engine | None = None, *, pm: pluggy.PluginManager | None = None) -> Runtime:
    """The running parts for ``config``: the engine (``engine`` if given), the plugin manager
    (``pm`` if given, else one with the outside and built-in plugins), the connector the config
    names and every notifier the plugins register for this config. A configuration problem is
    a ``ConfigError`` naming the key."""
    pm = pm or make_plugin_manager()
    made = engine is None
    engine = engine or make_engine(config)
    try:
        connector = load_connector(config, pm, item_codes=ItemCodeBook(engine))
    except Exception:
        if made:
            engine.dispose()
        raise
    return Runtime(config, engine, pm, connector, list(notifiers(pm, config, engine).values()))


def wechat_client(rt: Runtime) -> WeChatClient:
    """The process's one WeChat client: the WeChat notifier's when it is registered (so the
    API and the notices share one access token), else a new one for ``[wechat]``."""
    for notifier in rt.notifiers:
        if isinstance(notifier, WeChatNotifier):
            return notifier.client
    try:
        return WeChatClient(rt.config.wechat)
    except ValueError as exc:
        raise StartupError(str(exc)) from None


def build_api(
    rt: Runtime, *, wechat: WeChatClient | None = None, wake_dispatcher: Callable[[], None] | None = None
) -> Litestar:
    """The HTTP API (``webapi``) on ``rt``. ``wechat`` replaces the WeChat client (tests point
    one at a fake server); ``wake_dispatcher`` is called after a request queued a message for
    the ERP, so the sync loops of this process deliver it at once."""
    from webapi.app import create_app

    try:
        app = create_app(rt, wechat=wechat or wechat_client(rt))
    except ValueError as exc:
        raise StartupError(str(exc)) from None
    if wake_dispatcher is not None:
        app.state.wake_dispatcher = wake_dispatcher
    return app


def server_config(app: Litestar, config: Config, host: str, port: int, **kw: Any) -> uvicorn.Config:
    """The uvicorn configuration the bridge serves ``app`` with. Forwarded headers
    (``X-Forwarded-For``, ``X-Forwarded-Proto``) are believed only from ``api.trusted_proxies``;
    without any, not at all (uvicorn would otherwise believe them from 127.0.0.1)."""
    import uvicorn

    trusted = config.api.trusted_proxies
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
        server_header=False,
        log_config=None,
        **kw,
    )


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_wechat_mode(config: Config, host: str | None) -> None:
    """Dev mode accepts any login code as a user: refused when the API (``host`` given) listens
    beyond this machine, and a warning in the log whenever WeChat is used in dev mode."""
    if config.wechat.mode != "dev":
        return
    if host is not None and not is_loopback(host):
        raise StartupError(
            f"wechat.mode = dev accepts any login code; it is refused on {host}. Listen on 127.0.0.1, "
            f"or go live: {LIVE_SETTINGS}"
        )
    log.warning("WECHAT DEV MODE: any login code is accepted as a user. For demos and local use only.")


class Server:
    """uvicorn's server, stopped by our own SIGTERM/SIGINT handlers: uvicorn would re-raise the
    signal after its shutdown and kill the process before the sync loops finish their work.
    ``on_started`` is called once it accepts connections (its startup complete), ``on_tick``
    on every turn of its main loop (ten times a second) while it serves."""

    def __init__(
        self,
        config: uvicorn.Config,
        on_started: Callable[[], None] | None = None,
        on_tick: Callable[[], None] | None = None,
    ):
        import contextlib

        import uvicorn

        class _Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self):
                yield

            async def startup(self, sockets=None) -> None:
                await super().startup(sockets=sockets)
                if self.started and not self.should_exit and on_started is not None:
                    on_started()

            async def on_tick(self, counter: int) -> bool:
                if on_tick is not None:
                    on_tick()
                return await super().on_tick(counter)

        self.server = _Server(config)

    def request_exit(self) -> None:
        self.server.should_exit = True

    def run(self, sock: socket.socket) -> None:
        self.server.run(sockets=[sock])
        if not self.server.started:
            raise SystemExit(1)


def listen(host: str, port: int) -> socket.socket:
    """The API's listening socket, bound before anything else starts and handed to uvicorn, so
    the port checked is the port served. A port that cannot be had is a ``StartupError`` naming
    it and, where the system tells, the process that holds it."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        if os.name != "nt":  # as uvicorn does: restart at once over old connections in TIME_WAIT
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # (on Windows it would share a port)
        # No Nagle on the connections accepted from it (Linux passes it on to them): an answer
        # written in two parts (headers, body) otherwise waits for the client's delayed ACK —
        # 40 ms per request on a keep-alive connection (issue #16)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)):
            holder = port_holder(port)
            raise StartupError(
                f"port {port} on {host} is already in use{f' by {holder}' if holder else ''}: stop that, "
                "or choose another port (--port, or api.port in the config)"
            ) from None
        raise StartupError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} (--host / --port, api.host / api.port)"
        ) from None
    return sock


def port_holder(port: int) -> str | None:
    """``process 1234 (its command line)`` listening on TCP ``port``, where the system says
    (Linux: /proc, for processes this user may look at); None when it cannot be told."""
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                listening.add(f"socket:[{fields[9]}]")
    if not listening:
        return None
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and any(_link(fd) in listening for fd in _entries(proc / "fd")):
            try:
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace").strip()
            except OSError:
                command = ""
            return f"process {proc.name} ({command[:120] or '?'})"
    return None


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:  # the process is gone, or not ours to look at
        return []


def _link(path: Path) -> str | None:
    try:
        return os.readlink(path)
    except OSError:  # closed meanwhile (the listing's own descriptor is)
        return None


def serve(
    rt: Runtime,
    host: str | None = None,
    port: int | None = None,
    *,
    api: bool = True,
    loops: bool = True,
    say: Callable[[str], None] = print,
) -> None:
    """Run the bridge until SIGTERM or SIGINT: the HTTP API on ``host``:``port`` (default
    ``[api]``) when ``api``, the sync loops (outbox dispatcher, inbox poller) when ``loops``.
    ``say`` gets the lines for the operator. Disposes of ``rt``'s engine at the end; a setting
    that keeps the bridge from starting is a ``StartupError``.

    Under a service manager (``$NOTIFY_SOCKET``, ``bridge.sdnotify``): ``READY=1`` once the API
    accepts connections (its startup done, the loops started), or once the loops started without
    an API; ``STOPPING=1`` at the first SIGTERM / SIGINT; ``WATCHDOG=1`` from the serving loop
    (uvicorn's, or the one waiting on the sync loops) while no sync loop is stuck in one round
    longer than ``$WATCHDOG_USEC``.

    On SQLite it holds the database's run lock while it runs (``bridge.runlock``): ``restore``
    refuses to replace the database under it, and it does not start during a restore."""
    config = rt.config
    try:
        with running(config):
            _serve(rt, host, port, api=api, loops=loops, say=say)
    except runlock.Locked as exc:
        rt.engine.dispose()
        raise StartupError(
            f"the database is being restored (`jht-bridge restore` holds {exc}): start the bridge when it is done"
        ) from None


@contextmanager
def running(config: Config) -> Iterator[None]:
    """Hold the running bridge's lock on its SQLite database (``bridge.runlock``), so that a
    restore is refused while it runs; nothing on another database."""
    from bridge.diagnose import sqlite_file

    database = sqlite_file(config)
    if database is None:
        yield
        return
    with runlock.hold(database, shared=True):
        yield


def _serve(
    rt: Runtime, host: str | None, port: int | None, *, api: bool, loops: bool, say: Callable[[str], None]
) -> None:
    config = rt.config
    host, port = host or config.api.host, port or config.api.port
    try:
        if api or config.wechat.shipment_template_id:
            check_wechat_mode(config, host if api else None)
        worker = rt.worker() if loops else None
        application = build_api(rt, wake_dispatcher=worker.wake if worker else None) if api else None
        sock = listen(host, port) if api else None  # before the loops start and "API on" is said
    except BaseException:
        rt.engine.dispose()
        raise
    manager = ServiceManager()

    def stuck() -> list[str]:
        return worker.stuck(manager.watchdog_s) if worker is not None and manager.watchdog_s else []

    def stop(*_) -> None:
        manager.stopping()
        if server is not None:
            server.request_exit()
        else:
            worker.stop()

    server = None
    if api:
        server = Server(
            server_config(application, config, host, port, access_log=False, lifespan="on"),
            on_started=lambda: manager.ready(
                f"API on http://{host}:{port}" + (", sync loops running" if worker else "")
            ),
            on_tick=lambda: manager.watchdog(stuck),
        )
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    if worker is not None:
        worker.start()
    if not api:
        say(f"sync loops running with connector {rt.connector.name}; Ctrl-C stops")
        manager.ready(f"sync loops running with connector {rt.connector.name}")
        try:
            while not worker.stop_event.wait(0.1):
                manager.watchdog(stuck)
        finally:
            manager.stopping()
            worker.join(30)
            rt.engine.dispose()
        return
    say(
        f"API on http://{host}:{port} (OpenAPI: /schema)"
        + (", sync loops running" if worker else "")
        + "; Ctrl-C stops"
    )
    try:
        server.run(sock)
    finally:
        manager.stopping()
        sock.close()
        if worker is not None:
            worker.stop()
            worker.join(30)
        rt.engine.dispose()
