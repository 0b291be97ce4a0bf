"""Column types that behave the same on SQLite and PostgreSQL.

- ``ExactDecimal``: exact decimals (money, millimetres, stock) everywhere. SQLite has no exact DECIMAL (it stores REAL and loses
  digits), so there the value is kept as canonical text; PostgreSQL uses NUMERIC.
- ``UTCDateTime``: always timezone-aware UTC in Python, whatever the database gives back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_midnight(day: date, tz: str) -> datetime:
    """The start of ``day`` in the time zone ``tz`` (``[bridge] timezone``), as UTC: where a
    person's "today" or "from 3 May" begins."""
    return datetime.combine(day, time(), ZoneInfo(tz)).astimezone(UTC)


class ExactDecimal(TypeDecorator):
    """Exact decimal with a fixed scale (default: 14 digits, 2 places: money in yuan.fen)."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 14, scale: int = 2):
        super().__init__()
        self.precision = precision
        self.scale = scale

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.precision}, {self.scale})"

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.precision + 2))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value).quantize(Decimal(1).scaleb(-self.scale))
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(value).quantize(Decimal(1).scaleb(-self.scale))


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
