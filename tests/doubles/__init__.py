"""Test doubles: stand-ins for the ERP and the contract suite every connector passes. They live
here, outside the installed packages (``bridge``, ``connectors``, ``webapi``), because the running
bridge never needs them; ``jht-bridge demo``'s simulated ERP (``connectors/erpsim.py``,
``connectors/filedrop/simulator.py``) is the one exception, as the demo runs it.

- ``connector_kit``: ``ConnectorContract``, the contract as a pytest suite, and sample documents;
- ``memory``: ``MemoryConnector``, an in-memory ERP for tests of the bridge's own loops;
- ``odbc_erp``: the ERP side of the SQL interface tables (needs pyodbc);
- ``soap_erp_server``, ``soap_foreign_server``: the ERP's SOAP web services on spyne.
"""
