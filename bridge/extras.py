"""Optional drivers and the extras of the distribution that install them (``pyproject.toml``).

A bridge on the embedded default (SQLite, file-drop connector) needs neither pyodbc (and the
libodbc it loads), nor zeep and lxml, nor psycopg: they come with ``jht-bridge[odbc]``,
``jht-bridge[soap]``, ``jht-bridge[postgresql]`` (or ``jht-bridge[all]``). The code that needs
one imports it only when it is used — the connector that is opened, the database that is
configured — through ``driver()``, so a missing driver is one clear error naming the extra.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

EXTRAS = {"pyodbc": "odbc", "zeep": "soap", "lxml": "soap", "requests": "soap", "psycopg": "postgresql"}
"""Top-level module → the extra that installs it."""

HINTS = {"pyodbc": "; pyodbc also needs the unixODBC driver manager (libodbc, e.g. apt-get install unixodbc)"}


class MissingDriver(ImportError):
    """A driver that an optional feature needs cannot be imported; the message says what to install."""

    def __init__(self, module: str, reason: ImportError):
        top = module.split(".")[0]
        self.extra = EXTRAS[top]
        absent = isinstance(reason, ModuleNotFoundError) and (reason.name or "").split(".")[0] == top
        state = "is not installed" if absent else f"cannot be imported ({reason})"
        super().__init__(
            f"{top} {state}: install it with pip install 'jht-bridge[{self.extra}]'{HINTS.get(top, '')}",
            name=module,
        )


def driver(module: str) -> ModuleType:
    """Import ``module`` (one of ``EXTRAS``, or a submodule) now, or raise ``MissingDriver``."""
    if module.split(".")[0] not in EXTRAS:
        raise ValueError(f"{module} is not an optional driver (known: {', '.join(sorted(EXTRAS))})")
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDriver(module, exc) from exc


class LazyDriver:
    """A module-level stand-in for a driver: ``pyodbc = LazyDriver("pyodbc")`` lets a module
    write ``pyodbc.connect`` and ``except pyodbc.Error`` as usual, while pyodbc is imported
    (through ``driver``) at the first attribute read, not when the module is."""

    def __init__(self, module: str):
        self._module = module

    def __getattr__(self, attribute: str) -> Any:
        return getattr(driver(self._module), attribute)

    def __repr__(self) -> str:
        return f"<driver {self._module}, imported on first use>"
