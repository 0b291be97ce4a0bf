"""``jht-bridge service install | uninstall | status``: the bridge as a systemd unit on Linux or
a WinSW service on Windows (``bridge.service`` builds both; docs/windows.md for Windows)."""

from __future__ import annotations

import os
from pathlib import Path, PureWindowsPath
from typing import Annotated, Optional

import typer

from bridge.cli._common import fail, out, state

service_app = typer.Typer(
    help="Install the bridge as a service: a systemd unit on Linux, a WinSW service on Windows.",
    no_args_is_help=True,
)

UserOption = Annotated[
    Optional[str],
    typer.Option(
        "--user",
        help="Account the service runs as. Linux: default jht, made as a system user if missing. Windows: default "
        r"NT AUTHORITY\NetworkService; LocalService or a managed service account (DOMAIN\name$) also work.",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Optional[Path],
    typer.Option(
        "--config",
        help="The config the service runs with (default: the one this command finds, as every command does). "
        "Linux: best made by `jht-bridge init /var/lib/jht-bridge`.",
        show_default=False,
    ),
]
WindowsOption = Annotated[
    bool,
    typer.Option(
        "--windows",
        help="The Windows service (WinSW XML) rather than the systemd unit. The default on Windows; "
        "elsewhere only with --dry-run, to see what Windows would get.",
    ),
]


def _windows(windows: bool, dry_run: bool) -> bool:
    if os.name == "nt":
        return True
    if windows and not dry_run:
        fail("--windows installs nothing on this system: add --dry-run to print what Windows would get")
    return windows


def _config_path(ctx: typer.Context, config: Optional[Path]) -> Path:
    """The config file the service will use, read and validated here (exit 2 when it cannot be)."""
    st = state(ctx)
    if config is not None:
        st.reset(config)
    cfg = st.config()
    if not cfg.source:
        fail(
            "no config file found: make one first, e.g. `jht-bridge init /var/lib/jht-bridge`, then "
            "`jht-bridge service install --config /var/lib/jht-bridge/bridge.toml`"
        )
    return Path(cfg.source).resolve()


def _systemd(ctx: typer.Context, config: Optional[Path], user: Optional[str], executable: Optional[Path]):
    from bridge.config import ConfigError
    from bridge.plugins import load_connector
    from bridge.service import LINUX_USER, ServiceError, default_executable, systemd_service, writable_folders

    path = _config_path(ctx, config)
    cfg = state(ctx).config()
    try:
        connector = load_connector(cfg)  # to ask it which folders it writes
    except ConfigError as exc:  # e.g. its driver is not installed
        fail(str(exc), code=2)
    try:
        writes = writable_folders(cfg, connector)
    finally:
        connector.close()
    try:
        program = (executable or default_executable()).absolute()
    except ServiceError as exc:
        fail(str(exc))
    if not (program.is_file() and os.access(program, os.X_OK)):
        fail(f"{program} is not an executable program (--executable)")
    return systemd_service(path, writes, user=user or LINUX_USER, executable=program)


def _winsw(ctx: typer.Context, config: Optional[Path], user: Optional[str], executable: Optional[Path]):
    from bridge.service import WINDOWS_ACCOUNT, WINDOWS_DATA, WINDOWS_EXECUTABLE, WinswService, default_executable

    if os.name == "nt":
        path = PureWindowsPath(_config_path(ctx, config))
        program = PureWindowsPath((executable or default_executable()).absolute())
    else:  # a preview: the paths are Windows paths as given, or those of docs/windows.md
        path = PureWindowsPath(config) if config else WINDOWS_DATA / "bridge.toml"
        program = PureWindowsPath(executable) if executable else WINDOWS_EXECUTABLE
    return WinswService(executable=program, config=path, account=user or WINDOWS_ACCOUNT)


@service_app.command()
def install(
    ctx: typer.Context,
    user: UserOption = None,
    config: ConfigOption = None,
    executable: Annotated[
        Optional[Path],
        typer.Option(
            help="The jht-bridge program the service starts (default: the one running this command).",
            show_default=False,
        ),
    ] = None,
    winsw: Annotated[
        Optional[Path],
        typer.Option(
            help="Windows: the WinSW program (WinSW-x64.exe) to copy in as the service's wrapper.",
            show_default=False,
        ),
    ] = None,
    windows: WindowsOption = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the unit (or the WinSW XML) and change nothing.")
    ] = False,
) -> None:
    """Install the bridge as a service and start it: on Linux a systemd unit (Type=notify,
    restarted on failure, a dedicated user, sandboxed), on Windows a WinSW service. Run as root
    (Linux) or as an administrator (Windows)."""
    from bridge.service import ServiceError, install_systemd, install_windows, systemd_unit, winsw_xml

    try:
        if _windows(windows, dry_run):
            svc = _winsw(ctx, config, user, executable)
            if dry_run:
                out.print(winsw_xml(svc), markup=False, end="")
                return
            install_windows(svc, winsw, say=_say)
            return
        svc = _systemd(ctx, config, user, executable)
        if dry_run:
            out.print(systemd_unit(svc), markup=False, end="")
            return
        _must_be_admin()
        install_systemd(svc, say=_say)
    except ServiceError as exc:
        fail(str(exc))


@service_app.command()
def uninstall(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Stop the service and remove it; the config, the database and the logs are kept."""
    from bridge.service import ServiceError, uninstall_systemd, uninstall_windows

    try:
        if os.name == "nt":
            uninstall_windows(_winsw(ctx, config, None, None), say=_say)
        else:
            _must_be_admin()
            uninstall_systemd(say=_say)
    except ServiceError as exc:
        fail(str(exc))


@service_app.command()
def status(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Show the service's state (systemctl status, or WinSW's status on Windows); exit code as theirs."""
    from bridge.service import NAME, run_command, windows_wrapper

    if os.name == "nt":
        code = run_command([str(windows_wrapper(_winsw(ctx, config, None, None))), "status"])
    else:
        code = run_command(["systemctl", "status", "--no-pager", f"{NAME}.service"])
        if code == 127:
            fail("systemctl is not there: this system does not run systemd")
    raise typer.Exit(code)


def _say(line: str) -> None:
    out.print(line, markup=False)


def _must_be_admin() -> None:
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        fail("installing a service needs root: run it with sudo")
