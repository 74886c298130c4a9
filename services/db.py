"""Engine and sessions (no Flask here, so workers and the CLI share it)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Boolean, DateTime, Float, Integer, MetaData, String, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL and a busy timeout so web and workers can share the file."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    # hide_parameters: a failed statement's error (and so the log) never shows the values, e.g. a resident's phone.
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, hide_parameters=True)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]):
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def import_models() -> None:
    """Import every model module so ``Base.metadata`` knows all tables (Alembic, create_all)."""
    from services.accounts import models as _users  # noqa: F401
    from services.air_quality import models as _air  # noqa: F401
    from services.alerts import models as _alerts  # noqa: F401
    from services.audit import models as _audit  # noqa: F401
    from services.devices import accounts as _accounts  # noqa: F401
    from services.devices import models as _devices  # noqa: F401
    from services.district import models as _district  # noqa: F401
    from services.kpi import models as _kpi  # noqa: F401
    from services.parking import models as _parking  # noqa: F401
    from services.pipeline import models as _pipeline  # noqa: F401
    from services.service_requests import models as _requests  # noqa: F401


def insert_ignoring_duplicates(session: Session, model, rows: list[dict], keys: list[str], returning=()):
    """INSERT ... ON CONFLICT (keys) DO NOTHING; returns the rows actually inserted (``returning`` columns).

    This is what makes every write idempotent: a redelivered message or a retried job inserts nothing.
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and _recordset_fits(model.__table__, rows):
        try:
            return _insert_from_json(session, model.__table__, rows, keys, returning)
        except ValueError:  # NaN or infinity, which JSON cannot carry: the general statement below can
            pass
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - we ship for PostgreSQL and SQLite only
        raise RuntimeError(f"unsupported database dialect {dialect}")
    stmt = insert(model).on_conflict_do_nothing(index_elements=keys)
    if returning:
        stmt = stmt.returning(*returning)
        # One multi-row statement (SQLAlchemy "insertmanyvalues"), with RETURNING, on both dialects.
        return session.execute(stmt, rows).all()
    session.execute(stmt, rows)
    return []


JSON_SAFE = (String, Integer, Boolean, Float, DateTime)  # column types whose values JSON carries exactly


def _json_safe(column) -> bool:
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    return isinstance(kind, JSON_SAFE)


def _recordset_fits(table, rows: list[dict]) -> bool:
    """Every row has the same columns, all of plain types (not bytes or documents), and every column left out
    has no default or a constant one (a callable default would have to run per row)."""
    columns = rows[0].keys()
    omitted = [c for c in table.columns if c.key not in columns and c.default is not None]
    return (
        all(_json_safe(table.c[c]) for c in columns)
        and all(c.default.is_scalar and _json_safe(c) for c in omitted)
        and all(r.keys() == columns for r in rows)
    )


def as_json(value):
    """JSON for what json cannot write itself: datetimes (ISO 8601 with their offset, as PostgreSQL reads them)."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@lru_cache(maxsize=64)
def _recordset_statement(table, columns: tuple[str, ...], keys: tuple[str, ...], returning: tuple[str, ...]):
    """One constant statement per table and column set, whose one parameter is the whole batch as JSON.

    The multi-VALUES form has a placeholder per value (3,500 for 500 berth events): a new statement text
    per batch size, parsed again by psycopg every time, and each value adapted in Python. Here the batch
    is one string written by the C JSON encoder and read by PostgreSQL's ``json_to_recordset`` (measured:
    client CPU per 500-row batch 30-49 ms multi-VALUES, 9-11 ms one array per column, 5-8 ms JSON).
    """
    from sqlalchemy.dialects import postgresql

    pg = postgresql.dialect()
    names = [table.c[c].name for c in columns]
    record = ", ".join(f"{name} {table.c[c].type.compile(dialect=pg)}" for name, c in zip(names, columns, strict=True))
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) "
        f"SELECT {', '.join(names)} FROM json_to_recordset(CAST(:batch AS json)) AS batch({record}) "
        f"ON CONFLICT ({', '.join(keys)}) DO NOTHING"
    )
    return text(sql + (f" RETURNING {', '.join(returning)}" if returning else ""))


def _insert_from_json(session: Session, table, rows: list[dict], keys: list[str], returning):
    given = tuple(rows[0])
    defaults = {c.key: c.default.arg for c in table.columns if c.key not in given and c.default is not None}
    statement = _recordset_statement(table, given + tuple(defaults), tuple(keys), tuple(r.key for r in returning))
    rows = [row | defaults for row in rows] if defaults else rows
    batch = json.dumps(rows, default=as_json, ensure_ascii=False, allow_nan=False)
    result = session.execute(statement, {"batch": batch})
    return result.all() if returning else []
