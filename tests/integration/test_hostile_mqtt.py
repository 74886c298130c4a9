"""Hostile MQTT traffic through the real broker, bridge and worker: nothing crashes, nothing is lost.

A fixed corpus (a derandomized Hypothesis draw plus hand-picked nasties) is published at once. The
test classifies every message itself with the bridge's own rules and registry, then checks that each
refusal is in the dead-letter store with its reason and raw bytes, each accepted reading is stored
once, the processes and tables survive, and the API hands injection strings back as JSON text.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import func, inspect, select

from services.air_quality.models import AirReading
from services.db import Base, import_models
from services.devices.registry import read_registry
from services.parking.models import BerthEvent
from services.pipeline.intake import Accepted, Rejected, classify
from services.pipeline.models import DeadLetter
from tests.support.accounts import operator_client
from tests.support.fuzzing import (
    HTML_INJECTION,
    NASTY_STRINGS,
    SQL_INJECTION,
    air_messages,
    berth_messages,
    draw,
    dumps,
)
from tests.support.services import publish, wait_for
from workers.bridge import DEAD_LETTER_PAYLOAD_LIMIT

BERTH = "heping/parking/P-ZIYANGLI/P-ZIYANGLI-001/state"
AIR = "heping/air/AQ-HEPING-01/reading"
STATUS = "heping/devices/S-P-ZIYANGLI-001/status"
CORPUS_SIZE = 300

# Topic levels a publisher may legally send: no wildcards, no control characters, surrogates or
# non-characters (Mosquitto drops the client for those, before any bridge sees the message). Only the
# branches the simulator account may write reach the bridge at all.
topic_level = st.sampled_from(NASTY_STRINGS[:6]) | st.text(
    st.characters(blacklist_characters="+#/", blacklist_categories=("Cc", "Cs", "Cn")), max_size=16
)
hostile_topics = st.builds(
    lambda branch, levels: f"heping/{branch}/" + "/".join(levels),
    st.sampled_from(["parking", "air", "devices"]),
    st.lists(topic_level, min_size=1, max_size=4),
)
corpus_strategy = st.one_of(
    st.tuples(st.just(BERTH), berth_messages.map(dumps)),
    st.tuples(st.just(AIR), air_messages.map(dumps)),
    st.tuples(st.just(BERTH), st.binary(max_size=300)),
    st.tuples(hostile_topics, berth_messages.map(dumps)),
)


def every_string_is(text: str) -> dict:
    """A berth message whose every string (the time, and an extra field's name and value) is ``text``."""
    return {"boot": 1, "seq": 1, "ts": text, "occupied": text, text: text}


def hand_picked() -> list[tuple[str, bytes]]:
    now = datetime.now(UTC)
    valid = {"boot": 7, "seq": 1, "ts": now.isoformat(), "occupied": True}
    return [
        (BERTH, b"[" * 10_000 + b"]" * 10_000),  # 10,000 deep: bigger than the payload limit
        (BERTH, b"[" * 2_000 + b"]" * 2_000),  # 2,000 deep within the limit: the parser's recursion guard
        (BERTH, b'{"a":' * 800 + b"1" + b"}" * 800),
        (BERTH, b'{"pad": "' + b"x" * 200_000 + b'"}'),  # past the bridge's limit, within the broker's
        (BERTH, b'{"boot":1,"seq":1,"ts":"2026-11-26T03:00:00Z","occupied":NaN}'),
        (AIR, b'{"boot":1,"seq":1,"ts":"2026-11-26T03:00:00Z","pm25":Infinity}'),
        (AIR, b'{"boot":1,"seq":1,"ts":"2026-11-26T03:00:00Z","pm25":-Infinity}'),
        (AIR, b'{"boot":1,"seq":1,"ts":"2026-11-26T03:00:00Z","pm25":1e999}'),
        (BERTH, json.dumps(valid).encode("utf-16")),  # UTF-16 with its byte-order mark
        (BERTH, json.dumps(valid).encode("utf-16-le")),
        (BERTH, json.dumps(valid).encode("utf-8-sig")),
        (BERTH, json.dumps(valid | {"note": "和平区"}, ensure_ascii=False).encode("gbk")),
        (BERTH, json.dumps(valid | {"note": "café"}, ensure_ascii=False).encode("latin-1")),
        (BERTH, b"\xc3\x28\xa0\xa1\x00\xff"),
        (BERTH, b"\x00" * 64),
        (BERTH, json.dumps(every_string_is(SQL_INJECTION)).encode()),
        (BERTH, json.dumps(every_string_is(HTML_INJECTION)).encode()),
        (BERTH, json.dumps(valid | {"\ud800": "\udfff"}).encode()),  # lone surrogates (escaped in JSON)
        (f"heping/parking/{SQL_INJECTION}/{HTML_INJECTION}/state", json.dumps(valid).encode()),
        (f"heping/devices/{HTML_INJECTION}/status", b"online"),
        (STATUS, HTML_INJECTION.encode()),
        ("heping/parking/" + "P" * 5_000 + "/P-ZIYANGLI-001/state", json.dumps(valid).encode()),
        ("heping/parking//P-ZIYANGLI-001//state", json.dumps(valid).encode()),
        ("heping/air/智慧和平/reading", json.dumps(valid).encode()),
        (BERTH, json.dumps(valid | {"seq": 2, "ts": (now - timedelta(minutes=1)).isoformat()}).encode()),
        (BERTH, json.dumps(valid | {"seq": 2**31}).encode()),
        (STATUS, b"offline"),
    ]


def expected_outcomes(runtime, messages):
    """What the bridge must decide for each message, by its own rules and the registry it reads."""
    registry, s = read_registry(runtime.redis, runtime.keys), runtime.settings
    outcomes = [
        classify(t, p, registry, district=s.district, max_payload=s.bridge_max_payload, received_at=time.time())
        for t, p in messages
    ]
    refused = Counter(
        (t[:512], str(o.reason), p[:DEAD_LETTER_PAYLOAD_LIMIT])
        for (t, p), o in zip(messages, outcomes, strict=True)
        if isinstance(o, Rejected)
    )
    identities = {str(o.kind): set() for o in outcomes if isinstance(o, Accepted)}
    for o in outcomes:
        if isinstance(o, Accepted):
            identities[str(o.kind)].add((o.row["device_id"], o.row["boot"], o.row["seq"]))
    return refused, {kind: len(ids) for kind, ids in identities.items()}, Counter(type(o).__name__ for o in outcomes)


def stored_dead_letters(runtime) -> Counter:
    with runtime.sessions() as session:
        rows = session.execute(select(DeadLetter.topic, DeadLetter.reason, DeadLetter.payload)).all()
    return Counter((topic, reason, bytes(payload)) for topic, reason, payload in rows)


def retried_jobs(runtime) -> list[str]:
    """Jobs that failed (waiting for a retry, or given up): a refused batch would be lost with them."""
    queue = runtime.queue()
    return [*ScheduledJobRegistry(queue=queue).get_job_ids(), *FailedJobRegistry(queue=queue).get_job_ids()]


def count(runtime, model) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_hostile_messages_are_dead_lettered_and_the_pipeline_survives(pipeline, runtime, app):
    drawn = draw(corpus_strategy, CORPUS_SIZE)
    messages = drawn + hand_picked()
    refused, accepted, kinds = expected_outcomes(runtime, messages)
    fingerprint = hashlib.sha256(repr(drawn).encode("utf-8", "surrogatepass")).hexdigest()[:12]
    print(
        f"\nhostile MQTT corpus: {len(drawn)} drawn (sha256 {fingerprint}) + {len(messages) - len(drawn)} hand-picked;"
        f" outcomes {dict(kinds)}; accepted rows {accepted}"
    )
    assert sum(refused.values()) > CORPUS_SIZE // 2 and accepted, "the corpus exercises both paths"

    assert publish(pipeline["mqtt_url"], messages) == len(messages)
    total = sum(refused.values())
    wait_for(lambda: count(runtime, DeadLetter) >= total or retried_jobs(runtime), 60, message=f"{total} dead letters")
    assert not retried_jobs(runtime), pipeline["worker"].output()
    wait_for(lambda: count(runtime, BerthEvent) >= accepted.get("parking_berth", 0), 30, message="berth events")
    wait_for(lambda: count(runtime, AirReading) >= accepted.get("air_station", 0), 30, message="air readings")
    time.sleep(1)  # anything extra would arrive now

    assert stored_dead_letters(runtime) == refused, "each refusal stored once with its reason and raw bytes"
    assert count(runtime, BerthEvent) == accepted.get("parking_berth", 0)
    assert count(runtime, AirReading) == accepted.get("air_station", 0)
    assert pipeline["bridge"].alive(), pipeline["bridge"].output()
    assert pipeline["worker"].alive(), pipeline["worker"].output()
    queue = runtime.queue()
    assert StartedJobRegistry(queue=queue).count == 0, "no job still running"
    import_models()
    assert set(Base.metadata.tables) <= set(inspect(runtime.engine).get_table_names()), "every table still there"

    # The API gives injection strings back as JSON text, verbatim: nothing executed, nothing interpreted.
    response = operator_client(app, runtime).get("/api/v1/dead-letters", query_string={"limit": 1000})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.json["total"] == sum(refused.values())
    texts = [item["payload_text"] for item in response.json["items"]]
    assert any(HTML_INJECTION in t for t in texts) and any(SQL_INJECTION in t for t in texts)
    assert any(HTML_INJECTION in item["topic"] for item in response.json["items"])
    assert HTML_INJECTION in response.get_data(as_text=True)  # literal text inside a JSON string
    details = [item["detail"] for item in response.json["items"]]
    assert any("\\ud800" in d for d in details), "a lone surrogate in a field name is kept as an escape"
    assert any("topic kept: first 512 of 5036 characters" in d for d in details)


def test_a_payload_past_the_brokers_limit_is_refused_by_the_broker_and_nothing_breaks(pipeline, runtime):
    # Mosquitto's max_packet_size (256 KiB) drops a 1 MB publish and its client before the bridge sees it.
    assert publish(pipeline["mqtt_url"], [(BERTH, b"{" + b" " * 1_000_000 + b"}")]) == 0
    now = datetime.now(UTC).isoformat()
    good = json.dumps({"boot": 1, "seq": 1, "ts": now, "occupied": False}).encode()
    assert publish(pipeline["mqtt_url"], [(BERTH, good)]) == 1
    wait_for(lambda: count(runtime, BerthEvent) == 1, 20, message="the next valid message to be stored")
    assert count(runtime, DeadLetter) == 0
    assert pipeline["bridge"].alive() and pipeline["worker"].alive()
