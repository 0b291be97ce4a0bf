"""Test helpers shipped with the bridge, for its own tests and for connector plugins' tests:
``bridge.testing.connector_kit`` is the contract every connector passes."""
