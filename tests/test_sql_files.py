"""The SQL shipped for integrators (E1): the SQL Server (T-SQL) files parse with a T-SQL
parser — no SQL Server runs here — and every dialect offers the same named statements."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from connectors.odbc.statements import load_statements, placeholders, split_queries

SQL = Path(__file__).resolve().parents[1] / "etc" / "sql"
DIALECTS = ["sqlserver", "postgresql", "sqlite"]


def test_e1_tsql_interface_tables_parse():
    text = (SQL / "sqlserver" / "interface.sql").read_text(encoding="utf-8")
    statements = [s for s in sqlglot.parse(text, read="tsql", error_level=sqlglot.ErrorLevel.RAISE) if s is not None]
    created = {s.this.this.name for s in statements if isinstance(s, sqlglot.exp.Create) and s.kind == "TABLE"}
    assert {"jht_order_in", "jht_order_line_in", "jht_customer_in", "jht_command_in", "jht_event_out"} <= created


@pytest.mark.parametrize("name", sorted(load_statements(SQL / "sqlserver" / "statements.sql")))
def test_e1_every_tsql_named_statement_parses(name):
    sql = load_statements(SQL / "sqlserver" / "statements.sql")[name].replace("{skus}", placeholders(3))
    for query in split_queries(sql):
        sqlglot.parse_one(query, read="tsql", error_level=sqlglot.ErrorLevel.RAISE)


def test_e1_a_broken_statement_would_be_caught():
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse_one(
            "INSERT INTO jht_order_in (order_no VALUES (?)", read="tsql", error_level=sqlglot.ErrorLevel.RAISE
        )


OPTIONAL = {"on_connect"}  # run once per connection where a dialect needs it (psqlODBC's timeout)


def test_every_dialect_offers_the_same_named_statements():
    names = {d: set(load_statements(SQL / d / "statements.sql")) - OPTIONAL for d in DIALECTS}
    assert names["sqlserver"] == names["postgresql"] == names["sqlite"]


# The worked example of docs/sql-connector.md: the connector on an ERP's own tables.
EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "sql-own-tables"


@pytest.mark.parametrize("name", ["erp-tables.sql", "additions.sql"])
def test_e1_the_worked_example_tsql_ddl_parses(name):
    text = (EXAMPLE / "sqlserver" / name).read_text(encoding="utf-8")
    statements = sqlglot.parse(text, read="tsql", error_level=sqlglot.ErrorLevel.RAISE)
    assert [s for s in statements if s is not None]


@pytest.mark.parametrize("name", sorted(load_statements(EXAMPLE / "sqlserver" / "statements.sql")))
def test_e1_every_worked_example_tsql_statement_parses(name):
    sql = load_statements(EXAMPLE / "sqlserver" / "statements.sql")[name].replace("{skus}", placeholders(3))
    for query in split_queries(sql):
        sqlglot.parse_one(query, read="tsql", error_level=sqlglot.ErrorLevel.RAISE)


def test_the_worked_example_offers_every_named_statement_in_both_dialects():
    # The worked example's ERP merges customers by hand: no merge_customer (skip = ["customer.merge"]).
    reference = set(load_statements(SQL / "sqlserver" / "statements.sql")) - OPTIONAL - {"merge_customer"}
    for dialect in ("sqlserver", "sqlite"):
        assert set(load_statements(EXAMPLE / dialect / "statements.sql")) == reference, dialect
