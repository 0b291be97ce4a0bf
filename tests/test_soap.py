"""The SOAP connector against real SOAP servers on 127.0.0.1: the reference service of
etc/soap/jht-erp.wsdl and a foreign-shaped one driven by configuration alone."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.connector import ConnectorContext, PermanentError, TransientError
from bridge.testing.connector_kit import ConnectorContract, sample_customer, sample_order
from connectors.erpsim import MemoryErp
from connectors.soap.connector import SoapConnector
from connectors.soap.erp_server import SoapErpServer, SoapErpSide

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _quiet_spyne():
    logging.getLogger("spyne").setLevel(logging.CRITICAL)


def soap_connector(server, tmp_path: Path, **settings) -> SoapConnector:
    values = {"wsdl": server.wsdl_url, "wsdl_cache": str(tmp_path / "cache"), "read_timeout_s": 5, **settings}
    return SoapConnector(values, ConnectorContext(base_dir=tmp_path))


@pytest.fixture
def reference_server():
    with SoapErpServer(MemoryErp(stock={"WA-100": 50})) as server:
        yield server


class TestSoapReferenceContract(ConnectorContract):
    """The shared connector contract against the reference SOAP service, over real HTTP."""

    @pytest.fixture
    def connector(self, reference_server, tmp_path):
        connector = soap_connector(reference_server, tmp_path)
        yield connector
        connector.close()

    @pytest.fixture
    def erp(self, reference_server):
        return SoapErpSide(reference_server)


# =========================================================================== a foreign WSDL

FOREIGN_MAPPING = ROOT / "docs" / "examples" / "soap-foreign" / "mapping.toml"


@pytest.fixture
def foreign_server():
    from connectors.soap.foreign_server import ForeignErpServer

    with ForeignErpServer(MemoryErp(), user="bridge", password="桥接-secret") as server:
        yield server


def foreign_connector(server, tmp_path: Path, **settings) -> SoapConnector:
    """The SOAP connector configured for SalesOrderService by its settings alone: the WSDL, the
    worked example's mapping file, basic auth and the fault text meaning "already there"."""
    return soap_connector(
        server, tmp_path, mapping=str(FOREIGN_MAPPING), http_username="bridge", http_password="桥接-secret",
        already_exists=["单据编号已存在"], **settings,
    )


class TestSoapForeignContract(ConnectorContract):
    """The same contract against a service whose operations, names and shapes differ from ours
    (SaveCustomer / CreateSalesOrder{bill{Entries}} / ChangeBillState{Action} / GetInventory /
    GetChanges{Seq, ChangeType, State codes}), driven by configuration alone."""

    @pytest.fixture
    def connector(self, foreign_server, tmp_path):
        connector = foreign_connector(foreign_server, tmp_path)
        yield connector
        connector.close()

    @pytest.fixture
    def erp(self, foreign_server):
        from connectors.soap.foreign_server import ForeignErpSide

        return ForeignErpSide(foreign_server)
