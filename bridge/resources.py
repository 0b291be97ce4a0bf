"""Reference files shipped with the bridge: the SQL interface tables and statements
(``etc/sql/<dialect>/…``), the SOAP reference WSDL (``etc/soap/…``), the example
configuration (``etc/bridge.example.toml``), the reverse proxy's configuration
(``etc/nginx/…``) and the service definitions (``etc/service/…``: systemd unit, WinSW XML).

The repository's ``etc/`` is their one source. In a checkout or an editable install they are
read from there; a wheel carries a copy inside the package (``bridge/etc/``), made at build time
by ``setup.py`` from ``SHIPPED``. Every caller goes through ``etc_path``.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent

SHIPPED = ("sql", "soap", "nginx", "service", "bridge.example.toml")
"""What of ``etc/`` goes into the wheel: these folders (everything below them) and files."""


def etc_root() -> Path:
    """``bridge/etc`` in an installed wheel, else the checkout's ``etc/``."""
    packaged = _HERE / "etc"
    return packaged if packaged.is_dir() else _HERE.parent / "etc"


def etc_path(*parts: str) -> Path:
    """``etc_path("sql", "postgresql", "statements.sql")``: where that reference file is."""
    return etc_root().joinpath(*parts)


def shipped_files(etc: Path) -> list[Path]:
    """The files below ``etc`` that ``SHIPPED`` names, in a stable order (hidden files, editor
    backups and caches left out). Used by the build and by the test that checks the wheel."""
    found: list[Path] = []
    for name in SHIPPED:
        top = etc / name
        candidates = sorted(top.rglob("*")) if top.is_dir() else [top]
        for path in candidates:
            relative = path.relative_to(etc)
            if not path.is_file() or any(p.startswith((".", "__pycache__")) or p.endswith("~") for p in relative.parts):
                continue
            found.append(path)
    return found
