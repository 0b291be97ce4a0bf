"""The built-in file-drop connector (``connector.name = "filedrop"``): the bridge and the ERP
exchange files in a shared folder. See ``docs/filedrop.md`` for the folders, names and formats,
``connectors.filedrop.simulator`` for an ERP side to test against.

Registered as a plugin like any other connector, marked ``trylast`` so an outside plugin can
replace it under the same name.
"""

from __future__ import annotations

from bridge import hookimpl
from connectors.filedrop.connector import FiledropConnector
from connectors.filedrop.files import make_folders

__all__ = ["FiledropConnector", "make_folders", "register_connectors"]


@hookimpl(trylast=True)
def register_connectors():
    return [FiledropConnector]
