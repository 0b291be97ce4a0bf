"""The plugin hooks of jht-bridge. Each function's docstring is its contract.

A plugin is a module or object with functions marked ``@hookimpl`` (``from bridge import
hookimpl``), found through the entry-point group ``jht_bridge`` in its package metadata::

    [project.entry-points.jht_bridge]
    my_erp = "my_erp_plugin"

Built-in plugins (the file-drop, ODBC and SOAP connectors, the log and WeChat notifiers) are
registered the same way, after outside plugins, so an outside plugin can replace a built-in
connector or notifier of the same name.

As in pluggy generally, an implementation may take fewer arguments than its spec names (a
``register_notifiers()`` that needs no context is fine); it is called with the ones it names.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("jht_bridge")
hookimpl = pluggy.HookimplMarker("jht_bridge")


@hookspec
def register_connectors():
    """Return a list of ``bridge.connector.Connector`` subclasses this plugin provides.
    The class attribute ``name`` is what ``connector.name`` in the config selects."""


@hookspec
def register_notifiers(config, engine):
    """Return a list of notifiers: objects with a ``name`` attribute and a method
    ``notify(kind: str, payload: dict) -> None`` that delivers a notice to people
    (``notify.new_order`` to a salesperson, ``notify.shipment`` to a customer…). It raises
    ``bridge.connector.TransientError`` / ``PermanentError`` like a connector.

    ``config`` is the bridge's ``bridge.config.Config`` (a notifier reads its own settings
    there) and ``engine`` its database (SQLAlchemy ``Engine``: whom to tell, e.g. a customer's
    WeChat accounts). Return an empty list when the notifier is not configured; raise
    ``bridge.config.ConfigError`` naming the key when it is configured wrongly. The first
    notifier of a name wins (built-ins are asked last)."""


@hookspec
def adjust_document(kind: str, document: dict, connector_name: str):
    """Change an outgoing document just before the connector gets it (add a field an ERP
    needs, map codes…). Return the new document, or None to leave it. Every plugin's
    adjustment is applied in turn, each to the document the one before returned, in pluggy's
    call order: the plugin registered last runs first (entry-point plugins are registered in
    no set order, so mark a hook ``@hookimpl(tryfirst=True)`` or ``trylast=True`` when the
    order matters: those run before / after all others). The result is what the connector
    gets and what ``outbox preview`` shows."""
