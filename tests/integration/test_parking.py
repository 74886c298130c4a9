"""Parking on the real services: sensor messages through MQTT change berths, and the API, the NGSI-LD
output and the Redis counts follow, with cache == sum of berths == database at every step."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.db import transaction
from services.parking import actions
from services.parking.live import publish_directory, refresh_counts
from services.parking.models import Berth
from services.parking.store import record_berth_events
from tests.support.events import EventLog
from tests.support.services import SHARED, publish, wait_for

FACILITY = "P-ZIYANGLI"
ZIYANGLI = (39.1302, 117.1912)
VALIDATOR = SHARED / "tools/validate_sdm.py"


def berth_id(n: int) -> str:
    return f"{FACILITY}-{n:03d}"


def message(boot: int, seq: int, occupied: bool) -> bytes:
    return json.dumps({"boot": boot, "seq": seq, "ts": datetime.now(UTC).isoformat(), "occupied": occupied}).encode()


def topic(n: int) -> str:
    return f"heping/parking/{FACILITY}/{berth_id(n)}/state"


def event(
    n: int, boot: int, seq: int, occupied: bool, received_at: float | None = None, observed_at: float | None = None
):
    now = time.time()
    return {
        "device_id": f"S-{berth_id(n)}",
        "boot": boot,
        "seq": seq,
        "berth_id": berth_id(n),
        "facility_id": FACILITY,
        "occupied": occupied,
        "observed_at": observed_at or now,
        "received_at": received_at or now,
    }


def ingest(runtime, rows):
    """What the worker's ingest job does, in-process: commit, then recompute the counts."""
    with transaction(runtime.sessions) as session:
        record_berth_events(session, rows)
    refresh_counts(runtime.sessions, runtime.redis, runtime.keys, {r["facility_id"] for r in rows})


def statuses(runtime) -> dict[str, str]:
    with runtime.sessions() as session:
        return dict(session.execute(select(Berth.id, Berth.status)).all())


def assert_consistent(runtime, client) -> dict[str, dict]:
    """Redis counts (via the API) == a count of the berths read one by one from the database."""
    per_berth = Counter()
    with runtime.sessions() as session:
        for facility_id, status in session.execute(select(Berth.facility_id, Berth.status)):
            per_berth[(facility_id, status)] += 1
            per_berth[(facility_id, "total")] += 1
    facilities = {f["id"]: f for f in client.get("/api/v1/parking/facilities").json}
    assert facilities
    for facility_id, f in facilities.items():
        for key in ("total", "free", "occupied", "closed", "unknown"):
            assert f[key] == per_berth[(facility_id, key)], (facility_id, key)
        assert f["total"] == f["free"] + f["occupied"] + f["closed"] + f["unknown"]
        for counts in f["by_category"].values():
            assert counts["total"] == counts["free"] + counts["occupied"] + counts["closed"] + counts["unknown"]
        assert sum(c["total"] for c in f["by_category"].values()) == f["total"]
    return facilities


def ngsi(client, entity_type: str) -> list[dict]:
    entities, offset = [], 0
    while True:
        page = client.get("/ngsi-ld/v1/entities", query_string={"type": entity_type, "limit": 1000, "offset": offset})
        assert page.status_code == 200, page.json
        entities += page.json
        if len(page.json) < 1000:
            return entities
        offset += 1000


def spot(client, n: int) -> dict:
    return next(e for e in ngsi(client, "ParkingSpot") if e["id"] == f"urn:ngsi-ld:ParkingSpot:{berth_id(n)}")


# --- the whole path: MQTT -> bridge -> worker -> DB + Redis -> API / NGSI-LD ----------------------------


def test_sensor_messages_move_berths_and_every_view_follows(pipeline, runtime, client):
    publish_directory(runtime.sessions, runtime.redis, runtime.keys)
    assert_consistent(runtime, client)
    before = client.get(f"/api/v1/parking/facilities/{FACILITY}").json
    assert before["unknown"] == before["total"] == 150  # nothing has reported yet

    # Berth 1: occupied then free, with a duplicate and a late (older) copy; berth 2 occupied; berth 3 free.
    messages = [
        (topic(1), message(1, 1, True)),
        (topic(1), message(1, 2, False)),
        (topic(1), message(1, 2, False)),  # duplicate
        (topic(1), message(1, 1, True)),  # out of order: older than what is held
        (topic(2), message(1, 1, True)),
        (topic(3), message(1, 1, False)),
    ]
    assert publish(pipeline["mqtt_url"], messages) == len(messages)

    def settled():
        f = client.get(f"/api/v1/parking/facilities/{FACILITY}").json
        return f["free"] == 2 and f["occupied"] == 1 and f

    facility = wait_for(settled, 30, message="ZIYANGLI counts to show 2 free, 1 occupied")
    assert facility["unknown"] == 147
    assert client.get(f"/api/v1/parking/berths/{berth_id(1)}").json["status"] == "free"
    assert client.get(f"/api/v1/parking/berths/{berth_id(2)}").json["status"] == "occupied"
    assert_consistent(runtime, client)

    # Nearby (Redis GEO) sees it, nearest first, with the availability filter.
    near = client.get("/api/v1/parking/nearby", query_string={"lat": ZIYANGLI[0], "lon": ZIYANGLI[1], "radius": 300})
    assert near.status_code == 200 and near.json[0]["id"] == FACILITY and near.json[0]["distance_m"] < 5
    assert [f["distance_m"] for f in near.json] == sorted(f["distance_m"] for f in near.json)
    free_only = client.get(
        "/api/v1/parking/nearby",
        query_string={"lat": ZIYANGLI[0], "lon": ZIYANGLI[1], "radius": 5000, "available": "true"},
    ).json
    assert [f["id"] for f in free_only] == [FACILITY]  # the only facility with a free berth so far

    # NGSI-LD shows the same.
    assert spot(client, 1)["status"] == "free" and spot(client, 2)["status"] == "occupied"
    site = next(e for e in ngsi(client, "OffStreetParking") if e["id"] == f"urn:ngsi-ld:OffStreetParking:{FACILITY}")
    assert (site["availableSpotNumber"], site["occupiedSpotNumber"], site["totalSpotNumber"]) == (2, 1, 150)
    assert site["occupancyDetectionType"] == ["singleSpaceDetection"]

    # The sensor of berth 2 goes offline (its last will): the sweep makes the berth unknown, not stale.
    assert publish(pipeline["mqtt_url"], [(f"heping/devices/S-{berth_id(2)}/status", b"offline")]) == 1
    wait_for(lambda: runtime.redis.hget(runtime.keys.device_status, f"S-{berth_id(2)}") == b"offline", 20)
    assert [c["berth_id"] for c in actions.sweep(runtime)] == [berth_id(2)]
    assert client.get(f"/api/v1/parking/berths/{berth_id(2)}").json["status"] == "unknown"
    assert spot(client, 2)["status"] == "unknown"
    assert client.get(f"/api/v1/parking/facilities/{FACILITY}").json["occupied"] == 0
    assert_consistent(runtime, client)

    # Back online, its next message makes the berth known again.
    publish(
        pipeline["mqtt_url"], [(f"heping/devices/S-{berth_id(2)}/status", b"online"), (topic(2), message(1, 2, True))]
    )
    wait_for(lambda: statuses(runtime)[berth_id(2)] == "occupied", 30, message="berth 2 to be known again")
    wait_for(lambda: client.get(f"/api/v1/parking/facilities/{FACILITY}").json["occupied"] == 1, 10)
    assert_consistent(runtime, client)

    # Closed by an operator: sensor messages keep it closed.
    assert actions.set_closed(runtime, berth_id(3), True)["status"] == "closed"
    publish(pipeline["mqtt_url"], [(topic(3), message(1, 2, True))])
    wait_for(lambda: client.get(f"/api/v1/parking/berths/{berth_id(3)}").json["seq"] == 2, 30)
    assert client.get(f"/api/v1/parking/berths/{berth_id(3)}").json["status"] == "closed"
    assert spot(client, 3)["status"] == "closed"
    assert client.get(f"/api/v1/parking/facilities/{FACILITY}").json["closed"] == 1
    assert actions.set_closed(runtime, berth_id(3), False)["status"] == "occupied"  # its sensor's fresh word
    assert_consistent(runtime, client)


def test_facility_count_changes_are_live_events(runtime):
    publish_directory(runtime.sessions, runtime.redis, runtime.keys)
    log = EventLog(runtime)
    ingest(runtime, [event(1, 1, 1, True)])
    ingest(runtime, [event(1, 1, 1, True)])  # redelivered: no change, no event
    facility_events = [e for e in log.read("parking_facility") if e["facility_id"] == FACILITY]
    assert len(facility_events) == 1, log.read()
    assert facility_events[0]["occupied"] == 1 and facility_events[0]["unknown"] == 149


# --- silence, the counts cache, directory rebuild -------------------------------------------------------


def test_a_silent_sensor_becomes_unknown_and_a_fresh_one_does_not(runtime, client):
    long_ago = time.time() - runtime.settings.berth_silence_s - 60
    ingest(runtime, [event(1, 1, 1, True, received_at=long_ago), event(2, 1, 1, False)])
    changes = actions.sweep(runtime)
    assert [(c["berth_id"], c["previous"], c["status"]) for c in changes] == [(berth_id(1), "occupied", "unknown")]
    assert statuses(runtime)[berth_id(2)] == "free"
    assert actions.sweep(runtime) == []  # nothing more to do
    assert_consistent(runtime, client)


def test_a_lost_redis_directory_is_rebuilt_from_the_database(runtime, client):
    ingest(runtime, [event(1, 1, 1, True)])
    runtime.redis.delete(runtime.keys.parking_geo, runtime.keys.parking_facilities, runtime.keys.parking_counts)
    near = client.get("/api/v1/parking/nearby", query_string={"lat": ZIYANGLI[0], "lon": ZIYANGLI[1], "radius": 100})
    assert [f["id"] for f in near.json] == [FACILITY] and near.json[0]["occupied"] == 1
    assert_consistent(runtime, client)


# --- API: validation, filters, history, CSV, statistics, KPIs, GeoJSON ---------------------------------


def test_nearby_validates_and_filters_by_category(runtime, client):
    bad = client.get("/api/v1/parking/nearby", query_string={"lat": 120, "lon": 117.19})
    assert bad.status_code == 422 and "lat" in bad.json["errors"]["query"]
    assert client.get("/api/v1/parking/nearby", query_string={"lat": 39.12}).status_code == 422
    assert client.get("/api/v1/parking/facilities/P-NOWHERE").status_code == 404
    # Loading bays: only facilities that have some.
    near = client.get(
        "/api/v1/parking/nearby", query_string={"lat": 39.1244, "lon": 117.1981, "radius": 5000, "category": "loading"}
    ).json
    assert near and all(f["by_category"]["loading"]["total"] > 0 for f in near)
    assert FACILITY not in {f["id"] for f in near}
    assert client.get(f"/api/v1/parking/berths/{berth_id(1)}").json["category"] == "disabled"  # reserved from 001


def test_history_csv_and_statistics(runtime, client):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    base = start.timestamp()
    # Berth 1: free, arrives 30 min later, leaves after 20 min; berth 2 occupied throughout.
    ingest(runtime, [event(1, 1, 1, False, observed_at=base), event(2, 1, 1, True, observed_at=base)])
    actions.snapshot(runtime, start)
    ingest(runtime, [event(1, 1, 2, True, observed_at=base + 1800)])
    actions.snapshot(runtime, start + timedelta(minutes=35))
    ingest(runtime, [event(1, 1, 3, False, observed_at=base + 3000), event(1, 1, 4, False, observed_at=base + 3600)])
    actions.snapshot(runtime, start + timedelta(minutes=65))

    history = client.get("/api/v1/parking/history", query_string={"facility_id": FACILITY, "hours": 3}).json
    assert sum(h["samples"] for h in history["hours"]) == 3
    assert all(h["total"] == 150 for h in history["hours"])

    csv = client.get("/api/v1/parking/history.csv", query_string={"facility_id": FACILITY, "hours": 3})
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).strip().splitlines()
    assert lines[0] == "facility_id,taken_at_utc,total,free,occupied,closed,unknown" and len(lines) == 4
    assert lines[2].startswith(f"{FACILITY},") and lines[2].endswith(",150,0,2,0,148")

    stats = client.get("/api/v1/parking/stats", query_string={"facility_id": FACILITY, "hours": 3}).json
    assert stats["berths_reporting"] == 2 and stats["arrivals"] == 1 and stats["departures"] == 1
    assert stats["mean_dwell_minutes"] == 20.0
    assert len(stats["arrivals_by_hour"]) == 24 and len(stats["peak_hours"]) == 1
    assert client.get("/api/v1/parking/stats", query_string={"facility_id": "P-NOWHERE"}).status_code == 404


def test_kpis_against_the_plan(runtime, client, district):
    ingest(runtime, [event(1, 1, 1, True)])
    actions.set_closed(runtime, berth_id(5), True)
    kpis = client.get("/api/v1/parking/kpis").json
    smart = kpis["smart_share"]
    assert smart["target"] == 0.75
    assert smart["district"]["berths"] == len(district.berths)
    sensors = sum(b["smart"] for b in district.berths)
    barrier = sum(
        1
        for b in district.berths
        if not b["smart"] and next(f for f in district.facilities if f["id"] == b["facility_id"])["barrier"]
    )
    assert smart["district"]["smart_managed"] == sensors + barrier
    assert set(smart["subdistricts"]) == {s["id"] for s in district.subdistricts}
    years = {y["year"]: y["berths"] for y in kpis["off_street_added"]["years"]}
    assert years[2016] == 50 + 200 and years[2017] == 260 + 150  # Guizhou Road + Anshan Road; Xiaobailou + Weijin Road
    assert kpis["off_street_added"]["new_car_parks"]["target"] == 11
    assert kpis["known_share"]["district"]["known"] == 2  # one reported, one closed


def test_geojson_feature_collection(runtime, client, district):
    response = client.get("/api/v1/parking/facilities.geojson")
    assert response.mimetype == "application/geo+json"
    collection = response.json
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == len(district.facilities)
    feature = next(f for f in collection["features"] if f["id"] == FACILITY)
    assert feature["geometry"] == {"type": "Point", "coordinates": [ZIYANGLI[1], ZIYANGLI[0]]}
    assert feature["properties"]["total"] == 150


# --- standards: every NGSI-LD entity passes the Smart Data Models validator ------------------------------


def test_ngsi_ld_output_passes_the_smart_data_models_validator(runtime, client, tmp_path):
    if not VALIDATOR.exists():
        pytest.skip(f"the shared standards folder is absent ({VALIDATOR} not found): cannot validate NGSI-LD output")
    ingest(runtime, [event(1, 1, 1, True), event(2, 1, 1, False)])
    actions.set_closed(runtime, berth_id(3), True)
    files = []
    for entity_type in ("ParkingSpot", "OffStreetParking", "OnStreetParking"):
        entities = ngsi(client, entity_type)
        assert entities and all(e["@context"] and e["type"] == entity_type for e in entities)
        path = tmp_path / f"{entity_type}.json"
        path.write_text(json.dumps(entities, ensure_ascii=False))
        files.append(str(path))
    result = subprocess.run([sys.executable, str(VALIDATOR), *files], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert result.stdout.strip().endswith("0 invalid")
