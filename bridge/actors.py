"""Who is acting: a customer's account, a salesperson, an admin, the ERP, or the system.

Every state change and audit row records its actor; the state machine decides by ``kind``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.models import ActorKind, AuditLog


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: str | None = None
    """Account id (customer), staff user id (sales/admin), connector name (erp)."""
    customer_id: int | None = None
    """For a customer actor: the customer the account belongs to."""

    @classmethod
    def customer(cls, customer_id: int, account_id: int | None = None) -> Actor:
        return cls(ActorKind.CUSTOMER, None if account_id is None else str(account_id), customer_id)

    @classmethod
    def sales(cls, staff_id: int) -> Actor:
        return cls(ActorKind.SALES, str(staff_id))

    @classmethod
    def admin(cls, staff_id: int | str | None = None) -> Actor:
        return cls(ActorKind.ADMIN, None if staff_id is None else str(staff_id))

    @classmethod
    def erp(cls, connector: str = "erp") -> Actor:
        return cls(ActorKind.ERP, connector)

    @classmethod
    def system(cls, what: str | None = None) -> Actor:
        return cls(ActorKind.SYSTEM, what)

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.id}" if self.id else self.kind.value


CLI_ADMIN = Actor(ActorKind.ADMIN, "cli")
"""An operator at the command line acts with admin rights."""


def audit(session, actor: Actor, action: str, entity: str, entity_id, detail: dict | None = None) -> AuditLog:
    """Record an audited action in the caller's transaction."""
    row = AuditLog(
        actor_kind=actor.kind,
        actor_id=actor.id,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        detail=detail,
    )
    session.add(row)
    return row
