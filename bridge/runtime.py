"""Everything a running bridge holds, built once from the config: the database engine, the
plugin manager, the active connector and the notifiers (both from plugins). It is assembled by
the composition root (``bridge.app.open_runtime``); the CLI commands, the sync loops and the
API all work from a ``Runtime``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import pluggy
from sqlalchemy.engine import Engine

from bridge.actors import Actor
from bridge.config import Config
from bridge.connector import Connector
from bridge.diagnose import CachedChecks, Report
from bridge.inbox import InboxPoller
from bridge.outbox import Dispatcher
from bridge.plugins import adjust
from bridge.stock import StockChecker
from bridge.syncstate import admins_only


@dataclass
class Runtime:
    config: Config
    engine: Engine
    pm: pluggy.PluginManager
    connector: Connector
    notifiers: list = field(default_factory=list)
    checks: CachedChecks = field(default_factory=CachedChecks)
    """``jht-bridge check`` for the pages that show it (a few seconds' cache: it asks the ERP)."""

    def health(self, actor: Actor) -> Report:
        """The report of ``jht-bridge check`` on this bridge, at most ``checks.ttl_s`` old, for
        ``actor`` (admins only: it names paths, hosts and the ERP's answers)."""
        admins_only(actor)
        return self.checks(self.config, self.engine)

    def adjust(self, kind: str, document: dict, connector_name: str) -> dict:
        return adjust(self.pm, kind, document, connector_name)

    def dispatcher(self, **kw) -> Dispatcher:
        return Dispatcher(
            self.engine,
            self.connector,
            settings=self.config.outbox,
            notifiers=self.notifiers,
            adjust=partial(adjust, self.pm),
            notify_settings=self.config.notify,
            **kw,
        )

    def poller(self, **kw) -> InboxPoller:
        return InboxPoller(
            self.engine, self.connector, settings=self.config.inbox, status_map=self.config.sync.status_map, **kw
        )

    def stock_checker(self) -> StockChecker:
        return StockChecker.from_config(self.config, self.engine, self.connector)

    def worker(self, **kw):
        from bridge.worker import Worker

        return Worker(
            self.config, self.engine, self.connector, notifiers=self.notifiers, adjust=partial(adjust, self.pm), **kw
        )

    def close(self) -> None:
        self.connector.close()
        self.engine.dispose()
