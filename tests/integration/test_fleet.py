"""Fleet health on real Redis and PostgreSQL: the summary and device list from the registry and the Redis
hashes, and the sweep's live events and per-facility offline alerts."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest
from sqlalchemy import func, select

from services.alerts import store as alert_store
from services.devices.models import Device
from services.events import bus
from services.fleet import alerting
from services.fleet.jobs import sweep
from tests.support.accounts import operator_client

FACILITY = "P-ZIYANGLI"  # 150 berths, all with a sensor, in subdistrict quanyechang
SUBDISTRICT = "quanyechang"
STATION = "AQ-HEPING-01"


def sensor(n: int) -> str:
    return f"S-{FACILITY}-{n:03d}"


@pytest.fixture
def ops(app, runtime):
    return operator_client(app, runtime)


def seen(runtime, ago_s: dict[str, float]) -> None:
    """Record each device's latest message as ``ago_s`` seconds old, as the bridge and workers do."""
    now = time.time()
    runtime.redis.hset(runtime.keys.last_seen, mapping={d: now - s for d, s in ago_s.items()})


def said(runtime, statuses: dict[str, str]) -> None:
    runtime.redis.hset(runtime.keys.device_status, mapping=statuses)


def vitals(runtime, values: dict[str, dict]) -> None:
    runtime.redis.hset(runtime.keys.device_vitals, mapping={d: json.dumps(v) for d, v in values.items()})


def device_count(runtime, **where) -> int:
    with runtime.sessions() as session:
        query = select(func.count()).select_from(Device).where(Device.active.is_(True))
        for name, value in where.items():
            query = query.where(getattr(Device, name) == value)
        return session.scalar(query)


def events(runtime, kind: str) -> list[dict]:
    entries = runtime.redis.xrange(runtime.keys.events_stream)
    return [e for e in (json.loads(fields[bus.FIELD]) for _, fields in entries) if e["kind"] == kind]


def kind_of(summary: dict, kind: str) -> dict:
    return next(k for k in summary["kinds"] if k["kind"] == kind)


def test_the_summary_counts_each_state_per_kind_and_subdistrict(runtime, ops):
    silence = runtime.settings.berth_silence_s
    seen(runtime, {sensor(1): 5, sensor(2): silence + 60, sensor(3): 5, f"S-{STATION}": 30})
    said(runtime, {sensor(1): "online", sensor(3): "offline"})  # 3: its last will, though heard from lately
    vitals(runtime, {sensor(1): {"battery": 12, "rssi": -97, "at": time.time()}, sensor(2): {"battery": 80}})

    response = ops.get("/api/v1/fleet")
    assert response.status_code == 200, response.json
    summary = response.json
    assert datetime.fromisoformat(summary["as_of"]).tzinfo is not None
    assert [k["kind"] for k in summary["kinds"]] == ["parking_berth", "air_station"]

    berths = device_count(runtime, kind="parking_berth")
    parking = kind_of(summary, "parking_berth")
    assert parking == {
        "kind": "parking_berth",
        "timeout_s": silence,
        "total": berths,
        "online": 1,
        "stale": 1,
        "offline": berths - 2,  # the last will and every sensor never heard from
        "availability": round(1 / berths, 4),
        "battery_low": 1,
    }
    air = kind_of(summary, "air_station")
    assert air["timeout_s"] == runtime.settings.air_stale_after_s
    assert (air["total"], air["online"], air["stale"]) == (device_count(runtime, kind="air_station"), 1, 0)
    assert air["offline"] == air["total"] - 1

    places = {s["subdistrict_id"]: s for s in summary["subdistricts"]}
    here = places[SUBDISTRICT]
    assert here["name_zh"] and here["name_en"]
    assert set(here["kinds"]) == {"parking_berth", "air_station"}
    in_place = here["kinds"]["parking_berth"]
    assert in_place["total"] == device_count(runtime, kind="parking_berth", subdistrict_id=SUBDISTRICT)
    assert (in_place["online"], in_place["stale"]) == (1, 1)
    assert in_place["total"] == in_place["online"] + in_place["stale"] + in_place["offline"]
    # Every subdistrict, every kind; together they account for every device.
    for kind in ("parking_berth", "air_station"):
        assert sum(s["kinds"][kind]["total"] for s in summary["subdistricts"]) == kind_of(summary, kind)["total"]
        assert sum(s["kinds"][kind]["online"] for s in summary["subdistricts"]) == kind_of(summary, kind)["online"]


def test_the_device_list_filters_pages_and_puts_the_worst_first(runtime, ops):
    seen(runtime, {sensor(n): 5 for n in range(1, 151)} | {sensor(7): runtime.settings.berth_silence_s + 1})
    said(runtime, {sensor(9): "offline"})
    vitals(runtime, {sensor(1): {"battery": 55.5, "rssi": -80}})

    page = ops.get("/api/v1/fleet/devices", query_string={"facility_id": FACILITY, "page_size": 5})
    assert page.status_code == 200, page.json
    assert json.loads(page.headers["X-Pagination"])["total"] == 150
    assert [(d["device_id"], d["state"]) for d in page.json[:2]] == [(sensor(9), "offline"), (sensor(7), "stale")]
    assert [d["state"] for d in page.json[2:]] == ["online"] * 3

    online = ops.get(
        "/api/v1/fleet/devices", query_string={"state": "online", "facility_id": FACILITY, "page_size": 500}
    ).json
    assert len(online) == 148 and {d["facility_id"] for d in online} == {FACILITY}
    first = next(d for d in online if d["device_id"] == sensor(1))
    assert first["kind"] == "parking_berth" and first["berth_id"] == f"{FACILITY}-001" and first["station_id"] is None
    assert (first["battery"], first["rssi"], first["battery_low"]) == (55.5, -80, False)
    assert first["subdistrict_id"] == SUBDISTRICT and first["lat"] and first["lon"]
    assert 0 <= first["silent_s"] <= 10 and datetime.fromisoformat(first["last_seen"]).tzinfo is not None

    never = ops.get("/api/v1/fleet/devices", query_string={"kind": "air_station", "state": "offline"}).json
    assert never and all(d["kind"] == "air_station" and d["last_seen"] is None for d in never)
    assert all(d["silent_s"] is None and d["status"] is None for d in never)

    assert ops.get("/api/v1/fleet/devices", query_string={"subdistrict_id": "nowhere"}).json == []
    assert ops.get("/api/v1/fleet/devices", query_string={"state": "asleep"}).status_code == 422


def test_fleet_health_is_for_the_command_centre(client):
    assert client.get("/api/v1/fleet").status_code == 401
    assert client.get("/api/v1/fleet/devices").status_code == 401


def facility_alert(runtime):
    with runtime.sessions() as session:
        alert = alert_store.find_open(session, alerting.KIND, alerting.SOURCE, FACILITY)
        return None if alert is None else {c: getattr(alert, c) for c in ("severity", "title_en", "detail", "id")}


def test_the_sweep_alerts_per_facility_and_announces_only_changes(runtime):
    all_fresh = {sensor(n): 1 for n in range(1, 151)}
    seen(runtime, all_fresh)
    first = sweep(runtime)
    assert first["changed"] and facility_alert(runtime) is None  # every Ziyangli sensor online
    fleet_events = events(runtime, "fleet")
    assert len(fleet_events) == 1 and fleet_events[0]["kinds"][0]["online"] == 150

    assert sweep(runtime)["changed"] is False  # nothing changed: no new event
    assert len(events(runtime, "fleet")) == 1

    # One sensor's last will: a warning naming the facility, the count and the device.
    said(runtime, {sensor(4): "offline"})
    assert sweep(runtime)["changed"]
    alert = facility_alert(runtime)
    assert alert["severity"] == "warning" and "1 of 150" in alert["title_en"] and "Ziyangli" in alert["title_en"]
    assert alert["detail"]["device_ids"] == [sensor(4)] and alert["detail"]["offline"] == 1
    raised = [e for e in events(runtime, "alert") if e["source_id"] == FACILITY]
    assert [(e["action"], e["alert_kind"], e["severity"]) for e in raised] == [
        ("raised", "parking_sensors_offline", "warning")
    ]
    assert len(events(runtime, "fleet")) == 2

    # Half of them silent past the timeout: critical, at most 20 ids named, the rest counted.
    seen(runtime, {sensor(n): runtime.settings.berth_silence_s + 30 for n in range(1, 76)})
    sweep(runtime)
    alert = facility_alert(runtime)
    assert alert["severity"] == "critical" and "75 of 150" in alert["title_en"]
    assert alert["detail"]["device_ids"][0] == sensor(4)  # offline before stale
    assert len(alert["detail"]["device_ids"]) == 20 and alert["detail"]["more"] == 55
    assert (alert["detail"]["stale"], alert["detail"]["offline"]) == (74, 1)

    # All back: cleared, and the clearing announced.
    seen(runtime, all_fresh)
    said(runtime, {sensor(4): "online"})
    sweep(runtime)
    assert facility_alert(runtime) is None
    actions = [e["action"] for e in events(runtime, "alert") if e["source_id"] == FACILITY]
    assert actions == ["raised", "updated", "cleared"]


def test_air_stations_get_no_second_offline_alert(runtime):
    sweep(runtime)  # no air station has ever reported
    with runtime.sessions() as session:
        kinds = {(a.kind, a.source_type) for a in alert_store.open_alerts(session)}
    assert (alerting.KIND, alerting.SOURCE) in kinds  # facilities whose sensors never reported
    assert not {k for k in kinds if k[1] == "air_station"}
