"""Reference files shipped with the bridge: the SQL interface tables and statements
(``etc/sql/<dialect>/…``) and the SOAP reference WSDL (``etc/soap/…``).

In a checkout or an editable install they are the repository's ``etc/``; an installed wheel
carries a copy inside the package (``bridge/etc/``). Every caller goes through ``etc_path``.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def etc_root() -> Path:
    packaged = _HERE / "etc"
    return packaged if packaged.is_dir() else _HERE.parent / "etc"


def etc_path(*parts: str) -> Path:
    """``etc_path("sql", "postgresql", "statements.sql")``: where that reference file is."""
    return etc_root().joinpath(*parts)
