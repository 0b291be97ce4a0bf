"""``config``: the effective configuration."""

from __future__ import annotations

import typer

from bridge.cli._common import out, state

config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective configuration (file + environment), secrets hidden."""
    import json

    config = state(ctx).config()
    data = config.model_dump(mode="json")
    data["database"]["url"] = config.database.display_url()
    out.print(f"# from {config.source or '(defaults: no config file found)'}", markup=False)
    out.print(json.dumps(data, ensure_ascii=False, indent=2), markup=False)
