"""Sign-in sessions (S1): no token outlives the account or the user it was issued to.

Every login opens a session (``open_session``) and every token of that login names it. A token is
taken only while its session is active (``check_active``): not ended, not lapsed, and still of
the same account or staff user. So ending a session ends its tokens at once, whatever their own
expiry says, and ending every session of an account or user (``end_all``) is how unbinding,
deactivation, a password reset and an admin's "end sessions" take effect.

Refresh tokens rotate (``rotate``): each refresh hands out a new one and only that one may be used
next. A refresh token used a second time was copied — by a thief, or by the owner after the thief
used it first — so the session ends and both lose it. A retry of the same refresh within
``RETRY_GRACE_S`` (its answer lost on a flaky mobile network, or a double tap) is not mistaken for
that: it gets the refresh token the first answer carried.

Session ids are random (128 bits), never a counter, so a token can never name someone else's.
Functions take the caller's ``Session`` and never commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from bridge.errors import NotSignedIn
from bridge.models import AuthSession
from bridge.types import utcnow

RETRY_GRACE_S = 60
"""How long the refresh token just rotated away is still taken once more, as a retry."""
MAX_ACTIVE = 20
"""Sessions one account or user may have at a time; a new login ends the oldest beyond it."""
KEEP_ENDED = timedelta(days=30)
"""Ended and lapsed sessions are kept this long (for people looking at sign-ins), then deleted."""


def new_token_id() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class Subject:
    """Whose session: a customer's account or a staff user (exactly one)."""

    account_id: int | None = None
    staff_id: int | None = None

    def __post_init__(self) -> None:
        if (self.account_id is None) == (self.staff_id is None):
            raise ValueError("a session belongs to an account or to a staff user")

    def where(self) -> sa.ColumnElement[bool]:
        if self.account_id is not None:
            return AuthSession.account_id == self.account_id
        return AuthSession.staff_id == self.staff_id

    def owns(self, row: AuthSession) -> bool:
        return row.account_id == self.account_id and row.staff_id == self.staff_id


def _active(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(AuthSession.revoked_at.is_(None), AuthSession.expires_at > now)


def open_session(
    session: Session, subject: Subject, *, ttl_s: int, client: str | None = None, now: datetime | None = None
) -> AuthSession:
    """A new session for ``subject`` lasting ``ttl_s`` unless refreshed. Tidies up the subject's
    old sessions on the way: long-ended ones are deleted, and the oldest active ones beyond
    ``MAX_ACTIVE`` are ended."""
    now = now or utcnow()
    session.exec(
        sa.delete(AuthSession).where(
            subject.where(),
            sa.or_(AuthSession.revoked_at < now - KEEP_ENDED, AuthSession.expires_at < now - KEEP_ENDED),
        )
    )
    keep = MAX_ACTIVE - 1
    surplus = session.exec(
        select(AuthSession.id)
        .where(subject.where(), _active(now))
        .order_by(AuthSession.refreshed_at.desc(), AuthSession.id)
        .offset(keep)
    ).all()
    if surplus:
        session.exec(
            sa.update(AuthSession)
            .where(AuthSession.id.in_(surplus))
            .values(revoked_at=now, revoked_reason="too many sessions")
        )
    row = AuthSession(
        id=new_token_id(),
        account_id=subject.account_id,
        staff_id=subject.staff_id,
        refresh_jti=new_token_id(),
        created_at=now,
        refreshed_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
        client=(client or "")[:64] or None,
    )
    session.add(row)
    session.flush()
    return row


def check_active(
    session: Session, session_id: str | None, subject: Subject, now: datetime | None = None
) -> AuthSession:
    """The session a token names, if it is active and belongs to ``subject``; else NotSignedIn."""
    return active_row(session.get(AuthSession, session_id) if session_id else None, subject, now)


def active_row(row: AuthSession | None, subject: Subject, now: datetime | None = None) -> AuthSession:
    """``check_active`` of a session row read already (None: there is no such session)."""
    now = now or utcnow()
    if row is None or not subject.owns(row):
        raise NotSignedIn("登录信息无效，请重新登录", "the token's session does not exist", code="session_ended")
    if row.revoked_at is not None:
        raise NotSignedIn("登录已失效，请重新登录", f"session ended ({row.revoked_reason})", code="session_ended")
    if row.expires_at <= now:
        raise NotSignedIn("登录已过期，请重新登录", "session lapsed", code="token_expired")
    return row


def rotate(
    session: Session,
    session_id: str | None,
    jti: str | None,
    subject: Subject,
    *,
    ttl_s: int,
    now: datetime | None = None,
) -> AuthSession | None:
    """Take refresh token ``jti`` of session ``session_id``: the session with a new refresh token
    and a new lapse time. ``None`` when the token had been used already (outside the retry
    grace): the session is then ended here, and the caller commits that and refuses the refresh.
    An ended, lapsed or foreign session raises NotSignedIn."""
    now = now or utcnow()
    row = session.get(AuthSession, session_id, with_for_update=True, populate_existing=True) if session_id else None
    if row is None:
        raise NotSignedIn("登录信息无效，请重新登录", "the token's session does not exist", code="session_ended")
    check_active(session, row.id, subject, now)
    retry = (
        row.previous_jti is not None
        and jti == row.previous_jti
        and now - row.refreshed_at <= timedelta(seconds=RETRY_GRACE_S)
    )
    if retry:
        # The answer to the first use was lost (or both requests of a double tap were sent):
        # hand out the refresh token that answer carried again, so whichever answer the client
        # keeps, its token is the one that works next.
        return row
    if jti != row.refresh_jti:
        row.revoked_at, row.revoked_reason = now, "refresh token reused"
        session.add(row)
        return None
    row.previous_jti = row.refresh_jti
    row.refresh_jti = new_token_id()
    row.refreshed_at = now
    row.expires_at = now + timedelta(seconds=ttl_s)
    session.add(row)
    return row


def end(session: Session, session_id: str, reason: str, now: datetime | None = None) -> bool:
    """End one session (logout); True when it was active."""
    result = session.exec(
        sa.update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow(), revoked_reason=reason[:64])
    )
    return result.rowcount > 0


def end_all(session: Session, subject: Subject, reason: str, now: datetime | None = None) -> int:
    """End every active session of ``subject``; returns how many there were."""
    now = now or utcnow()
    result = session.exec(
        sa.update(AuthSession).where(subject.where(), _active(now)).values(revoked_at=now, revoked_reason=reason[:64])
    )
    return result.rowcount


def active_count(session: Session, subject: Subject, now: datetime | None = None) -> int:
    return session.exec(
        select(sa.func.count()).select_from(AuthSession).where(subject.where(), _active(now or utcnow()))
    ).one()


def last_opened(session: Session, staff_ids) -> dict[int, datetime]:
    """When each of the staff users ``staff_ids`` last signed in (their newest session on record,
    ended or not; ended ones are deleted after ``KEEP_ENDED``). Users with none are left out."""
    ids = [i for i in staff_ids if i]
    if not ids:
        return {}
    rows = session.exec(
        select(AuthSession.staff_id, sa.func.max(AuthSession.created_at))
        .where(AuthSession.staff_id.in_(ids))
        .group_by(AuthSession.staff_id)
    ).all()
    return {staff_id: at for staff_id, at in rows}
