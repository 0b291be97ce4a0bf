"""The bridge as a service of the operating system (O1): what ``jht-bridge service`` installs.

**Linux**: a systemd unit, ``Type=notify`` (the bridge says when it is ready, when it stops,
and pings the watchdog: ``bridge.sdnotify``), restarted on failure, run as a dedicated user,
its data in ``StateDirectory`` (``/var/lib/jht-bridge``) and its log file in ``LogsDirectory``
(``/var/log/jht-bridge``), sandboxed so that it can write nothing else but the folders the
config names (the database's, the connector's share: ``ReadWritePaths``).

**Windows**: WinSW (github.com/winsw/winsw, one .exe) runs ``jht-bridge run`` as a service from
an XML file the bridge writes: restart on failure, the wrapper's own stdout/stderr logs rolled
by size, a Ctrl+C to stop (the bridge's SIGINT handler: the same graceful stop as SIGTERM on
Linux). Chosen over pywin32's ``ServiceFramework`` because it runs the very command line a
person runs, from a venv too (pywin32 services need pythonservice.exe and a system-wide
pywin32), and adds no dependency to the bridge. See docs/windows.md.

Both run the same ``jht-bridge --config … run`` with ``JHT_LOG__FILE`` set, so the bridge also
writes its JSON lines to a rotated file there (``bridge.logs``). The unit and the XML are built
here as text (``systemd_unit``, ``winsw_xml``) so that ``--dry-run`` prints exactly what
``install`` writes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath, PureWindowsPath
from xml.etree import ElementTree as ET

NAME = "jht-bridge"
"""The service's name: the systemd unit ``jht-bridge.service``, the Windows service id."""
LINUX_USER = "jht"
UNIT_DIR = Path("/etc/systemd/system")
STATE_DIR = Path("/var/lib") / NAME
"""``StateDirectory=``: systemd makes it, owned by the service's user; ``jht-bridge init`` there."""
LOGS_DIR = Path("/var/log") / NAME
"""``LogsDirectory=``: the log file's folder."""
LOG_FILE = "bridge.log"
WATCHDOG_S = 300
"""``WatchdogSec=``: a sync loop in one round (a delivery, a poll) longer than this stops the
pings, and systemd restarts the bridge at most this much later. Generous: an ERP that answers
slowly is not a stuck bridge, and a restart loses nothing (leases) but costs a moment."""
CONFIG_ERROR_EXIT = 2
"""The bridge's exit code for a configuration it cannot start with: restarting will not help."""

WINDOWS_ACCOUNT = r"NT AUTHORITY\NetworkService"
"""Default account on Windows: no password to keep, reaches the network (the ERP's SQL Server,
its share) as the computer's own account."""
WINDOWS_PASSWORDLESS = {
    "localservice": ("NT AUTHORITY", "LocalService"),
    "networkservice": ("NT AUTHORITY", "NetworkService"),
    "localsystem": (None, "LocalSystem"),
}
WINDOWS_DATA = PureWindowsPath(r"C:\ProgramData") / NAME
"""Where docs/windows.md puts the config, the database, the logs and the service files."""
WINDOWS_EXECUTABLE = PureWindowsPath(r"C:\jht-bridge\.venv\Scripts\jht-bridge.exe")
"""Where docs/windows.md installs the bridge (for a preview written on another system)."""

Run = Callable[[Sequence[str]], int]


class ServiceError(Exception):
    """The service cannot be installed or removed as asked; the message says what to do."""


def run_command(argv: Sequence[str]) -> int:
    """Run ``argv`` with its output on ours; its exit code (127 when it is not there)."""
    try:
        return subprocess.run(list(argv), check=False).returncode
    except FileNotFoundError:
        return 127


def default_executable() -> Path:
    """The ``jht-bridge`` program of the Python running this command (its venv's, or the
    system's Scripts folder on Windows)."""
    here = Path(sys.executable).parent
    names = ["jht-bridge.exe", "Scripts/jht-bridge.exe"] if os.name == "nt" else ["jht-bridge"]
    for name in names:
        if (here / name).is_file():
            return (here / name).absolute()
    found = shutil.which("jht-bridge")
    if found:
        return Path(found).absolute()
    raise ServiceError(f"cannot find the jht-bridge program beside {sys.executable}: give it with --executable")


# -- Linux: systemd ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemdService:
    executable: Path
    config: Path
    user: str = LINUX_USER
    writable: tuple[Path, ...] = ()
    """Folders the bridge writes outside ``STATE_DIR`` and ``LOGS_DIR``."""
    name: str = NAME

    @property
    def unit_name(self) -> str:
        return f"{self.name}.service"


def systemd_service(config_path: Path, writes: Sequence[Path], *, user: str, executable: Path) -> SystemdService:
    """The unit for the config at ``config_path``, whose bridge writes the folders ``writes``
    (the SQLite database's, the connector's: ``writable_folders``)."""

    def within(path: Path, folders) -> bool:
        return any(path == f or f in path.parents for f in folders)

    folders = set(writes)
    outside = sorted(p for p in folders if not within(p, (STATE_DIR, LOGS_DIR)) and not within(p, folders - {p}))
    return SystemdService(executable=executable, config=config_path, user=user, writable=tuple(outside))


def writable_folders(config, connector) -> list[Path]:
    """What the bridge of ``config`` writes: the SQLite database's folder (the file and its
    -wal/-shm beside it), the connector's folders (``Connector.writes_to``), the log file's."""
    from bridge.diagnose import sqlite_file

    folders = [p.resolve() for p in connector.writes_to()]
    db_file = sqlite_file(config)
    if db_file is not None:
        folders.append(db_file.resolve().parent)
    if config.log.file is not None:
        folders.append(config.log.file.resolve().parent)
    return folders


def _unit_word(value: str | PurePath) -> str:
    """One word of a unit file line: ``%`` escaped (systemd specifiers), quoted when it has spaces."""
    text = str(value).replace("%", "%%")
    return f'"{text}"' if any(c.isspace() for c in text) or '"' in text else text


def systemd_unit(svc: SystemdService) -> str:
    """The unit file's text."""
    under_home = any(
        Path(p).is_relative_to(home)
        for p in (svc.executable, svc.config, *svc.writable)
        for home in (Path("/home"), Path("/root"), Path("/run/user"))
    )
    exec_start = " ".join(_unit_word(w) for w in (svc.executable, "--config", svc.config, "run"))
    lines = [
        "# Written by `jht-bridge service install` (`--dry-run` prints it and changes nothing).",
        "[Unit]",
        "Description=jht-bridge: the shop mini-program's backend beside the ERP",
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        # The bridge says READY=1 once the API answers and the sync loops run, STOPPING=1 at
        # SIGTERM, and pings WATCHDOG=1 while no sync loop is stuck (bridge/sdnotify.py).
        "Type=notify",
        "NotifyAccess=main",
        f"ExecStart={exec_start}",
        f"WorkingDirectory={_unit_word(svc.config.parent)}",
        f"Environment=JHT_LOG__FILE={_unit_word(LOGS_DIR / LOG_FILE)}",
        "Environment=PYTHONUNBUFFERED=1",
        f"User={svc.user}",
        f"Group={svc.user}",
        "Restart=on-failure",
        "RestartSec=5",
        f"RestartPreventExitStatus={CONFIG_ERROR_EXIT}",
        f"WatchdogSec={WATCHDOG_S}",
        "TimeoutStopSec=60",
        f"StateDirectory={NAME}",
        "StateDirectoryMode=0700",
        f"LogsDirectory={NAME}",
        "LogsDirectoryMode=0700",
        *(f"ReadWritePaths=-{_unit_word(p)}" for p in svc.writable),
        "UMask=0077",
        # Sandbox: read-only system, no home folders (read-only when the bridge lives there),
        # own /tmp, no devices, no privileges, no kernel knobs, the system calls of a service.
        "ProtectSystem=strict",
        f"ProtectHome={'read-only' if under_home else 'yes'}",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "PrivateUsers=yes",
        "PrivateMounts=yes",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=",
        "AmbientCapabilities=",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "ProtectClock=yes",
        "ProtectHostname=yes",
        "ProtectProc=invisible",
        "ProcSubset=pid",
        "DevicePolicy=closed",
        "KeyringMode=private",
        "LockPersonality=yes",
        "RemoveIPC=yes",
        # AF_UNIX: the notify socket; AF_INET/6: the API, the ERP, WeChat, mail.
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "RestrictNamespaces=yes",
        "RestrictRealtime=yes",
        "RestrictSUIDSGID=yes",
        "SystemCallArchitectures=native",
        "SystemCallFilter=@system-service",
        "SystemCallFilter=~@privileged @resources",
        "SystemCallErrorNumber=EPERM",
        # Not MemoryDenyWriteExecute=: ctypes/cffi callbacks may need writable code pages.
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ]
    return "\n".join(lines)


def install_systemd(
    svc: SystemdService, *, unit_dir: Path = UNIT_DIR, run: Run = run_command, say: Callable[[str], None] = print
) -> None:
    """Make the user if missing, write the unit, enable and start it."""
    import pwd

    private_tmp = (Path("/tmp"), Path("/var/tmp"))
    hidden = [p for p in (svc.config, *svc.writable) if any(p.is_relative_to(t) for t in private_tmp)]
    if hidden:
        raise ServiceError(
            f"{hidden[0]} is under /tmp, which the service does not see (PrivateTmp=yes): "
            f"put the bridge's folder elsewhere, e.g. `jht-bridge init {STATE_DIR}`"
        )

    try:
        pwd.getpwnam(svc.user)
    except KeyError:
        say(f"making the system user {svc.user}")
        _must(
            run,
            [
                "useradd",
                "--system",
                "--user-group",
                "--home-dir",
                str(STATE_DIR),
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                svc.user,
            ],
        )
    unit = unit_dir / svc.unit_name
    unit.write_text(systemd_unit(svc), encoding="utf-8")
    unit.chmod(0o644)
    say(f"wrote {unit}")
    for folder in svc.writable:
        if folder.exists() and _owner(folder) != svc.user:
            say(f"warning: {folder} is written by the bridge; let {svc.user} write it: chown -R {svc.user}: {folder}")
    _must(run, ["systemctl", "daemon-reload"])
    _must(run, ["systemctl", "enable", "--now", svc.unit_name])
    say(
        f"{svc.unit_name} enabled and started: `systemctl status {svc.name}`, `journalctl -u {svc.name}`, "
        f"log file {LOGS_DIR / LOG_FILE}"
    )


def uninstall_systemd(
    name: str = NAME, *, unit_dir: Path = UNIT_DIR, run: Run = run_command, say: Callable[[str], None] = print
) -> None:
    """Stop and disable the unit and remove its file; the data, the logs and the user stay."""
    unit = unit_dir / f"{name}.service"
    if not unit.exists():
        raise ServiceError(f"{unit} is not there: the service is not installed")
    _must(run, ["systemctl", "disable", "--now", unit.name])
    unit.unlink()
    _must(run, ["systemctl", "daemon-reload"])
    say(f"removed {unit}; the data ({STATE_DIR}), the logs ({LOGS_DIR}) and the user are kept")


def _owner(path: Path) -> str | None:
    try:
        return path.owner()
    except (KeyError, OSError):
        return None


def _must(run: Run, argv: list[str]) -> None:
    code = run(argv)
    if code != 0:
        raise ServiceError(f"`{' '.join(argv)}` failed (exit {code})")


# -- Windows: WinSW ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WinswService:
    executable: PureWindowsPath
    config: PureWindowsPath
    account: str = WINDOWS_ACCOUNT
    name: str = NAME

    @property
    def data(self) -> PureWindowsPath:
        """The config's folder: database, secrets and file drop beside it, as ``init`` makes them."""
        return self.config.parent

    @property
    def logs(self) -> PureWindowsPath:
        return self.data / "logs"

    @property
    def folder(self) -> PureWindowsPath:
        """Where the wrapper (``jht-bridge.exe``, a renamed WinSW) and its XML live."""
        return self.data / "service"


def windows_account(account: str) -> tuple[str | None, str]:
    """(domain, user) for ``<serviceaccount>``: the built-in accounts without a password
    (``LocalService``, ``NetworkService``, ``LocalSystem``, with or without ``NT AUTHORITY\\``)
    or a group managed service account (``DOMAIN\\name$``). Any other account needs a password,
    which WinSW would keep in its XML: refused, with what to do instead."""
    domain, _, user = account.rpartition("\\")
    known = WINDOWS_PASSWORDLESS.get(user.lower())
    if known and domain.upper() in ("", "NT AUTHORITY"):
        return known
    if user.endswith("$") and domain:
        return domain, user
    raise ServiceError(
        f"{account}: a Windows account with a password is not written into the service's XML. Install with the "
        f"default ({WINDOWS_ACCOUNT}), then set the account and its password under services.msc → {NAME} → Log On "
        "(see docs/windows.md)"
    )


def winsw_xml(svc: WinswService) -> str:
    """WinSW's XML for the service (version 2.x; 3.x reads it too)."""
    domain, user = windows_account(svc.account)
    root = ET.Element("service")

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, tag, attrs)
        element.text = text
        return element

    add(root, "id", svc.name)
    add(root, "name", "jht-bridge (shop - ERP bridge)")
    add(
        root,
        "description",
        "The shop mini-program's backend beside the ERP: orders to the ERP and back (jht-bridge run).",
    )
    add(root, "executable", str(svc.executable))
    add(root, "arguments", subprocess.list2cmdline(["--config", str(svc.config), "run"]))
    add(root, "workingdirectory", str(svc.data))
    add(root, "env", name="JHT_LOG__FILE", value=str(svc.logs / LOG_FILE))
    add(root, "env", name="PYTHONUTF8", value="1")  # Chinese text on a console of another code page
    add(root, "env", name="PYTHONUNBUFFERED", value="1")
    add(root, "startmode", "Automatic")
    add(root, "delayedAutoStart", "true")  # after the network and the ERP's own services
    add(root, "onfailure", action="restart", delay="10 sec")
    add(root, "onfailure", action="restart", delay="30 sec")
    add(root, "onfailure", action="restart", delay="60 sec")
    add(root, "resetfailure", "1 hour")
    add(root, "stoptimeout", "45 sec")  # WinSW sends Ctrl+C, the bridge finishes what it holds
    add(root, "logpath", str(svc.logs))
    log = add(root, "log", mode="roll-by-size")
    add(log, "sizeThreshold", "10240")
    add(log, "keepFiles", "8")
    account = add(root, "serviceaccount")
    if domain:
        add(account, "domain", domain)
    add(account, "user", user)
    if user.endswith("$"):  # the built-in accounts have the right already
        add(account, "allowservicelogon", "true")
    ET.indent(root, space="  ")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        # (no double hyphen in an XML comment, so no option names here)
        "<!-- Written by `jht-bridge service install`. WinSW reads it as jht-bridge.xml beside jht-bridge.exe. -->\n"
        + ET.tostring(root, encoding="unicode")
        + "\n"
    )


def install_windows(
    svc: WinswService, winsw: Path | None, *, run: Run = run_command, say: Callable[[str], None] = print
) -> None:
    """Copy WinSW in as ``<data>\\service\\jht-bridge.exe``, write its XML beside it, let the
    account change the data folder, install and start the service."""
    folder = Path(svc.folder)
    wrapper = folder / f"{svc.name}.exe"
    if winsw is None and not wrapper.is_file():
        raise ServiceError(
            f"give the WinSW program with --winsw PATH (WinSW-x64.exe from github.com/winsw/winsw/releases): "
            f"it is copied to {wrapper}"
        )
    (Path(svc.logs)).mkdir(parents=True, exist_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    if winsw is not None:
        shutil.copyfile(winsw, wrapper)
    (folder / f"{svc.name}.xml").write_text(winsw_xml(svc), encoding="utf-8")
    say(f"wrote {folder / f'{svc.name}.xml'} beside {wrapper}")
    _must(run, ["icacls", str(svc.data), "/grant", f"{svc.account}:(OI)(CI)M", "/T", "/Q"])
    _must(run, [str(wrapper), "install"])
    _must(run, [str(wrapper), "start"])
    say(f"service {svc.name} installed and started (services.msc, `{wrapper} status`); logs in {svc.logs}")


def windows_wrapper(svc: WinswService) -> Path:
    return Path(svc.folder) / f"{svc.name}.exe"


def uninstall_windows(svc: WinswService, *, run: Run = run_command, say: Callable[[str], None] = print) -> None:
    wrapper = windows_wrapper(svc)
    if not wrapper.is_file():
        raise ServiceError(f"{wrapper} is not there: the service is not installed from this folder")
    run([str(wrapper), "stop"])  # stopped already is fine
    _must(run, [str(wrapper), "uninstall"])
    say(f"service {svc.name} removed; the data and logs in {svc.data} are kept")
