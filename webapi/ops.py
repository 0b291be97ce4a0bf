"""Operations endpoints (O3): ``/healthz`` (the process answers), ``/readyz`` (database and
connector usable), ``/metrics`` (Prometheus text: requests, orders placed, outbox depth and
age, dead letters, inbox lag)."""

from __future__ import annotations

import hmac
import threading
import time
from typing import Any

import sqlalchemy as sa
from litestar import Request, Response, get
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlmodel import Session

from bridge.errors import Forbidden, NotSignedIn
from bridge.models import InboxStatus, OutboxStatus
from bridge.syncstate import sync_state
from bridge.types import utcnow
from webapi.auth import is_local


class Metrics:
    """One registry per app, so several apps in one process (tests) do not collide."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "jht_http_requests_total", "HTTP requests answered", ["method", "status"], registry=self.registry
        )
        self.orders_placed = Counter("jht_orders_placed_total", "Orders placed through the API", registry=self.registry)
        self.outbox_depth = Gauge(
            "jht_outbox_pending", "Messages waiting for delivery", ["target"], registry=self.registry
        )
        self.outbox_age = Gauge(
            "jht_outbox_oldest_pending_seconds", "Age of the oldest waiting message", registry=self.registry
        )
        self.dead = Gauge("jht_outbox_dead_letters", "Messages that need a person", registry=self.registry)
        self.inbox_parked = Gauge("jht_inbox_parked", "ERP events waiting for their order", registry=self.registry)
        self.inbox_dead = Gauge("jht_inbox_dead", "ERP events that need a person", registry=self.registry)
        self.inbox_quarantined = Gauge(
            "jht_inbox_quarantined",
            "ERP events (or whole files) refused as unreadable or malformed",
            registry=self.registry,
        )
        self.inbox_lag = Gauge(
            "jht_inbox_last_event_age_seconds", "Time since the last ERP event arrived", registry=self.registry
        )

    def refresh(self, session: Session) -> None:
        now = utcnow()
        state = sync_state(session)
        for target in ("erp", "notify"):
            self.outbox_depth.labels(target).set(state.messages(OutboxStatus.PENDING, target))
        oldest = state.oldest_pending_age(now)
        self.outbox_age.set(oldest.total_seconds() if oldest else 0)
        self.dead.set(state.messages(OutboxStatus.DEAD))
        self.inbox_parked.set(state.events(InboxStatus.PARKED))
        self.inbox_dead.set(state.events(InboxStatus.DEAD))
        self.inbox_quarantined.set(state.events(InboxStatus.QUARANTINED))
        lag = state.last_event_age(now)
        self.inbox_lag.set(lag.total_seconds() if lag else 0)


@get("/healthz", operation_id="healthz", tags=["ops"], sync_to_thread=False)
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


CONNECTOR_CHECK_TTL_S = 10.0
"""/readyz asks the connector at most this often; calls in between get the last answer."""


class ReadyCache:
    def __init__(self):
        self.lock = threading.Lock()
        self.at = float("-inf")
        self.value = "ok"


def _connector_state(request: Request) -> str:
    cache: ReadyCache = request.app.state.ready_cache
    with cache.lock:
        if time.monotonic() - cache.at < CONNECTOR_CHECK_TTL_S:
            return cache.value
        try:
            bad = [f"{line.name}: {line.detail}" for line in request.app.state.runtime.connector.ready() if not line.ok]
            cache.value = "ok" if not bad else "; ".join(bad)
        except Exception as exc:
            cache.value = f"error: {exc}"
        cache.at = time.monotonic()
        return cache.value


@get("/readyz", operation_id="readyz", tags=["ops"], sync_to_thread=True)
def readyz(request: Request) -> Response[dict[str, Any]]:
    """The database answers and the connector can work; 503 otherwise. What failed (which can
    name paths and files) is shown to callers on this machine, or to all with
    ``api.ops_details``; others get the bare status."""
    rt = request.app.state.runtime
    checks: dict[str, Any] = {}
    try:
        with rt.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
    checks["connector"] = _connector_state(request)
    ready = all(v == "ok" for v in checks.values())
    body: dict[str, Any] = {"status": "ready" if ready else "not ready"}
    if rt.config.api.ops_details or is_local(request):
        body["checks"] = checks
    return Response(body, status_code=200 if ready else 503)


def _may_read_metrics(request: Request) -> None:
    """``api.metrics``: local (callers on this machine, not through a proxy), token (a bearer
    token equal to the configured one) or public."""
    api = request.app.state.runtime.config.api
    if api.metrics == "public":
        return
    if api.metrics == "token":
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        expected = api.metrics_secret() or ""
        if (
            scheme.lower() != "bearer"
            or not expected
            or not hmac.compare_digest(given.strip().encode(), expected.encode())
        ):
            raise NotSignedIn(
                "请提供监控令牌", "metrics need the bearer token of api.metrics_token", code="login_required"
            )
        return
    if not is_local(request):
        raise Forbidden("没有权限", "metrics are served to callers on this machine only (api.metrics = local)")


@get("/metrics", operation_id="metrics", tags=["ops"], sync_to_thread=True, include_in_schema=False)
def metrics(request: Request) -> Response[bytes]:
    """Prometheus metrics, to whom ``api.metrics`` allows."""
    _may_read_metrics(request)
    m: Metrics = request.app.state.metrics
    with Session(request.app.state.runtime.engine) as session:
        m.refresh(session)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)


ROUTES = [healthz, readyz, metrics]
