"""Engine and sessions (no Flask here, so workers and the CLI share it)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

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
