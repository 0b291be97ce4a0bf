"""The plugin hooks of jht-bridge. Each function's docstring is its contract.

A plugin is a module or object with functions marked ``@hookimpl`` (``from bridge import
hookimpl``), found through the entry-point group ``jht_bridge`` in its package metadata::

    [project.entry-points.jht_bridge]
    my_erp = "my_erp_plugin"

Built-in plugins (the file-drop connector, the log notifier) are registered the same way,
after outside plugins, so an outside plugin can replace a built-in connector of the same name.
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
def register_notifiers():
    """Return a list of notifiers: objects with a ``name`` attribute and a method
    ``notify(kind: str, payload: dict) -> None`` that delivers a notice to people
    (``notify.new_order`` to a salesperson, ``notify.shipment`` to a customer…). It raises
    ``bridge.connector.TransientError`` / ``PermanentError`` like a connector."""


@hookspec
def adjust_document(kind: str, document: dict, connector_name: str):
    """Change an outgoing document just before the connector gets it (add a field an ERP
    needs, map codes…). Return the new document, or None to leave it. Every plugin's
    adjustment is applied in turn, each to the document the one before returned, in pluggy's
    call order: the plugin registered last runs first (entry-point plugins are registered in
    no set order, so mark a hook ``@hookimpl(tryfirst=True)`` or ``trylast=True`` when the
    order matters: those run before / after all others). The result is what the connector
    gets and what ``outbox preview`` shows."""
