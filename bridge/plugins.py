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
    """Apply every plugin's ``adjust_document`` in pluggy's call order (``hookspecs``), each to
    the document the one before returned. A pluggy hook call passes the same arguments to every
    plugin, so each step is its own pluggy call of a subset of the hook holding that one plugin:
    the order is pluggy's, and hook wrappers and ``JHT_TRACE_HOOKS`` see every step."""
    steps = [
        impl.plugin
        for impl in reversed(pm.hook.adjust_document.get_hookimpls())
        if not (impl.wrapper or impl.hookwrapper)
    ]
    for plugin in steps:
        only = pm.subset_hook_caller("adjust_document", remove_plugins=[p for p in steps if p is not plugin])
        for result in only(kind=kind, document=document, connector_name=connector_name):  # pluggy drops None
            document = result
    return document


def missing_operations(cls: type[Connector]) -> list[str]:
    """The contract operations (abstract in ``Connector``) the class does not implement."""
    return sorted(getattr(cls, "__abstractmethods__", ()))


def load_connector(config, pm: pluggy.PluginManager | None = None, *, item_codes=None) -> Connector:
    """An instance of the connector the config names, with its settings validated; a problem
    (an unknown name, a bad setting, an operation the class lacks, a driver not installed) is a
    ConfigError naming the key, like every other config problem.

    The connector's ``Settings`` model (a pydantic model, if it has one) validates its
    ``[connector.NAME]`` table with the context ``base_dir`` (the config file's folder: relative
    paths are relative to it) and ``check_paths=True`` (the bridge is starting from the config:
    a folder or file the settings need may be required to exist now). ``item_codes``
    (``bridge.connector.ItemCodes``) goes into the connector's context."""
    from bridge.config import ConfigError
    from bridge.connector import ConnectorContext
    from bridge.extras import MissingDriver

    pm = pm or make_plugin_manager()
    name = config.connector.name
    classes = connector_classes(pm)
    cls = classes.get(name)
    if cls is None:
        raise ConfigError(
            [f"connector.name: unknown connector {name!r} (available: {', '.join(sorted(classes)) or 'none'})"],
            config.source,
        )
    missing = missing_operations(cls)
    if missing:
        raise ConfigError(
            [
                f"connector.name: connector {name!r} ({cls.__module__}.{cls.__qualname__}) does not implement "
                f"the operation{'s' if len(missing) > 1 else ''} {', '.join(missing)} of bridge.connector.Connector: "
                "its plugin is incomplete"
            ],
            config.source,
        )
    settings = connector_settings(cls, config, check_paths=True)
    try:
        return cls(
            settings,
            ConnectorContext(base_dir=config.base_dir, timezone=config.bridge.timezone, item_codes=item_codes),
        )
    except MissingDriver as exc:
        raise ConfigError([f"connector.name: connector {name!r}: {exc}"], config.source) from None


def connector_settings(cls: type[Connector], config, *, check_paths: bool = False):
    """The ``[connector.NAME]`` table of ``config`` for connector class ``cls``, validated by its
    ``Settings`` model (a pydantic model, if it has one: every key then has its value, defaults
    included), else the table as it is. A bad setting is a ConfigError naming the key.
    ``check_paths``: a folder or file the settings need may be required to exist now."""
    from pydantic import BaseModel, ValidationError

    from bridge.config import ConfigError, _format_errors

    name = config.connector.name
    settings = config.connector.settings_for(name)
    model = getattr(cls, "Settings", None)
    if isinstance(model, type) and issubclass(model, BaseModel):
        try:
            return model.model_validate(settings, context={"base_dir": config.base_dir, "check_paths": check_paths})
        except ValidationError as exc:
            raise ConfigError([f"connector.{name}.{p}" for p in _format_errors(exc)], config.source) from None
    return settings
