"""``config``: the effective configuration."""

from __future__ import annotations

from typing import Any

import typer

from bridge.cli._common import err, out, state

config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective configuration (file + environment), secrets hidden. The connector's
    table is the active connector's only, every key with its value (defaults included); the
    tables of other connectors are named on stderr as not used."""
    import json

    config = state(ctx).config()
    data = config.model_dump(mode="json")
    data["database"]["url"] = config.database.display_url()
    data["connector"], unused = _connector(config)
    out.print(f"# from {config.source or '(defaults: no config file found)'}", markup=False)
    out.print(json.dumps(data, ensure_ascii=False, indent=2), markup=False)
    for name in unused:
        err.print(f"# [connector.{name}] is not used (connector.name = {config.connector.name!r})", markup=False)


def _connector(config) -> tuple[dict[str, Any], list[str]]:
    """``{"name": …, NAME: settings}`` of the active connector, and the other tables' names."""
    from pydantic import BaseModel

    from bridge.config import ConfigError
    from bridge.plugins import connector_classes, connector_settings, make_plugin_manager

    name = config.connector.name
    unused = sorted(set(config.connector.model_extra or {}) - {name})
    cls = connector_classes(make_plugin_manager()).get(name)
    settings: Any = config.connector.settings_for(name)
    if cls is not None:
        try:
            settings = connector_settings(cls, config)
        except ConfigError as exc:
            err.print(f"# [connector.{name}] is not valid (shown as written): {exc}", markup=False)
    if isinstance(settings, BaseModel):
        settings = settings.model_dump(mode="json")
    return {"name": name, name: settings}, unused
