"""The KPI board on real PostgreSQL and Redis: today's snapshot is idempotent, the API shows each KPI's trend."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from services.accounts.roles import SYSTEM
from services.air_quality.models import AirDaily
from services.db import transaction
from services.devices.models import Device
from services.events import bus
from services.kpi.jobs import snapshot_kpis
from services.kpi.models import KpiSnapshot
from services.service_requests import store
from services.service_requests.catalogue import district_catalogue
from services.service_requests.lifecycle import Change, Status
from services.service_requests.stats_range import local_day

NATIONAL = "AQ-HEPING-01"  # a reference station: its daily means make the district's
KPI_IDS = ["smart_berths", "pm25", "requests_within_sla", "sensor_availability"]


def submit(runtime, code: str, at: datetime, resolved_after_h: float) -> None:
    """A request accepted after an hour and resolved ``resolved_after_h`` hours after ``at``."""
    catalogue = district_catalogue(runtime.settings.district_file)
    sub = store.Submission(catalogue.service(code), "王女士", "138 0000 0000", community_id="wudadao-01")
    with transaction(runtime.sessions) as session:
        request = store.submit(session, catalogue, SYSTEM, sub, at)
        for hours, status in ((1, Status.ACCEPTED), (2, Status.IN_PROGRESS), (resolved_after_h, Status.RESOLVED)):
            store.change_status(session, catalogue, SYSTEM, request, Change(status), at + timedelta(hours=hours))


@pytest.fixture
def world(runtime):
    """Ten days of PM2.5 at 40, one request in SLA and one late, every sensor live but one offline, one stale."""
    now = datetime.now(UTC)
    today = local_day(now)
    with transaction(runtime.sessions) as session:
        for n in range(1, 11):
            session.add(AirDaily(station_id=NATIONAL, day=today - timedelta(days=n), pm25=40.0, computed_at=now))
        devices = list(session.scalars(select(Device.id).where(Device.active.is_(True))))
    submit(runtime, "EN-STREETLIGHT", now - timedelta(days=5), 20)  # resolution budget 72 h: met
    submit(runtime, "EN-PARKING-OBSTRUCTION", now - timedelta(days=6), 50)  # budget 24 h: missed
    offline, stale, *live = devices
    runtime.redis.hset(runtime.keys.device_status, mapping={d: "online" for d in live} | {offline: "offline"})
    runtime.redis.hset(
        runtime.keys.last_seen, mapping={d: time.time() for d in (*live, offline)} | {stale: time.time() - 86400}
    )
    return {"devices": len(devices), "now": now}


def snapshots(runtime) -> dict[str, list]:
    with runtime.sessions() as session:
        rows = session.execute(select(KpiSnapshot.kpi_id, KpiSnapshot.day, KpiSnapshot.value)).all()
    out: dict[str, list] = {}
    for kpi_id, day, value in rows:
        out.setdefault(kpi_id, []).append((day, value))
    return out


def test_snapshot_is_one_row_per_kpi_per_day_and_is_announced(runtime, world):
    start = bus.latest_id(runtime.redis, runtime.keys)
    assert snapshot_kpis(runtime, world["now"]) == 4
    first = snapshots(runtime)
    # A sensor comes back: the rerun the same day updates the day's value instead of adding a row.
    runtime.redis.hset(
        runtime.keys.device_status,
        mapping={d.decode(): "online" for d in runtime.redis.hkeys(runtime.keys.device_status)},
    )
    assert snapshot_kpis(runtime, world["now"] + timedelta(seconds=1)) == 4
    again = snapshots(runtime)
    assert sorted(again) == sorted(KPI_IDS) and all(len(rows) == 1 for rows in again.values())
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(KpiSnapshot)) == 4
    total = world["devices"]
    assert first["sensor_availability"][0][1] == pytest.approx(round((total - 2) / total, 4))
    assert again["sensor_availability"][0][1] == pytest.approx(round((total - 1) / total, 4))
    assert first["requests_within_sla"][0][1] == 0.5 and first["pm25"][0][1] == 40.0

    events = [e for _, e in bus.read_after(runtime.redis, runtime.keys, start, block_ms=100) if e["kind"] == "kpi"]
    assert len(events) == 2 and [k["id"] for k in events[-1]["kpis"]] == KPI_IDS


def test_api_shows_value_target_and_trend(runtime, world, client):
    today = local_day(world["now"])
    with transaction(runtime.sessions) as session:
        for ago, value in ((1, 0.5), (3, 0.4), (40, 0.1)):
            recorded = world["now"] - timedelta(days=ago)
            session.add(
                KpiSnapshot(kpi_id="smart_berths", day=today - timedelta(days=ago), value=value, recorded_at=recorded)
            )
    snapshot_kpis(runtime, world["now"])

    body = client.get("/api/v1/kpis").get_json()
    assert datetime.fromisoformat(body["as_of"]) and [k["id"] for k in body["kpis"]] == KPI_IDS
    kpis = {k["id"]: k for k in body["kpis"]}

    berths = kpis["smart_berths"]
    district = client.get("/api/v1/parking/kpis").get_json()["smart_share"]["district"]
    assert berths["value"] == district["share"] and berths["target"] == 0.75 and berths["unit"] == "ratio"
    assert berths["met"] is (district["share"] >= 0.75)
    assert [p["day"] for p in berths["trend"]] == [
        str(today - timedelta(days=3)),
        str(today - timedelta(days=1)),
        str(today),
    ]
    assert berths["trend"][-1]["value"] == berths["value"]

    pm25 = kpis["pm25"]
    target = runtime.settings.air_pm25_baseline * 0.75
    assert pm25["value"] == 40.0 and pm25["unit"] == "µg/m³" and pm25["direction"] == "at_most"
    assert pm25["target"] == pytest.approx(target) and pm25["met"] is (target >= 40.0)
    assert pm25["limit"] in (30, 25) and pm25["detail"]["valid"] is False and pm25["detail"]["valid_days"] == 10

    sla = kpis["requests_within_sla"]
    assert (sla["value"], sla["target"], sla["met"]) == (0.5, 0.9, False)
    assert (sla["detail"]["met"], sla["detail"]["missed"]) == (1, 1)

    sensors = kpis["sensor_availability"]
    total = world["devices"]
    assert sensors["value"] == round((total - 2) / total, 4) and sensors["met"] is (sensors["value"] >= 0.95)
    assert (sensors["detail"]["offline"], sensors["detail"]["stale"]) == (1, 1)
    assert [k["kind"] for k in sensors["detail"]["kinds"]] == ["parking_berth", "air_station"]

    year = client.get("/api/v1/kpis?days=365").get_json()
    assert len({k["id"]: k for k in year["kpis"]}["smart_berths"]["trend"]) == 4
    assert client.get("/api/v1/kpis?days=5").status_code == 422
    assert client.get("/api/v1/kpis?days=366").status_code == 422


def test_no_data_means_no_verdict(runtime, client):
    """Nothing reported yet: PM2.5, SLA and availability have no value, so neither met nor missed."""
    kpis = {k["id"]: k for k in client.get("/api/v1/kpis").get_json()["kpis"]}
    for kpi_id in ("pm25", "requests_within_sla"):
        assert kpis[kpi_id]["value"] is None and kpis[kpi_id]["met"] is None and kpis[kpi_id]["trend"] == []
    assert kpis["sensor_availability"]["value"] == 0.0  # registered sensors, none heard from: all stale
