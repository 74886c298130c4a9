"""Logging in as the pages do, for tests of session-authenticated APIs."""

from __future__ import annotations

PASSWORD = "correct horse battery staple"


def csrf_token(client) -> str:
    return client.get("/api/v1/requests/me").json["csrf_token"]


def logged_in(app, username: str, password: str = PASSWORD):
    """A client with its own cookie jar, logged in through the real form; sends the CSRF header."""
    client = app.test_client()
    form = {"username": username, "password": password, "csrf_token": csrf_token(client)}
    response = client.post("/login", data=form)
    assert response.status_code == 302, response.text
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
    return client


def operator_client(app, runtime, username: str = "ops"):
    """A test client logged in as a district operator (who may read and act on dead letters), CSRF header set."""
    from services.accounts.roles import Role
    from services.accounts.store import create_user
    from services.db import transaction

    with transaction(runtime.sessions) as session:
        create_user(session, username, Role.OPERATOR, PASSWORD)
    return logged_in(app, username)
