"""Every message class the bridge refuses, and what it accepts."""

import json
import time

import pytest

from config.topics import DeviceKind
from services.pipeline.intake import Accepted, DeviceRef, Reason, Registry, Rejected, StatusUpdate, classify

BERTH_TOPIC = "heping/parking/P-A/P-A-001/state"
AIR_TOPIC = "heping/air/AQ-1/reading"
REGISTRY = Registry(
    [
        ("parking/P-A/P-A-001", DeviceRef("S-P-A-001", "parking_berth", True, "P-A", "P-A-001")),
        ("parking/P-A/P-A-002", DeviceRef("S-P-A-002", "parking_berth", False, "P-A", "P-A-002")),
        ("air/AQ-1", DeviceRef("S-AQ-1", "air_station", True, station_id="AQ-1")),
    ]
)
NOW = "2026-11-26T03:00:00+00:00"


def run(topic, payload, max_payload=4096):
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return classify(topic, raw, REGISTRY, district="heping", max_payload=max_payload, received_at=time.time())


def berth(**over):
    return {"boot": 3, "seq": 7, "ts": NOW, "occupied": True} | over


def test_valid_berth_message_becomes_a_row_for_its_device():
    out = run(BERTH_TOPIC, berth(battery=87.5, rssi=-70))
    assert isinstance(out, Accepted) and out.kind is DeviceKind.PARKING_BERTH
    assert out.row["device_id"] == "S-P-A-001" and out.row["berth_id"] == "P-A-001"
    assert (out.row["boot"], out.row["seq"], out.row["occupied"]) == (3, 7, True)
    assert out.row["battery"] == 87.5


def test_valid_air_message_keeps_only_reported_measures():
    out = run(AIR_TOPIC, {"boot": 1, "seq": 1, "ts": NOW, "pm25": 35.2, "co": 0.9, "humidity": 40})
    assert isinstance(out, Accepted) and out.row["station_id"] == "AQ-1"
    assert out.row["pm25"] == 35.2 and "pm10" not in out.row


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (BERTH_TOPIC, b"{not json", Reason.BAD_JSON),
        (BERTH_TOPIC, b'{"boot":1,"seq":1,"ts":"2026-11-26T03:00:00Z","occupied":NaN}', Reason.BAD_JSON),
        (BERTH_TOPIC, b"[" * 100000 + b"]" * 100000, Reason.OVERSIZE),
        (BERTH_TOPIC, b"\xff\xfe{}", Reason.ENCODING),
        (BERTH_TOPIC, b"[1, 2]", Reason.INVALID),
        (BERTH_TOPIC, {"boot": 1, "ts": NOW, "occupied": True}, Reason.INVALID),  # missing seq
        (BERTH_TOPIC, berth(seq="7"), Reason.INVALID),  # wrong type
        (BERTH_TOPIC, berth(occupied="yes"), Reason.INVALID),
        (BERTH_TOPIC, berth(ts="2026-11-26T03:00:00"), Reason.INVALID),  # no time zone
        (BERTH_TOPIC, berth(extra="<script>"), Reason.INVALID),  # unknown field
        (BERTH_TOPIC, berth(seq=0), Reason.INVALID),
        (BERTH_TOPIC, berth(battery=250), Reason.OUT_OF_RANGE),
        (BERTH_TOPIC, berth(ts="2099-01-01T00:00:00Z"), Reason.OUT_OF_RANGE),
        (AIR_TOPIC, {"boot": 1, "seq": 1, "ts": NOW, "pm25": -500}, Reason.OUT_OF_RANGE),
        (AIR_TOPIC, {"boot": 1, "seq": 1, "ts": NOW, "pm25": 1e9}, Reason.OUT_OF_RANGE),
        (AIR_TOPIC, {"boot": 1, "seq": 1, "ts": NOW}, Reason.INVALID),  # no measure at all
        ("heping/parking/P-A/P-A-999/state", berth(), Reason.UNKNOWN_DEVICE),
        ("heping/parking/P-A/P-A-002/state", berth(), Reason.REVOKED_DEVICE),
        ("heping/parking/P-A/state", berth(), Reason.BAD_TOPIC),
        ("elsewhere/air/AQ-1/reading", berth(), Reason.BAD_TOPIC),
        ("heping/devices/S-NOPE/status", b"online", Reason.UNKNOWN_DEVICE),
        ("heping/devices/S-AQ-1/status", b"sleepy", Reason.INVALID),
    ],
)
def test_refusals_name_their_reason(topic, payload, reason):
    out = run(topic, payload)
    assert isinstance(out, Rejected)
    assert out.reason is reason, out.detail
    assert out.detail


def test_oversize_is_checked_before_parsing():
    out = run(BERTH_TOPIC, berth(), max_payload=10)
    assert isinstance(out, Rejected) and out.reason is Reason.OVERSIZE


def test_status_messages_accept_text_and_json():
    assert run("heping/devices/S-AQ-1/status", b"offline") == StatusUpdate("S-AQ-1", "offline")
    assert run("heping/devices/S-AQ-1/status", b'{"status": "online"}') == StatusUpdate("S-AQ-1", "online")


def test_rejection_keeps_the_device_when_known():
    out = run(BERTH_TOPIC, b"garbage")
    assert out.device_id == "S-P-A-001" and out.kind == DeviceKind.PARKING_BERTH
