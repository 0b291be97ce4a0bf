"""The transactional outbox: every message to the ERP and every notification.

A message is written by ``enqueue`` in the same transaction as the change that caused it, so
the change and the message exist together or not at all. Messages are delivered in ``id``
order per ``ordering_key`` (the customer: its upsert precedes its orders). The dispatcher that
delivers them is built on this table (sync-engine issue).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bridge.models import OutboxMessage

TARGET_ERP = "erp"
TARGET_NOTIFY = "notify"


def customer_key(customer_id: int) -> str:
    """The ordering key of everything about one customer."""
    return f"customer:{customer_id}"


def enqueue(
    session: Session,
    *,
    kind: str,
    ordering_key: str,
    aggregate_type: str,
    aggregate_id: Any,
    payload: dict[str, Any],
    target: str = TARGET_ERP,
) -> OutboxMessage:
    """Add a message to the caller's transaction (never commits)."""
    row = OutboxMessage(
        target=target,
        kind=kind,
        ordering_key=ordering_key,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        payload=payload,
    )
    session.add(row)
    return row
