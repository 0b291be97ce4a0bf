"""The built-in SOAP connector (``connector.name = "soap"``): the ERP's web service through
zeep, driven by a WSDL and a mapping file. The reference WSDL and its default mapping are in
``etc/soap/``; the ERP sides the tests use are
``tests/doubles/soap_erp_server.py``, ``soap_foreign_server.py`` and ``soap_pages_server.py``
(a WSDL per entity, with the Key rule; not installed).

Registered as a plugin, marked ``trylast`` so an outside plugin can replace it under the same name.
"""

from __future__ import annotations

from bridge import hookimpl
from connectors.soap.connector import SoapConnector, SoapSettings

__all__ = ["SoapConnector", "SoapSettings", "register_connectors"]


@hookimpl(trylast=True)
def register_connectors():
    return [SoapConnector]
