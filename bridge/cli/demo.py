"""The demo: ``demo-data`` (a demo shop in the database) and ``demo`` (the proposal's two
scenarios played against a simulated ERP on the file drop)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bridge.cli._common import check_schema, fail, out, runtime, state, unit_of_work
from bridge.cli.setup import init


def demo_data(
    ctx: typer.Context,
    force: Annotated[
        bool,
        typer.Option("--force", help="Load into a database that already holds real products, customers or orders."),
    ] = False,
) -> None:
    """Load a demo grinding-wheel shop: ~20 standard wheels and 3 custom ones (each granted to
    one customer), a salesperson (sales, 张伟) and an admin (admin) with demo passwords, two
    type-1 and two type-2 customers with addresses, a hidden product, customer prices and
    packaging QR codes.

    Safe to run again: what exists is kept and reported as already there. Refuses a database
    with real data (the demo passwords are public) unless --force."""
    from bridge.actors import CLI_ADMIN
    from bridge.demo import load_demo_data

    with unit_of_work(ctx) as session:
        summary = load_demo_data(session, CLI_ADMIN, force=force)
    table = Table("demo data", "created", "already there")
    for kind in summary.KINDS:
        table.add_row(kind, str(summary.created[kind]), str(summary.existing[kind]))
    out.print(table)
    out.print("demo logins (salesperson and admin API: POST /api/sales/v1/auth/login):")
    for login in summary.logins:
        secret = login.password or "(account existed before: its password was not changed)"
        out.print(f"  {login.role.value:5}  {login.username} / {secret}   {login.display_name}", markup=False)


def demo(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Option(help="Folder to set up when no config is found.")] = Path("var"),
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="Afterwards let the simulated ERP move orders along until Ctrl-C.")
    ] = False,
) -> None:
    """Walk through the proposal's two scenarios with a simulated ERP on the file drop: a
    type-2 customer orders a stocked wheel (等待发货 → payment confirmed → shipped with a tracking
    number → receipt confirmed) and a type-1 customer orders its custom wheel (等待处理 →
    production → two shipments). Sets up FOLDER with demo data first when there is no config."""
    from bridge.config import find_config_file
    from bridge.walkthrough import DemoError, Walkthrough

    st = state(ctx)
    if find_config_file(st.config_path) is None:
        ctx.invoke(init, ctx, folder=folder)
        st.reset(folder.resolve() / "bridge.toml")
        ctx.invoke(demo_data, ctx)
    check_schema(ctx)
    rt = runtime(ctx)
    from bridge.logs import setup_logging

    # The walk-through's own lines tell the story; the loops' log lines only when asked for.
    setup_logging(st.log_level or "warning", rt.config.log.format)
    try:
        with Walkthrough(rt, lambda line: out.print(line, markup=False)) as walk:
            walk.scenario_1()
            walk.scenario_2()
            out.print(
                f"done: see `jht-bridge outbox list`, `jht-bridge inbox list` and the files under {walk.root}",
                markup=False,
            )
            if keep_running:
                out.print("the simulated ERP now moves open orders along by itself; Ctrl-C stops", markup=False)
                walk.keep_running()
    except DemoError as exc:
        fail(str(exc))
    finally:
        rt.engine.dispose()
