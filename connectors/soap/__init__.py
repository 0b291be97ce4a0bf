"""The built-in SOAP connector (``connector.name = "soap"``): the ERP's web service through
zeep, driven by a WSDL and a mapping file. The reference WSDL and its default mapping are in
``etc/soap/``; ERP sides for tests and demos in ``connectors.soap.erp_server`` and
``connectors.soap.foreign_server``.

Registered as a plugin, marked ``trylast`` so an outside plugin can replace it under the same name.
"""

from __future__ import annotations

from bridge.hookspecs import hookimpl
from connectors.soap.connector import SoapConnector, SoapSettings

__all__ = ["SoapConnector", "SoapSettings", "register_connectors"]


@hookimpl(trylast=True)
def register_connectors():
    return [SoapConnector]
