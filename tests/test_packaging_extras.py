"""The drivers are extras (issue 11 point 6): a bridge on its embedded default (SQLite, the file
drop) works with pyodbc, zeep, lxml, requests and psycopg not importable — as after
``pip install jht-bridge`` without ``[odbc]``, ``[soap]`` or ``[postgresql]`` — and a feature
that needs a missing driver says which extra to install.

The CLI runs in a fresh interpreter whose imports of those modules fail as if they were not
installed (a meta-path finder put first by a small launcher)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bridge.config import ConfigError, load_config
from bridge.resources import etc_path
from bridge.worker import wait_until

REPO = Path(__file__).resolve().parents[1]
BLOCKED = ("pyodbc", "zeep", "lxml", "requests", "psycopg", "psycopg2")

LAUNCHER = f"""
import sys

BLOCKED = {BLOCKED!r}


class NotInstalled:
    '''Imports of the blocked drivers fail as if they were not installed.'''

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
if sys.argv[1] == "--probe":
    exec(sys.argv[2])
else:
    from bridge.cli import main

    sys.argv[0] = "jht-bridge"
    main()
"""


def without_drivers(*args: str) -> list[str]:
    return [sys.executable, "-c", LAUNCHER, *args]


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JHT_")}
    env["PYTHONPATH"] = str(REPO)  # this tree's code, whatever is installed
    return {**env, **extra}


def cli(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        without_drivers(*args), cwd=folder, env=environment(**env), capture_output=True, text=True, timeout=120
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_launcher_really_blocks_the_drivers(tmp_path):
    """The check of the check: under the launcher each blocked driver is 'not installed'."""
    probe = (
        "import importlib\n"
        "for name in BLOCKED:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ModuleNotFoundError as exc:\n"
        "        assert exc.name == name, exc\n"
        "    else:\n"
        "        raise SystemExit(f'{name} was importable')\n"
        "print('blocked')\n"
    )
    done = cli(tmp_path, "--probe", probe)
    assert done.returncode == 0 and done.stdout.strip() == "blocked", done.stderr


def test_o2_a_filedrop_bridge_on_sqlite_runs_without_the_odbc_soap_and_postgresql_drivers(tmp_path):
    """`jht-bridge init && jht-bridge demo-data && jht-bridge check`, then `jht-bridge run`
    serving /healthz and stopping cleanly on SIGTERM, with none of the extras' drivers."""
    for args in (("init",), ("demo-data",), ("check",)):
        done = cli(tmp_path, *args)
        assert done.returncode == 0, f"jht-bridge {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stdout + done.stderr
    check = cli(tmp_path, "check").stdout
    assert "connector filedrop" in check and "FAIL" not in check

    port = free_port()
    proc = subprocess.Popen(
        without_drivers("run", "--port", str(port)),
        cwd=tmp_path,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def healthy() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert wait_until(healthy, timeout=60), "jht-bridge run did not answer /healthz"
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    assert proc.returncode == 0, output
    assert "sync loops stopped" in output


def test_o1_the_odbc_connector_without_pyodbc_is_a_config_error_naming_the_extra(tmp_path):
    """`jht-bridge check` with connector.name = "odbc" and no pyodbc: a FAIL line that says what
    to install, not a traceback; the other checks still run."""
    assert cli(tmp_path, "init").returncode == 0
    config = tmp_path / "var" / "bridge.toml"
    config.write_text(config.read_text(encoding="utf-8") + odbc_section(tmp_path / "var"), encoding="utf-8")
    done = cli(tmp_path, "check", JHT_CONNECTOR__NAME="odbc")
    assert done.returncode != 0 and "Traceback" not in done.stdout + done.stderr
    assert "connector 'odbc': pyodbc is not installed: install it with pip install 'jht-bridge[odbc]'" in done.stdout
    assert "token key" in done.stdout


def odbc_section(folder: Path) -> str:
    """``[connector.odbc]`` as the SQL connector guide has it: the connection string in a file."""
    (folder / "odbc.secret").write_text("Driver={SQLite3};Database=erp.db\n", encoding="utf-8")
    statements = etc_path("sql", "sqlite", "statements.sql").as_posix()
    return f'\n[connector.odbc]\nconnection_string_file = "odbc.secret"\nstatements = "{statements}"\n'


def _config(tmp_path, text: str):
    (tmp_path / "erp").mkdir(exist_ok=True)
    path = tmp_path / "bridge.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ={})


@pytest.mark.parametrize(
    ("name", "module", "extra", "settings"),
    [
        ("odbc", "pyodbc", "odbc", odbc_section),
        ("soap", "zeep", "soap", lambda folder: '\n[connector.soap]\nwsdl = "http://erp.example/ws?wsdl"\n'),
    ],
)
def test_e7_a_connector_whose_driver_is_missing_fails_at_load_naming_the_extra(
    tmp_path, monkeypatch, name, module, extra, settings
):
    from bridge.plugins import load_connector, make_plugin_manager

    config = _config(tmp_path, f'[connector]\nname = "{name}"\n' + settings(tmp_path))
    monkeypatch.setitem(sys.modules, module, None)  # "import of … halted": as if not installed
    with pytest.raises(ConfigError) as err:
        load_connector(config, make_plugin_manager(load_entrypoints=False))
    assert err.value.problems[0].startswith(
        f"connector.name: connector {name!r}: {module} is not installed: install it with pip install 'jht-bridge[{extra}]'"
    )


def test_o2_a_postgresql_url_without_psycopg_is_a_config_error_naming_the_extra(tmp_path, monkeypatch):
    from bridge.db import make_engine

    config = _config(tmp_path, '[database]\nurl = "postgresql+psycopg://jht@db.example:5432/jht"\n')
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(ConfigError) as err:
        make_engine(config)
    assert err.value.problems == [
        "database.url: psycopg is not installed: install it with pip install 'jht-bridge[postgresql]'"
    ]
    assert err.value.source == config.source
