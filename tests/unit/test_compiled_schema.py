"""The compiled fast path never disagrees with its marshmallow schema: whatever it accepts, the schema
accepts with the same result; whatever the schema refuses, it leaves to the schema (Hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields, post_load

from services.air_quality.schemas import BOUNDS, AirReadingMessage
from services.parking.schemas import BerthStateMessage
from services.pipeline.compiled import compile_schema
from tests.support.fuzzing import fuzz_settings

NOW = datetime.now(UTC)
ODD = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(["35.2", "1e3", "", "true", [], {}, 10**400, -(10**400)]),
)  # fmt: skip
TIMES = st.one_of(
    st.datetimes(min_value=datetime(2010, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)).map(
        lambda d: d.isoformat()
    ),
    st.sampled_from([NOW.isoformat(), NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), NOW.strftime("%Y-%m-%dT%H:%M:%S"),
                     "2026-02-30T10:00:00Z", "2026-11-26T25:00:00+08:00", "2026-11-26 10:00:00+08:00",
                     (NOW + timedelta(hours=2)).isoformat(), "2026-11-26T10:00:00+24:00"]),
    ODD,
)  # fmt: skip


def mostly(usual: st.SearchStrategy, other: st.SearchStrategy) -> st.SearchStrategy:
    """Usual values three times in four, so whole messages are often valid and the fast path is exercised."""
    return st.integers(0, 3).flatmap(lambda pick: other if pick == 0 else usual)


RECENT = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 11, 1), timezones=st.just(UTC))


def envelope() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"boot": mostly(st.integers(0, 2**31 - 1), st.one_of(st.integers(-2, 2**31 + 1), ODD)),
         "seq": mostly(st.integers(1, 2**31 - 1), st.one_of(st.integers(-1, 2**31 + 1), ODD)),
         "ts": mostly(RECENT.map(lambda d: d.isoformat()), TIMES)},
        optional={"battery": mostly(st.floats(0, 100), st.one_of(st.floats(-5, 105), ODD)),
                  "rssi": mostly(st.integers(-150, 0), st.one_of(st.integers(-160, 10), ODD))},
    )  # fmt: skip


def measure(name: str):
    low, high = BOUNDS[name]
    usual = st.one_of(st.floats(low, high), st.integers(int(low), int(high)))
    return mostly(usual, st.one_of(st.floats(low - 10, high + 10), st.integers(int(low) - 10, int(high) + 10), ODD))


BERTH_FIELDS = st.fixed_dictionaries({"occupied": mostly(st.booleans(), ODD)}, optional={"extra": ODD})
BERTHS = st.tuples(envelope(), BERTH_FIELDS).map(lambda p: p[0] | p[1])
AIR = st.tuples(envelope(), st.fixed_dictionaries({}, optional={m: measure(m) for m in BOUNDS})).map(
    lambda p: p[0] | p[1]
)


def agrees(schema, data: dict) -> str:
    fast = compile_schema(schema)(data)
    try:
        loaded = schema.load(data)
    except ValidationError:
        assert fast is None, f"the fast path accepted what the schema refuses: {data}"
        return "refused"
    if fast is None:
        return "left to the schema"
    assert fast == loaded and {k: type(v) for k, v in fast.items()} == {k: type(v) for k, v in loaded.items()}
    return "accepted"


@fuzz_settings(max_examples=600)
@given(data=BERTHS)
@example(data={"boot": 1, "seq": 1, "ts": NOW.isoformat(), "occupied": True})
def test_berth_messages(data):
    event(agrees(BerthStateMessage(), data))


@fuzz_settings(max_examples=600)
@given(data=AIR)
@example(data={"boot": 1, "seq": 1, "ts": NOW.isoformat(), "pm25": 35, "pm10": None})
def test_air_readings(data):
    event(agrees(AirReadingMessage(), data))


def test_the_usual_messages_take_the_fast_path():
    berth = {"boot": 1764140000, "seq": 42, "ts": NOW.isoformat(), "occupied": False, "battery": 88.5, "rssi": -70}
    air = {"boot": 3, "seq": 9, "ts": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), "pm25": 35, "pm10": 61.5, "co": 0.6}
    assert agrees(BerthStateMessage(), berth) == "accepted"
    assert agrees(AirReadingMessage(), air) == "accepted"
    assert compile_schema(AirReadingMessage())(air)["pm25"] == 35.0  # a JSON integer loads as a float


def test_schemas_it_cannot_vouch_for_are_not_compiled():
    class Lenient(Schema):
        n = fields.Integer()  # not strict: "35" would load as 35

    class Hooked(Schema):
        class Meta:
            unknown = "raise"

        n = fields.Integer(strict=True)

        @post_load
        def _double(self, data, **_kw):
            return {"n": data["n"] * 2}

    for schema in (Lenient(), Hooked()):
        with pytest.raises(TypeError):
            compile_schema(schema)
