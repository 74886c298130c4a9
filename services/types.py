"""Column types shared by every module's models."""

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.types import TypeDecorator

# BIGINT ids on PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer, "sqlite")
BIG_ID_MAX = 2**63 - 1


def is_big_id(value: int) -> bool:
    """Whether a URL's integer can be a BigId at all: a larger one would make the database raise, not miss."""
    return 0 < value <= BIG_ID_MAX


class UtcDateTimeType(TypeDecorator):
    """Aware UTC datetimes on every database: SQLite stores no offset, so it is put back on load."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: the platform stores UTC with its offset")
        return value.astimezone(UTC) if value is not None and dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


UtcDateTime = UtcDateTimeType()


def utc_from_epoch(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
