"""The bridge as a service (O1): the systemd unit `service install` writes (checked by systemd's
own `systemd-analyze verify` and `security`), the install steps, and the WinSW XML for Windows.
The notify protocol the unit relies on: tests/test_sdnotify.py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path, PureWindowsPath

import pytest
from typer.testing import CliRunner

from bridge.cli import app
from bridge.service import (
    LOGS_DIR,
    NAME,
    STATE_DIR,
    ServiceError,
    SystemdService,
    WinswService,
    install_systemd,
    systemd_service,
    systemd_unit,
    uninstall_systemd,
    winsw_xml,
)
from tests.conftest import require

ETC = Path(__file__).resolve().parents[1] / "etc" / "service"
runner = CliRunner()


def invoke(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A folder made by `jht-bridge init`, the current directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JHT_CONFIG", raising=False)
    assert invoke("init").exit_code == 0
    return tmp_path / "var"


def _unit_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


# -- the systemd unit ---------------------------------------------------------------------------


def test_o1_the_printed_unit_passes_systemd_analyze_verify_and_scores_at_most_4_0(site, tmp_path):
    analyze = shutil.which("systemd-analyze")
    require(analyze is not None, "systemd-analyze is missing (apt package systemd; scripts/test installs it)")
    config = site / "bridge.toml"
    text = config.read_text()
    assert 'root = "erp"' in text
    config.write_text(text.replace('root = "erp"', 'root = "/srv/erp-share"'))
    result = invoke("service", "install", "--config", config, "--dry-run")
    assert result.exit_code == 0, result.output
    unit = tmp_path / "check" / f"{NAME}.service"
    unit.parent.mkdir()
    unit.write_text(result.output)
    assert "ReadWritePaths=-/srv/erp-share" in result.output  # the connector's share is writable

    verify = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr

    security = subprocess.run(
        [analyze, "security", "--offline=true", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert security.returncode == 0, security.stderr
    level = re.search(rf"Overall exposure level for {NAME}\.service: (\d+\.\d+) (\w+)", security.stdout)
    assert level, security.stdout[-500:]
    assert float(level.group(1)) <= 4.0 and level.group(2) == "OK", level.group(0)
    # The same bound as systemd's own gate (its threshold is on the 0-100 scale)
    gate = subprocess.run(
        [analyze, "security", "--offline=true", "--threshold=40", str(unit)], capture_output=True, timeout=60
    )
    assert gate.returncode == 0


def test_o1_the_unit_notifies_restarts_runs_as_its_user_and_writes_only_its_folders(site):
    config = site / "bridge.toml"
    result = invoke("service", "install", "--config", config, "--user", "bridge", "--dry-run")
    assert result.exit_code == 0, result.output
    lines = _unit_lines(result.output)
    program = Path(sys.executable).parent / "jht-bridge"
    for want in (
        "Type=notify",
        f"ExecStart={program.absolute()} --config {config} run",
        "Restart=on-failure",
        "RestartPreventExitStatus=2",
        "User=bridge",
        f"StateDirectory={NAME}",
        f"LogsDirectory={NAME}",
        f"Environment=JHT_LOG__FILE={LOGS_DIR}/bridge.log",
        "WatchdogSec=300",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "SystemCallFilter=@system-service",
        "UMask=0077",
    ):
        assert want in lines, want
    # The database and the file drop are in the config's folder: one writable folder, not two.
    assert [line for line in lines if line.startswith("ReadWritePaths=")] == [f"ReadWritePaths=-{site}"]


def test_o1_a_config_the_bridge_would_refuse_is_named_not_installed(site):
    config = site / "bridge.toml"
    config.write_text(config.read_text().replace('name = "filedrop"', 'name = "nosuch"', 1))
    result = invoke("service", "install", "--config", config, "--dry-run")
    assert result.exit_code == 2
    assert "connector.name: unknown connector 'nosuch'" in result.output and "Traceback" not in result.output


def test_o1_a_bridge_kept_in_a_home_folder_sees_it_read_only_and_its_data_folder_is_not_repeated():
    svc = systemd_service(
        Path("/home/it/jht/bridge.toml"),
        [Path("/home/it/jht"), Path("/home/it/jht/erp"), STATE_DIR, LOGS_DIR],
        user="jht",
        executable=Path("/home/it/jht/.venv/bin/jht-bridge"),
    )
    assert svc.writable == (Path("/home/it/jht"),)
    lines = _unit_lines(systemd_unit(svc))
    assert "ProtectHome=read-only" in lines and "ReadWritePaths=-/home/it/jht" in lines
    spaced = SystemdService(Path("/opt/jht bridge/bin/jht-bridge"), Path("/etc/jht/100%.toml"))
    assert 'ExecStart="/opt/jht bridge/bin/jht-bridge" --config /etc/jht/100%%.toml run' in systemd_unit(spaced)


def test_o1_install_makes_the_user_writes_the_unit_and_enables_it(tmp_path):
    calls, said = [], []
    svc = SystemdService(
        executable=Path("/opt/jht/.venv/bin/jht-bridge"),
        config=STATE_DIR / "bridge.toml",
        user=f"jht-no-such-user-{uuid.uuid4().hex[:6]}",
    )
    install_systemd(svc, unit_dir=tmp_path, run=lambda argv: calls.append(list(argv)) or 0, say=said.append)
    unit = tmp_path / f"{NAME}.service"
    assert unit.read_text() == systemd_unit(svc)
    assert oct(unit.stat().st_mode & 0o777) == "0o644"
    assert calls[0][:2] == ["useradd", "--system"] and calls[0][-1] == svc.user
    assert calls[1:] == [["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", f"{NAME}.service"]]

    calls.clear()
    uninstall_systemd(unit_dir=tmp_path, run=lambda argv: calls.append(list(argv)) or 0, say=said.append)
    assert not unit.exists()
    assert calls == [["systemctl", "disable", "--now", f"{NAME}.service"], ["systemctl", "daemon-reload"]]
    assert "are kept" in said[-1]


def test_o1_install_refuses_a_folder_the_service_would_not_see_and_a_failing_systemctl(tmp_path):
    calls = []
    hidden = SystemdService(Path("/usr/bin/true"), tmp_path / "bridge.toml", user="root")
    with pytest.raises(ServiceError, match=r"under /tmp.*PrivateTmp"):
        install_systemd(hidden, unit_dir=tmp_path, run=lambda argv: calls.append(argv) or 0, say=print)
    assert calls == [] and not (tmp_path / f"{NAME}.service").exists()
    svc = SystemdService(Path("/usr/bin/true"), STATE_DIR / "bridge.toml", user="root")
    with pytest.raises(ServiceError, match=r"`systemctl daemon-reload` failed \(exit 1\)"):
        install_systemd(svc, unit_dir=tmp_path, run=lambda argv: 1, say=print)


def test_o1_install_without_dry_run_needs_root_and_windows_only_previews_here(site):
    result = invoke("service", "install", "--windows")
    assert result.exit_code == 1 and "--dry-run" in result.output
    if os.geteuid() != 0:
        assert "needs root" in invoke("service", "install").output


# -- Windows: the WinSW XML ---------------------------------------------------------------------


def test_o1_the_example_unit_in_etc_is_the_one_install_writes_for_the_documented_layout():
    svc = SystemdService(Path("/opt/jht-bridge/.venv/bin/jht-bridge"), STATE_DIR / "bridge.toml")
    assert (ETC / "jht-bridge.service").read_text(encoding="utf-8") == systemd_unit(svc)
    assert "ReadWritePaths" not in systemd_unit(svc)  # everything in StateDirectory / LogsDirectory


def test_o1_the_windows_service_xml_matches_its_snapshot_and_restarts_rolls_logs_and_stops_gently(site):
    result = invoke("service", "install", "--windows", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output == (ETC / "jht-bridge.xml").read_text(encoding="utf-8")
    root = ET.fromstring(result.output.encode())
    assert root.findtext("executable") == r"C:\jht-bridge\.venv\Scripts\jht-bridge.exe"
    assert root.findtext("arguments") == r"--config C:\ProgramData\jht-bridge\bridge.toml run"
    env = {e.get("name"): e.get("value") for e in root.iter("env")}
    assert env["JHT_LOG__FILE"] == r"C:\ProgramData\jht-bridge\logs\bridge.log"
    assert [e.get("action") for e in root.iter("onfailure")] == ["restart"] * 3
    assert root.find("log").get("mode") == "roll-by-size"
    assert root.findtext("stoptimeout") == "45 sec"  # Ctrl+C first: the bridge's graceful stop
    assert (root.findtext("serviceaccount/domain"), root.findtext("serviceaccount/user")) == (
        "NT AUTHORITY",
        "NetworkService",
    )


def test_o1_windows_paths_with_spaces_are_quoted_once():
    result = invoke(
        "service",
        "install",
        "--windows",
        "--dry-run",
        "--config",
        r"D:\JHT Data\bridge.toml",
        "--executable",
        r"C:\Program Files\jht-bridge\.venv\Scripts\jht-bridge.exe",
    )
    assert result.exit_code == 0, result.output
    root = ET.fromstring(result.output.encode())
    assert root.findtext("executable") == r"C:\Program Files\jht-bridge\.venv\Scripts\jht-bridge.exe"
    assert root.findtext("arguments") == r'--config "D:\JHT Data\bridge.toml" run'
    assert root.findtext("logpath") == r"D:\JHT Data\logs"


def test_o1_a_windows_account_with_a_password_is_refused_a_managed_one_is_not():
    svc = WinswService(
        PureWindowsPath(r"C:\b\jht-bridge.exe"), PureWindowsPath(r"C:\d\bridge.toml"), account=r"CORP\jht"
    )
    with pytest.raises(ServiceError, match="Log On"):
        winsw_xml(svc)
    gmsa = ET.fromstring(winsw_xml(WinswService(svc.executable, svc.config, account=r"CORP\jht-svc$")).encode())
    assert (
        gmsa.findtext("serviceaccount/user") == "jht-svc$"
        and gmsa.findtext("serviceaccount/allowservicelogon") == "true"
    )
    local = ET.fromstring(winsw_xml(WinswService(svc.executable, svc.config, account="LocalService")).encode())
    assert local.findtext("serviceaccount/user") == "LocalService"
