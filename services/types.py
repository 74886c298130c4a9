"""Column types shared by every module's models."""

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Integer

# BIGINT ids on PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer, "sqlite")
UtcDateTime = DateTime(timezone=True)


def utc_from_epoch(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
