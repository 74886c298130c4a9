"""Hypothesis over Open311: random forms and queries never get a 5xx, every answer parses in its format,
and a refusal is the spec's error body. Fixed seeds and a bounded budget (tests/support/fuzzing.py)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from services.accounts.api_keys import create_key
from services.accounts.roles import Role
from services.db import transaction
from tests.support.fuzzing import NASTY_STRINGS, fuzz_settings
from tests.support.open311 import errors, read

V2 = "/open311/v2"
TEXT = st.one_of(
    st.sampled_from([s for s in NASTY_STRINGS if "\ud800" not in s]),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=60),
    st.sampled_from(["EN-STREETLIGHT", "EN-GARBAGE", "SS-MEDICAL-ENROL", "HS-PUBLIC-RENTAL", "39.12", "117.2",
                     "-1e309", "NaN", "2026-11-26T10:00:00Z", "bulky", "wudadao-01", "heping.tj.gov.cn"]),
)  # fmt: skip
FIELDS = st.sampled_from(
    ["service_code", "lat", "long", "address_string", "address_id", "description", "first_name", "last_name",
     "phone", "email", "account_id", "device_id", "media_url", "jurisdiction_id", "attribute[insured_count]",
     "attribute[waste_kind][]", "attribute[waste_kind]", "attribute[]", "attribute[[x]]", "api_key"]
)  # fmt: skip
QUERY_FIELDS = st.sampled_from(
    ["service_request_id", "service_code", "status", "start_date", "end_date", "updated_after", "updated_before",
     "page", "page_size", "extensions", "jurisdiction_id", "locale"]
)  # fmt: skip
FORMATS = st.sampled_from(["xml", "json"])
SETTINGS = fuzz_settings(
    max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.fixture
def fuzz_client(runtime):
    from services.app import create_app

    with transaction(runtime.sessions) as session:
        _, key = create_key(session, "fuzz-app", Role.PUBLIC)
    app = create_app(runtime.settings.replace(submission_rate_limit="100000/minute"))
    return app.test_client(), key


def check(response, fmt: str, allowed: set[int]) -> None:
    event(f"HTTP {response.status_code}")  # --hypothesis-show-statistics shows the spread
    assert response.status_code in allowed, (response.status_code, response.data[:300])
    if response.status_code == 200:
        read(response, fmt)  # parses in its format
    else:
        errors(response, fmt)  # the spec's error body, in the requested format


@SETTINGS
@given(form=st.lists(st.tuples(FIELDS, TEXT), max_size=8), fmt=FORMATS, keyed=st.booleans(), valid=st.booleans())
def test_random_posts_are_stored_or_refused_in_the_spec_shape(fuzz_client, form, fmt, keyed, valid):
    client, key = fuzz_client
    base = [("service_code", "EN-STREETLIGHT"), ("address_string", "睦南道 20 号")] if valid else []
    data = base + [(name, value) for name, value in form if name not in {"api_key", *dict(base)} or not keyed]
    if keyed:
        data.append(("api_key", key))
    response = client.post(f"{V2}/requests.{fmt}", data=MultiDict(data))
    check(response, fmt, {200, 400, 403, 404})
    if not keyed:
        assert response.status_code in (403, 404, 400)  # never stored without a key


@SETTINGS
@given(query=st.lists(st.tuples(QUERY_FIELDS, TEXT), max_size=6), fmt=FORMATS)
def test_random_queries_answer_or_refuse_in_the_spec_shape(fuzz_client, query, fmt):
    client, _ = fuzz_client
    for path in ("requests", "servicerequestupdates"):
        check(client.get(f"{V2}/{path}.{fmt}", query_string=MultiDict(query)), fmt, {200, 400, 404})
