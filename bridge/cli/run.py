"""Running the bridge: ``run`` (API and sync loops in one process), ``serve`` (the API only)
and ``worker`` (the sync loops only). The composition root (``bridge.app``) assembles and
serves it; these commands parse the options and report."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from bridge.cli._common import check_schema, fail, out, runtime, state

HostOption = Annotated[
    Optional[str], typer.Option(help="Address to listen on (default: api.host, 127.0.0.1).", show_default=False)
]
PortOption = Annotated[
    Optional[int], typer.Option(help="Port to listen on (default: api.port, 8600).", show_default=False)
]


def run(ctx: typer.Context, host: HostOption = None, port: PortOption = None) -> None:
    """Run the bridge in one process: the HTTP API for the mini-program and salespeople, and
    the ERP sync loops (outbox dispatcher and inbox poller), until Ctrl-C or SIGTERM."""
    _serve(ctx, host, port, api=True, loops=True)


def serve(ctx: typer.Context, host: HostOption = None, port: PortOption = None) -> None:
    """Run only the HTTP API (for several API replicas on PostgreSQL, with `worker` processes
    running the sync loops)."""
    _serve(ctx, host, port, api=True, loops=False)


def worker(ctx: typer.Context) -> None:
    """Run only the sync loops (outbox dispatcher and inbox poller), for a deployment where
    API processes and workers are separate. Several workers may share a PostgreSQL database:
    they split the outbox and elect one inbox poller per connector."""
    _serve(ctx, None, None, api=False, loops=True)


def _serve(ctx: typer.Context, host: Optional[str], port: Optional[int], *, api: bool, loops: bool) -> None:
    from bridge.app import StartupError, serve

    check_schema(ctx)
    state(ctx).log_to_file()
    rt = runtime(ctx)
    try:
        serve(rt, host, port, api=api, loops=loops, say=lambda line: out.print(line, markup=False))
    except StartupError as exc:
        fail(str(exc), code=2)
