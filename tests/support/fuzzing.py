"""Hypothesis settings and hostile values shared by the fuzz tests (intake properties, MQTT, OpenAPI).

Every fuzz run is reproducible: ``derandomize`` seeds Hypothesis from a hash of each test (a fixed
seed per test, the same on every machine) and nothing is read from or written to Hypothesis' example
database. The "ci" profile (CI=true) bounds the number of examples so the fuzz tiers fit CI's time
budget; "dev" is the same, and HYPOTHESIS_PROFILE=deep runs ten times as many examples by hand.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from services.air_quality.schemas import BOUNDS

_COMMON = {
    "derandomize": True,
    "database": None,
    "deadline": 5000,  # ms per example: generous for a shared 2-core machine, still catches a hang
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}
settings.register_profile("ci", max_examples=300, **_COMMON)
settings.register_profile("dev", max_examples=300, **_COMMON)
settings.register_profile("deep", max_examples=3000, **_COMMON)


def profile_name() -> str:
    return os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI", "").lower() == "true" else "dev")


def fuzz_settings(max_examples: int | None = None, **overrides) -> settings:
    """The active profile's settings; ``max_examples`` per test is scaled up tenfold by the deep profile."""
    base = settings.get_profile(profile_name())
    if max_examples is not None:
        overrides["max_examples"] = max_examples * (10 if profile_name() == "deep" else 1)
    return settings(base, **overrides)


# Text that must be stored verbatim and shown escaped wherever it lands.
SQL_INJECTION = "'; DROP TABLE berth_events;--"
HTML_INJECTION = "<script>alert(1)</script>"
NASTY_STRINGS = (
    SQL_INJECTION,
    "' OR '1'='1",
    "1; DELETE FROM dead_letters WHERE 1=1",
    HTML_INJECTION,
    '"><img src=x onerror=alert(1)>',
    "{{7*7}}{% raw %}",
    "\x00\x01\x1b[31m\x7f",
    "\u202e\u200b\ufeff",
    "\ud800",  # a lone surrogate: JSON can carry it (\\ud800), UTF-8 cannot
    "智慧和平 😀",
    "",
    " " * 300,
)


# -- device messages, mostly plausible, each field sometimes hostile --------------------------------------
hostile_text = st.sampled_from(NASTY_STRINGS) | st.text(max_size=40)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**400)  # beyond any float
    | st.floats(allow_nan=True, allow_infinity=True)
    | hostile_text
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4), max_leaves=20
)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
plausible_times = st.datetimes(datetime(2015, 1, 2), datetime(2026, 1, 1), timezones=offsets).map(datetime.isoformat)
odd_times = st.sampled_from(
    ["2026-11-26T03:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-02-30T00:00:00Z", "now"]
) | st.datetimes(timezones=offsets | st.none()).map(datetime.isoformat)
timestamps = st.integers(0, 4).flatmap(lambda i: odd_times if i == 0 else plausible_times)


def field(valid):
    """A plausible value nine times in ten, else anything at all (wrong types, NaN, injection strings)."""
    return st.integers(0, 9).flatmap(lambda i: json_values if i == 0 else valid)


envelope = {
    "boot": field(st.integers(0, 2**31 - 1)),
    "seq": field(st.integers(1, 2**31 - 1)),
    "ts": field(timestamps),
}
optional = {"battery": field(st.floats(-10, 110)), "rssi": field(st.integers(-200, 10))}
berth_messages = st.fixed_dictionaries({**envelope, "occupied": field(st.booleans())}, optional=optional)
air_messages = st.fixed_dictionaries(
    envelope, optional={**optional, **{m: field(st.floats(low - 50, high + 50)) for m, (low, high) in BOUNDS.items()}}
)


def dumps(value) -> bytes:
    """JSON as a careless device writes it: NaN/Infinity tokens allowed, lone surrogates escaped."""
    return json.dumps(value, allow_nan=True).encode()


level = st.text(max_size=12) | st.sampled_from(["+", "#", "", "P-A", "P-A-001", "AQ-1", "S-AQ-1", "..", "%00"])


def draw(strategy: st.SearchStrategy, count: int) -> list:
    """``count`` examples of ``strategy``, the same ones on every run (derandomized, no shrinking)."""
    drawn: list = []

    @settings(derandomize=True, database=None, max_examples=count, phases=[Phase.generate], deadline=None)
    @given(strategy)
    def collect(example):
        drawn.append(example)

    collect()
    return drawn
