"""The bridge on real services: every malformed class is dead-lettered with its reason, nothing stops."""

import json
from datetime import UTC, datetime

import pytest

from tests.support.accounts import operator_client
from tests.support.services import publish, wait_for

BERTH = "heping/parking/P-ZIYANGLI/P-ZIYANGLI-001/state"
AIR = "heping/air/AQ-HEPING-01/reading"


def now_iso():
    return datetime.now(UTC).isoformat()


def berth(seq=1, **over):
    return json.dumps({"boot": 1, "seq": seq, "ts": now_iso(), "occupied": True} | over).encode()


MALFORMED = {
    "bad_json": (BERTH, b'{"boot": 1, "seq": '),
    "encoding": (BERTH, b"\xc3\x28\xa0\xa1"),
    "invalid": (BERTH, json.dumps({"boot": 1, "ts": "2026-11-26T03:00:00Z", "occupied": "yes"}).encode()),
    "out_of_range": (AIR, json.dumps({"boot": 1, "seq": 1, "ts": "2026-11-26T03:00:00Z", "pm25": -500}).encode()),
    "unknown_device": ("heping/parking/P-NOWHERE/P-NOWHERE-001/state", berth()),
    "oversize": (BERTH, b'{"pad": "' + b"x" * 10000 + b'"}'),
    "bad_topic": ("heping/parking/P-ZIYANGLI/state", berth()),
}


@pytest.fixture
def client(app, runtime):
    """Dead letters hold raw device payloads: only operators read and act on them."""
    return operator_client(app, runtime)


def dead_letters(client, **query):
    return client.get("/api/v1/dead-letters", query_string=query | {"limit": 1000}).json


def stored_berth_events(runtime):
    from services.parking.store import count_events

    with runtime.sessions() as session:
        return count_events(session)


@pytest.mark.parametrize("reason", sorted(MALFORMED))
def test_each_malformed_class_is_dead_lettered_and_the_pipeline_goes_on(reason, pipeline, client, runtime):
    topic, payload = MALFORMED[reason]
    assert publish(pipeline["mqtt_url"], [(topic, payload)]) == 1
    page = wait_for(lambda: (p := dead_letters(client))["total"] >= 1 and p, 20, message="a dead letter")
    letter = page["items"][0]
    assert letter["reason"] == reason and letter["detail"]
    assert letter["topic"] == topic
    full = client.get(f"/api/v1/dead-letters/{letter['id']}").json
    assert bytes.fromhex(full["payload_hex"]) == payload[:65536]

    # Still running, still storing.
    assert pipeline["bridge"].alive() and pipeline["worker"].alive()
    publish(pipeline["mqtt_url"], [(BERTH, berth(seq=2))])
    wait_for(lambda: stored_berth_events(runtime) == 1, 20, message="the valid message after it to be stored")


def test_a_redelivered_message_is_stored_once(pipeline, runtime, client):
    message = berth(seq=5)
    publish(pipeline["mqtt_url"], [(BERTH, message), (BERTH, message)])
    publish(pipeline["mqtt_url"], [(BERTH, message)])
    publish(pipeline["mqtt_url"], [(BERTH, berth(seq=6, occupied=False))])
    wait_for(lambda: stored_berth_events(runtime) == 2, 20, message="two distinct events stored")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'civic_rows_duplicate_total{kind="parking_berth"} 2.0' in metrics
    berths = client.get("/api/v1/parking/berths", query_string={"facility_id": "P-ZIYANGLI"}).json
    assert next(b for b in berths if b["id"] == "P-ZIYANGLI-001")["status"] == "free"


def test_a_dead_letter_can_be_requeued_after_the_fix(pipeline, runtime, client):
    from services.db import transaction
    from services.devices.models import Device
    from services.devices.store import publish_registry

    with transaction(runtime.sessions) as session:  # a revoked device's reading is refused...
        session.get(Device, "S-P-ZIYANGLI-001").active = False
    with runtime.sessions() as session:
        publish_registry(session, runtime.redis, runtime.keys)
    wait_for(lambda: _refused_once(pipeline, client), 30, message="the revoked device to be refused")

    with transaction(runtime.sessions) as session:  # ...until it is reinstated; then re-queue stores it
        session.get(Device, "S-P-ZIYANGLI-001").active = True
    with runtime.sessions() as session:
        publish_registry(session, runtime.redis, runtime.keys)
    letter = dead_letters(client, reason="revoked_device")["items"][0]
    response = client.post(f"/api/v1/dead-letters/{letter['id']}/requeue")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "requeued"
    wait_for(lambda: stored_berth_events(runtime) == 1, 20, message="the re-queued message to be stored")
    assert client.post(f"/api/v1/dead-letters/{letter['id']}/requeue").status_code == 409

    assert client.delete("/api/v1/dead-letters", query_string={"status": "requeued"}).json["deleted"] >= 1


def _refused_once(pipeline, client):
    """Publish until the bridge's registry refresh has seen the revocation (it re-reads every 5 s)."""
    if dead_letters(client, reason="revoked_device")["total"]:
        return True
    publish(pipeline["mqtt_url"], [(BERTH, berth(seq=9))])
    return False


def test_readyz_and_metrics_report_the_pipeline(pipeline, client):
    publish(pipeline["mqtt_url"], [(BERTH, berth(seq=1)), MALFORMED["bad_json"]])
    wait_for(lambda: dead_letters(client)["total"] == 1, 20, message="the dead letter")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'civic_mqtt_rejected_total{kind="parking_berth",reason="bad_json"} 1.0' in text
    assert 'civic_mqtt_accepted_total{kind="parking_berth"} 1.0' in text
    assert "civic_queue_depth" in text and "civic_batch_latency_seconds_bucket" in text
