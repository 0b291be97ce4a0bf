"""The built-in ODBC connector (``connector.name = "odbc"``): SQL interface tables (中间表)
through pyodbc. Reference DDL and named statements in ``etc/sql/``; the ERP side the tests
use is ``tests/doubles/odbc_erp.py`` (not installed).

Registered as a plugin, marked ``trylast`` so an outside plugin can replace it under the same name.
"""

from __future__ import annotations

from bridge import hookimpl
from connectors.odbc.connector import OdbcConnector, OdbcSettings

__all__ = ["OdbcConnector", "OdbcSettings", "register_connectors"]


@hookimpl(trylast=True)
def register_connectors():
    return [OdbcConnector]
