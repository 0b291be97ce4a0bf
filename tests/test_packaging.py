"""The installed bridge carries its reference files (issue 5): a wheel built from the source holds
etc/sql/**, etc/soap/**, etc/nginx/**, etc/service/** and etc/bridge.example.toml as
bridge/etc/…, and a bridge installed from it (not editable, as the Dockerfile does) finds them
through ``bridge.resources.etc_path``.

The build runs offline (``--no-build-isolation --no-index``) on a copy of the sources, so it
leaves nothing in the working tree."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from bridge.resources import shipped_files

REPO = Path(__file__).resolve().parents[1]
# What the build reads: the project files and the packages pyproject.toml lists, and etc/.
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "bridge", "connectors", "webapi", "etc")
SQL_FILES = [f"sql/{d}/{n}" for d in ("sqlserver", "postgresql", "sqlite") for n in ("interface.sql", "statements.sql")]
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]


def run(args: list, cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k != "PYTHONPATH"}
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(map(str, args))}\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("packaging")
    src = work / "src"
    src.mkdir()
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        else:
            shutil.copy2(source, src / name)
    run([*PIP, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", work / "dist", src], cwd=work)
    (wheel,) = (work / "dist").glob("jht_bridge-*.whl")
    return {"work": work, "src": src, "wheel": wheel}


def expected_members() -> dict[str, bytes]:
    etc = REPO / "etc"
    return {f"bridge/etc/{path.relative_to(etc).as_posix()}": path.read_bytes() for path in shipped_files(etc)}


def test_the_wheel_carries_the_reference_files_as_bridge_etc(built):
    expected = expected_members()
    assert {f"bridge/etc/{name}" for name in SQL_FILES} | {
        "bridge/etc/bridge.example.toml",
        "bridge/etc/nginx/jht-bridge.conf",
        "bridge/etc/service/jht-bridge.service",
        "bridge/etc/service/jht-bridge.xml",
    } <= set(expected)
    with zipfile.ZipFile(built["wheel"]) as wheel:
        packaged = {name: wheel.read(name) for name in wheel.namelist() if name.startswith("bridge/etc/")}
    assert packaged == expected  # every shipped file, byte for byte, and nothing else


def test_an_installed_bridge_finds_them_through_etc_path(built):
    """Installed from the wheel (not editable) and imported from there, the bridge and the SOAP
    connector (its default mapping) resolve the reference files inside the installed package."""
    site = built["work"] / "site"
    run([*PIP, "install", "--no-deps", "--no-index", "-q", "--target", site, built["wheel"]], cwd=built["work"])
    probe = (
        "import json, sys; sys.path.insert(0, sys.argv[1]);"
        "import bridge; from bridge.resources import etc_path, etc_root;"
        "from connectors.soap.connector import DEFAULT_MAPPING;"
        "print(json.dumps({'package': bridge.__file__, 'root': str(etc_root()),"
        " 'statements': str(etc_path('sql', 'sqlite', 'statements.sql')),"
        " 'mapping': str(etc_path(*DEFAULT_MAPPING)),"
        " 'example': str(etc_path('bridge.example.toml'))}))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", probe, str(site)], cwd=built["work"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    found = {key: Path(value) for key, value in json.loads(done.stdout).items()}
    assert found["package"].parent == site / "bridge"
    assert found["root"] == site / "bridge" / "etc"
    for key in ("statements", "mapping", "example"):
        assert found[key].is_file() and found[key].is_relative_to(site / "bridge" / "etc"), key
    assert found["statements"].read_bytes() == (REPO / "etc" / "sql" / "sqlite" / "statements.sql").read_bytes()


TEST_ONLY = ("spyne", "pytest", "_pytest", "hypothesis", "tests")
"""Top-level packages the running bridge never imports: test doubles live in tests/doubles/."""


def test_the_wheel_carries_no_test_doubles(built):
    """The installed packages hold no test code: no bridge/testing/, no SOAP or SQL ERP sides,
    no module importing spyne, pytest or tests (issue 11 point 5)."""
    import re

    imports_test_code = re.compile(rf"^\s*(?:import|from)\s+(?:{'|'.join(TEST_ONLY)})\b", re.MULTILINE)
    with zipfile.ZipFile(built["wheel"]) as wheel:
        modules = {name: wheel.read(name).decode("utf-8") for name in wheel.namelist() if name.endswith(".py")}
    assert "connectors/soap/connector.py" in modules and "connectors/filedrop/simulator.py" in modules
    assert not [name for name in modules if name.startswith(("bridge/testing/", "tests/"))]
    for gone in ("connectors/soap/erp_server.py", "connectors/soap/foreign_server.py", "connectors/odbc/simulator.py"):
        assert gone not in modules
    assert [name for name, text in modules.items() if imports_test_code.search(text)] == []


def test_the_running_bridge_imports_no_test_code(tmp_path):
    """Every module of the installed packages (bridge, connectors, webapi; the Alembic scripts
    aside, and ``__main__`` modules, which run the command instead), imported in a fresh interpreter, pulls in nothing from tests/, nor spyne or pytest."""
    probe = (
        "import importlib, json, pkgutil, sys\n"
        "for top in ('bridge', 'connectors', 'webapi'):\n"
        "    package = importlib.import_module(top)\n"
        "    for info in pkgutil.walk_packages(package.__path__, top + '.'):\n"
        "        if not info.name.startswith('bridge.migrations') and not info.name.endswith('.__main__'):\n"
        "            importlib.import_module(info.name)\n"
        "loaded = {name: getattr(module, '__file__', None) for name, module in sys.modules.items()}\n"
        "print(json.dumps(loaded))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert "bridge.cli" in loaded and "webapi.app" in loaded and "connectors.soap.connector" in loaded
    test_code = sorted(
        name
        for name, file in loaded.items()
        if name.split(".")[0] in TEST_ONLY or (file and Path(file).resolve().is_relative_to(REPO / "tests"))
    )
    assert test_code == []


def test_the_sdist_carries_them_too(built):
    """A wheel built later from the sdist (``python -m build``) gets them as well: MANIFEST.in."""
    run([sys.executable, "-c", "from setuptools import build_meta; build_meta.build_sdist('sdist')"], cwd=built["src"])
    (sdist,) = (built["src"] / "sdist").glob("jht_bridge-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    etc = REPO / "etc"
    assert {f"etc/{path.relative_to(etc).as_posix()}" for path in shipped_files(etc)} <= names
    assert "setup.py" in names


def test_constraints_pin_every_requirement_within_its_range():
    """constraints.txt (tools/freeze-constraints) pins every distribution pyproject.toml asks for,
    core, extras and test tools, at a version its range allows: a requirement added or narrowed
    without regenerating the file fails here."""
    import re
    import tomllib

    from packaging.requirements import Requirement

    def normal(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [Requirement(r) for r in project["dependencies"]]
    requirements += [Requirement(r) for group in project["optional-dependencies"].values() for r in group]
    pins = {}
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[normal(name)] = version.strip()
    wanted = [r for r in requirements if normal(r.name) != normal(project["name"])]
    assert {"pyodbc", "zeep", "lxml", "psycopg", "msgspec", "spyne"} <= {normal(r.name) for r in wanted}
    assert [str(r) for r in wanted if normal(r.name) not in pins] == []
    assert [f"{r} (pinned {pins[normal(r.name)]})" for r in wanted if pins[normal(r.name)] not in r.specifier] == []
    assert "psycopg-binary" in pins  # the extra psycopg[binary] brings


def test_a_checkout_reads_the_repository_etc():
    """Here (a checkout, editable install) the one source is the repository's etc/."""
    from bridge.resources import etc_path, etc_root

    assert etc_root() == REPO / "etc"
    assert etc_path("sql", "sqlite", "statements.sql").is_file()
