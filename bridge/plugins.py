"""The plugin manager: built by ``make_plugin_manager()`` (never at import time), loading
outside plugins from the ``jht_bridge`` entry points first, then the built-in ones.

``JHT_TRACE_HOOKS=1`` logs every hook call with its arguments and results, for field debugging.
"""

from __future__ import annotations

import importlib
import os

import pluggy

from bridge import hookspecs
from bridge.connector import Connector

BUILTIN_PLUGINS = (
    "connectors.filedrop",
    "connectors.odbc",
    "connectors.soap",
    "bridge.notify",
    "bridge.wechat",
)


def make_plugin_manager(*, load_entrypoints: bool = True, extra_plugins: tuple = ()) -> pluggy.PluginManager:
    pm = pluggy.PluginManager("jht_bridge")
    pm.add_hookspecs(hookspecs)
    if load_entrypoints:
        pm.load_setuptools_entrypoints("jht_bridge")
    for plugin in extra_plugins:
        pm.register(plugin)
    for name in BUILTIN_PLUGINS:
        module = importlib.import_module(name)
        if not pm.is_registered(module):
            pm.register(module, name=name)
    if os.environ.get("JHT_TRACE_HOOKS"):
        from bridge.logs import get_logger

        log = get_logger("bridge.plugins")
        pm.add_hookcall_monitoring(
            lambda hook, impls, kw: log.debug("hook call", hook=hook, kwargs=kw),
            lambda outcome, hook, impls, kw: log.debug("hook result", hook=hook, result=repr(outcome.get_result())),
        )
    return pm


def connector_classes(pm: pluggy.PluginManager) -> dict[str, type[Connector]]:
    """Every registered connector by name; the first answer for a name wins. Built-in plugins
    mark their hooks ``trylast``, so an outside plugin can replace a built-in connector."""
    found: dict[str, type[Connector]] = {}
    for classes in pm.hook.register_connectors():
        for cls in classes or ():
            found.setdefault(cls.name, cls)
    return found


def notifiers(pm: pluggy.PluginManager, config, engine) -> dict[str, object]:
    """Every registered notifier by name, each plugin given the bridge's ``config`` and
    ``engine``; the first answer for a name wins (built-in plugins answer last)."""
    found: dict[str, object] = {}
    for items in pm.hook.register_notifiers(config=config, engine=engine):
        for notifier in items or ():
            found.setdefault(notifier.name, notifier)
    return found


def adjust(pm: pluggy.PluginManager, kind: str, document: dict, connector_name: str) -> dict:
    """Apply every plugin's ``adjust_document`` in turn."""
    for impl in pm.hook.adjust_document.get_hookimpls():
        result = impl.function(kind=kind, document=document, connector_name=connector_name)
        if result is not None:
            document = result
    return document


def load_connector(config, pm: pluggy.PluginManager | None = None) -> Connector:
    """An instance of the connector the config names, with its settings validated; a problem
    is a ConfigError naming the key, like every other config problem.

    The connector's ``Settings`` model (a pydantic model, if it has one) validates its
    ``[connector.NAME]`` table with the context ``base_dir`` (the config file's folder: relative
    paths are relative to it) and ``check_paths=True`` (the bridge is starting from the config:
    a folder or file the settings need may be required to exist now)."""
    from pydantic import BaseModel, ValidationError

    from bridge.config import ConfigError, _format_errors
    from bridge.connector import ConnectorContext

    pm = pm or make_plugin_manager()
    name = config.connector.name
    classes = connector_classes(pm)
    cls = classes.get(name)
    if cls is None:
        raise ConfigError(
            [f"connector.name: unknown connector {name!r} (available: {', '.join(sorted(classes)) or 'none'})"],
            config.source,
        )
    settings = config.connector.settings_for(name)
    model = getattr(cls, "Settings", None)
    if isinstance(model, type) and issubclass(model, BaseModel):
        try:
            settings = model.model_validate(settings, context={"base_dir": config.base_dir, "check_paths": True})
        except ValidationError as exc:
            raise ConfigError([f"connector.{name}.{p}" for p in _format_errors(exc)], config.source) from None
    return cls(settings, ConnectorContext(base_dir=config.base_dir))
