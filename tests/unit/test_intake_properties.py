"""Property tests: classify() on hostile bytes, JSON, topics and encodings never raises and gives one clear answer.

Every outcome is exactly one of: an accepted row that satisfies the schema's bounds, a device status,
or a refusal with one Reason and a detail. The same message always gets the same answer.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.topics import DeviceKind
from services.air_quality.schemas import BOUNDS
from services.pipeline.envelope import EARLIEST, MAX_CLOCK_AHEAD
from services.pipeline.intake import (
    DEVICE_STATUSES,
    STATUS,
    Accepted,
    Reason,
    Rejected,
    StatusUpdate,
    classify,
    route,
)
from tests.support.fuzzing import NASTY_STRINGS, air_messages, berth_messages, dumps, fuzz_settings, json_values, level
from tests.unit.test_intake import AIR_TOPIC, BERTH_TOPIC, REGISTRY

MAX_PAYLOAD = 4096
RECEIVED_AT = 1_790_000_000.0
TOPICS = (BERTH_TOPIC, AIR_TOPIC, "heping/devices/S-AQ-1/status", "heping/parking/P-A/P-A-002/state")
OUTCOMES: Counter[str] = Counter()  # what the examples produced, printed at the end (run with -s)


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    print(f"\nintake property examples: {sum(OUTCOMES.values())} outcomes {dict(sorted(OUTCOMES.items()))}")


def check(topic: str, payload: bytes):
    """Classify twice and check every invariant; return the outcome."""
    out = classify(topic, payload, REGISTRY, district="heping", max_payload=MAX_PAYLOAD, received_at=RECEIVED_AT)
    again = classify(topic, payload, REGISTRY, district="heping", max_payload=MAX_PAYLOAD, received_at=RECEIVED_AT)
    assert out == again, "classification must be deterministic"
    if isinstance(out, Rejected):
        assert isinstance(out.reason, Reason) and isinstance(out.detail, str) and out.detail
        assert out.kind in (None, STATUS, *DeviceKind)
        assert out.device_id is None or out.device_id in REGISTRY.by_id
        OUTCOMES[str(out.reason)] += 1
    elif isinstance(out, StatusUpdate):
        assert out.status in DEVICE_STATUSES and out.device_id in REGISTRY.by_id
        OUTCOMES["status"] += 1
    else:
        assert isinstance(out, Accepted), f"unexpected outcome {out!r}"
        check_row(out)
        OUTCOMES[f"accepted:{out.kind}"] += 1
    if len(payload) > MAX_PAYLOAD:
        assert isinstance(out, Rejected) and out.reason is Reason.OVERSIZE
    elif route(topic, "heping") is None:
        assert isinstance(out, Rejected) and out.reason is Reason.BAD_TOPIC
    return out


def check_row(out: Accepted) -> None:
    """An accepted row is what the stores can take: bounded integers, finite plausible numbers, JSON-safe."""
    row = out.row
    device = REGISTRY.by_id[row["device_id"]]
    assert device.active and device.kind == out.kind
    assert 0 <= row["boot"] <= 2**31 - 1 and 1 <= row["seq"] <= 2**31 - 1
    assert type(row["boot"]) is int and type(row["seq"]) is int
    latest = (datetime.now(EARLIEST.tzinfo) + MAX_CLOCK_AHEAD).timestamp()
    assert EARLIEST.timestamp() <= row["observed_at"] <= latest
    assert row["received_at"] == RECEIVED_AT
    if "battery" in row:
        assert math.isfinite(row["battery"]) and 0 <= row["battery"] <= 100
    if "rssi" in row:
        assert type(row["rssi"]) is int and -150 <= row["rssi"] <= 0
    if out.kind is DeviceKind.PARKING_BERTH:
        assert type(row["occupied"]) is bool and row["berth_id"] == device.berth_id
    else:
        measures = {m: row[m] for m in BOUNDS if row.get(m) is not None}
        assert measures, "an air row carries at least one measure"
        for name, value in measures.items():
            low, high = BOUNDS[name]
            assert math.isfinite(value) and low <= value <= high, (name, value)
    json.dumps(row, allow_nan=False)  # what the RQ job and the database get: no NaN, no Infinity


# -- strategies (device messages come from tests/support/fuzzing.py) ----------------------------------
messages = st.tuples(st.just(BERTH_TOPIC), berth_messages) | st.tuples(st.just(AIR_TOPIC), air_messages)
statuses = st.sampled_from([*DEVICE_STATUSES, " online\n", "ONLINE", *NASTY_STRINGS]).map(
    lambda t: t.encode("utf-8", "surrogatepass")
) | json_values.map(lambda v: dumps({"status": v}))


topics = (
    st.sampled_from(TOPICS)
    | st.lists(level, max_size=7).map("/".join)
    | st.builds(lambda *levels: "heping/" + "/".join(levels), level, level, level, level)
    | st.builds(lambda n: "heping/parking/" + "P" * n + "/P-A-001/state", st.integers(200, 70_000))
)


# -- properties ----------------------------------------------------------------------------------------
@fuzz_settings()
@given(topic=st.sampled_from(TOPICS), payload=st.binary(max_size=600))
def test_arbitrary_bytes_never_raise(topic, payload):
    check(topic, payload)


@fuzz_settings()
@given(topic=st.sampled_from(TOPICS), value=json_values)
def test_arbitrary_json_never_raises(topic, value):
    out = check(topic, dumps(value))
    if not isinstance(value, dict):
        assert isinstance(out, Rejected)


@fuzz_settings(max_examples=500)
@given(message=messages)
def test_near_valid_messages_are_accepted_only_within_the_schema(message):
    topic, value = message
    out = check(topic, dumps(value))
    if isinstance(out, Accepted):
        assert not any(isinstance(v, float) and not math.isfinite(v) for v in value.values())


@fuzz_settings()
@given(device=st.sampled_from(["S-AQ-1", "S-P-A-002", "S-NOPE", "", "+", "#"]), payload=statuses)
def test_status_messages_give_a_status_or_a_refusal(device, payload):
    out = check(f"heping/devices/{device}/status", payload)
    assert isinstance(out, StatusUpdate | Rejected)


@fuzz_settings()
@given(topic=topics, message=berth_messages)
def test_arbitrary_topics_are_routed_or_refused(topic, message):
    out = check(topic, dumps(message))
    if isinstance(out, Accepted):
        assert topic == BERTH_TOPIC


@fuzz_settings(max_examples=100)
@given(depth=st.integers(1, 50_000), opener=st.sampled_from(["[", '{"a":']))
def test_deep_nesting_is_refused_not_a_crash(depth, opener):
    closer = "]" if opener == "[" else "}"
    out = check(BERTH_TOPIC, (opener * depth + "1" + closer * depth).encode()[:MAX_PAYLOAD])
    assert isinstance(out, Rejected)


@fuzz_settings(max_examples=100)
@given(
    message=berth_messages,
    encoding=st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"]),
)
def test_wide_encodings_and_byte_order_marks_are_refused(message, encoding):
    out = check(BERTH_TOPIC, json.dumps(message).encode(encoding))
    assert isinstance(out, Rejected) and out.reason in (Reason.ENCODING, Reason.BAD_JSON, Reason.OVERSIZE)


@fuzz_settings(max_examples=100)
@given(
    message=berth_messages,
    text=st.text(st.characters(min_codepoint=0x80, max_codepoint=0x9FFF), min_size=1, max_size=8),
    encoding=st.sampled_from(["latin-1", "cp1252", "gbk", "gb18030", "big5", "shift_jis"]),
)
def test_legacy_encodings_are_refused_when_not_utf8(message, text, encoding):
    try:
        payload = json.dumps(message | {"note": text}, ensure_ascii=False).encode(encoding)
    except UnicodeEncodeError:
        return  # this text has no bytes in that code page
    out = check(BERTH_TOPIC, payload)
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        assert isinstance(out, Rejected) and out.reason is Reason.ENCODING
    else:
        assert isinstance(out, Rejected)  # valid UTF-8 by chance: still refused ("note" is no field)


@fuzz_settings(max_examples=50)
@given(topic=topics, size=st.integers(MAX_PAYLOAD + 1, 300_000), byte=st.binary(min_size=1, max_size=1))
def test_oversize_is_refused_before_anything_else(topic, size, byte):
    out = check(topic, byte * size)
    assert isinstance(out, Rejected) and out.reason is Reason.OVERSIZE


def test_hand_picked_nasties():
    cases = {
        b'{"boot":1,"seq":1,"ts":"2026-11-26T03:00:00Z","occupied":true,"battery":NaN}': Reason.BAD_JSON,
        b'{"boot":1,"seq":1,"ts":"2026-11-26T03:00:00Z","occupied":true,"battery":1e999}': Reason.INVALID,
        b'{"boot":1,"seq":' + b"9" * 5000 + b',"ts":"2026-11-26T03:00:00Z","occupied":true}': Reason.OVERSIZE,
        b'{"boot":1,"seq":' + b"9" * 4000 + b',"ts":"2026-11-26T03:00:00Z","occupied":true}': Reason.INVALID,
        b"\xef\xbb\xbf{}": Reason.BAD_JSON,
        b"[" * 4000 + b"]" * 4: Reason.BAD_JSON,
        dumps({"boot": 1, "seq": 1, "ts": "2026-11-26T03:00:00Z", "occupied": True, "\ud800": 1}): Reason.INVALID,
    }
    for payload, reason in cases.items():
        out = check(BERTH_TOPIC, payload)
        assert isinstance(out, Rejected) and out.reason is reason, (payload[:80], out)
