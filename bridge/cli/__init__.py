"""The ``jht-bridge`` command line: set up, diagnose and operate the bridge.

Every command reads the configuration the same way (``--config``, ``$JHT_CONFIG``,
``./etc/bridge.toml``, ``./var/bridge.toml``); a bad configuration or a refused action prints
what is wrong and exits non-zero, never a traceback.

One module per command group (``db``, ``users``, ``customers``, ``products``, ``config``,
``sync``, ``outbox``, ``inbox``, ``notify``, ``service``) and per family of top-level commands (``setup``: init and
check; ``run``: run, serve and worker; ``demo``: demo-data and demo; ``backup``: backup and restore); what they share is in
``_common``. They parse, call the rules in ``bridge`` and print. This module puts them
together, in the order ``--help`` lists them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from bridge import __version__
from bridge.cli import (
    backup,
    config,
    customers,
    db,
    demo,
    inbox,
    notify,
    outbox,
    products,
    run,
    service,
    setup,
    sync,
    users,
)
from bridge.cli._common import State, out

app = typer.Typer(
    name="jht-bridge",
    help="锦亨泰商城 bridge: the mini-program's backend beside the production software (ERP).",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        out.print(f"jht-bridge {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    config: Annotated[
        Optional[Path],
        typer.Option(
            "--config",
            "-c",
            help="Config file. Default: $JHT_CONFIG, then ./etc/bridge.toml, then ./var/bridge.toml.",
            show_default=False,
        ),
    ] = None,
    log_level: Annotated[
        Optional[str],
        typer.Option(help="Override log.level: debug, info, warning or error.", show_default=False),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """锦亨泰商城 bridge: stores the shop's orders, syncs them with the ERP, serves the mini-program.

    Start with `jht-bridge init`, then `jht-bridge demo-data` for a demo catalog, then
    `jht-bridge check`. Settings can be overridden by environment variables named
    JHT_<SECTION>__<KEY>, e.g. JHT_DATABASE__URL or JHT_LOG__LEVEL.
    """
    if log_level and log_level not in ("debug", "info", "warning", "error"):
        raise typer.BadParameter("use debug, info, warning or error", param_hint="--log-level")
    ctx.obj = State(config_path=config, log_level=log_level)


app.command()(setup.init)
app.command()(setup.check)
app.command("demo-data")(demo.demo_data)
app.command()(run.run)
app.command()(run.serve)
app.command()(run.worker)
app.command()(demo.demo)
app.command()(backup.backup)
app.command()(backup.restore)
app.add_typer(db.db_app, name="db")
app.add_typer(users.users_app, name="users")
app.add_typer(customers.customers_app, name="customers")
app.add_typer(products.products_app, name="products")
app.add_typer(config.config_app, name="config")
app.add_typer(sync.sync_app, name="sync")
app.add_typer(outbox.outbox_app, name="outbox")
app.add_typer(inbox.inbox_app, name="inbox")
app.add_typer(notify.notify_app, name="notify")
app.add_typer(service.service_app, name="service")


def main() -> None:
    app()
