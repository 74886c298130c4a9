"""Schemathesis over the app's own OpenAPI description, on the real app (PostgreSQL, Redis).

Every operation but the SSE stream (it never ends) gets valid and invalid requests generated from its
schema, as the public and as a logged-in operator (session cookie + CSRF header). No request may end
in a 5xx or an unhandled exception, and documented responses must match their schemas. Examples are
derandomized and bounded, and the run stops at a time budget; the counts are printed (run with -s).

Then injection strings in every free-text field of a service request are stored verbatim, returned
as JSON text, and rendered escaped by the desk and the resident's track page.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import Phase, given
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from services.accounts.roles import Role
from services.accounts.store import create_user
from services.db import transaction
from tests.support.accounts import PASSWORD, logged_in, operator_client
from tests.support.fuzzing import HTML_INJECTION, SQL_INJECTION, fuzz_settings, profile_name

SKIPPED = {("GET", "/api/v1/events/stream")}  # server-sent events: the response never ends
EXAMPLES_PER_MODE = 8  # per operation, per generation mode (valid and invalid requests)
# Per visitor; operations left when it runs out are reported, and fail the test.
BUDGET_S = 900 if profile_name() == "deep" else 110
CHECKS = [not_a_server_error, response_schema_conformance]


def fuzz(app, session=None) -> tuple[Counter, list[str]]:
    """Run every operation's generated cases; return the counts and the failures (one line each)."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    counts, failures = Counter(), []
    deadline = time.monotonic() + BUDGET_S
    for result in schema.get_all_operations():
        operation = result.ok()
        key = (operation.method.upper(), operation.path)
        if key in SKIPPED:
            counts["operations skipped"] += 1
            continue
        if time.monotonic() > deadline:
            failures.append(f"{' '.join(key)}: not run, time budget of {BUDGET_S}s spent")
            continue
        counts["operations"] += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @fuzz_settings(max_examples=EXAMPLES_PER_MODE, phases=[Phase.explicit, Phase.generate])
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                counts["requests"] += 1
                response = case.call(session=session)
                counts[f"status {response.status_code // 100}xx"] += 1
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:  # nothing in this operation can be made invalid (e.g. only string path parameters)
                counts[f"{mode.value} mode: nothing to generate"] += 1
            except (Exception, BaseExceptionGroup) as exc:  # per failing operation; the message has a curl to rerun
                failures.append(f"{' '.join(key)} [{mode.value}]: {type(exc).__name__}: {str(exc)[:1500]}")
    return counts, failures


def report(visitor: str, counts: Counter, failures: list[str]) -> None:
    print(f"\nschemathesis as {visitor}: {dict(sorted(counts.items()))}")
    assert not failures, "\n\n".join(failures)


def test_every_operation_as_the_public(app):
    counts, failures = fuzz(app)
    report("the public", counts, failures)


def test_every_operation_as_an_operator(app, runtime):
    counts, failures = fuzz(app, operator_client(app, runtime))
    report("an operator", counts, failures)


# -- text fields with SQL and HTML: stored verbatim, returned as text, rendered escaped --------------------
HOSTILE = f"{HTML_INJECTION} {SQL_INJECTION} \"quoted\" & 'single'"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def clerk(app, runtime):
    with transaction(runtime.sessions) as session:
        create_user(session, "fuzz-clerk", Role.STAFF, PASSWORD, "wudadao-01")
    return logged_in(app, "fuzz-clerk")


def test_injection_strings_are_stored_verbatim_and_rendered_escaped(app, clerk, runtime):
    body = {
        "service_code": "EN-STREETLIGHT",
        "description": HOSTILE,
        "address": HOSTILE,
        "resident_name": HOSTILE,
        "resident_phone": "138 0000 1234",
    }
    created = clerk.post("/api/v1/requests", json=body)
    assert created.status_code == 201, created.json
    request_id = created.json["service_request_id"]

    stored = clerk.get(f"/api/v1/requests/{request_id}")
    assert stored.status_code == 200 and stored.mimetype == "application/json"
    for name in ("description", "address", "resident_name"):
        assert stored.json[name] == HOSTILE, name  # verbatim: neither escaped nor stripped in the store

    with runtime.engine.connect() as conn:  # the injection did not run: the tables are all there
        assert conn.exec_driver_sql("SELECT count(*) FROM berth_events").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM service_requests").scalar() == 1

    pages = {
        "desk": clerk.get(f"/desk/requests/{request_id}"),
        "track": app.test_client().get("/track", query_string={"id": request_id}),
        "track (the id itself)": app.test_client().get("/track", query_string={"id": HTML_INJECTION}),
    }
    for name, page in pages.items():
        html = page.get_data(as_text=True)
        assert page.status_code in (200, 404), (name, page.status_code)
        assert HTML_INJECTION not in html, f"{name} page renders the script tag unescaped"
        assert ESCAPED_SCRIPT in html, f"{name} page does not show the text (escaped)"
