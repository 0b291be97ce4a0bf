"""Test helpers shipped with the package: the connector contract kit and an in-memory connector."""
