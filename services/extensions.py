"""Per-app runtime and per-request database session (bound in create_app, never at import)."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from services.runtime import Runtime


def init_app(app: Flask, runtime: Runtime) -> None:
    app.extensions["civic"] = runtime
    app.teardown_appcontext(_close_session)


def runtime() -> Runtime:
    return current_app.extensions["civic"]


def db() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db" not in g:
        g.db = runtime().sessions()
    return g.db


def _close_session(_exc) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()
