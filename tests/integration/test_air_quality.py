"""Air quality on the real PostgreSQL and Redis: quality codes at ingest, idempotent rollups with the
validity minima, late readings, alerts end to end, the series API and the NGSI-LD output."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from services.accounts.roles import Role
from services.accounts.store import create_user
from services.air_quality.alerting import Liveness, evaluate
from services.air_quality.models import AirDaily, AirDirtyHour, AirHourly, AirReading
from services.air_quality.rollup import day_hours
from services.air_quality.rollups import roll_up_dirty
from services.air_quality.store import record_air_readings
from services.alerts.models import Alert
from services.db import transaction
from tests.support.accounts import PASSWORD, csrf_token, logged_in
from tests.support.events import EventLog
from tests.support.services import SHARED

MICRO, NATIONAL = "AQ-HEPING-04", "AQ-HEPING-01"  # pm25 + pm10 only / all six pollutants
DAY = date(2026, 11, 20)  # a natural day in Asia/Shanghai
HOURS = day_hours(DAY)


class Feed:
    """Readings of one station, each with the next seq, as the bridge hands them to the worker."""

    def __init__(self, station: str):
        self.station, self.seq = station, 0

    def at(self, when: datetime, **values) -> dict:
        self.seq += 1
        return {
            "device_id": f"S-{self.station}",
            "boot": 1,
            "seq": self.seq,
            "station_id": self.station,
            "observed_at": when.timestamp(),
            "received_at": when.timestamp() + 2,
        } | values

    def hours(self, hours, jitter: float = 0.5, **values) -> list[dict]:
        """A reading every five minutes through each of these hours, alternating ±jitter around the values
        (so each hour's mean is exact and a live sensor is not mistaken for a stuck one)."""
        return [
            self.at(h + timedelta(minutes=m), **{k: v + (jitter if m % 10 else -jitter) for k, v in values.items()})
            for h in hours
            for m in range(0, 60, 5)
        ]


def store(runtime, rows):
    with transaction(runtime.sessions) as session:
        return record_air_readings(session, rows)[0]


def roll(runtime):
    with transaction(runtime.sessions) as session:
        return roll_up_dirty(session)


def hourly(runtime, station):
    with runtime.sessions() as session:
        return {h.hour_start: h for h in session.scalars(select(AirHourly).where(AirHourly.station_id == station))}


def daily(runtime, station, day=DAY):
    with runtime.sessions() as session:
        return session.get(AirDaily, (station, day))


def test_hourly_and_daily_means_respect_the_validity_minima(runtime):
    micro, national = Feed(MICRO), Feed(NATIONAL)
    store(runtime, micro.hours(HOURS[:20], pm25=40.0, pm10=70.0))  # 20 full hours
    store(runtime, national.hours(HOURS[:19], pm25=40.0, pm10=70.0))  # 19 full hours
    store(runtime, national.hours(HOURS[19:20], pm25=40.0, pm10=70.0)[:8])  # 40 minutes
    assert roll(runtime) == {"hours": 40, "days": 2}

    hours = hourly(runtime, MICRO)
    first = hours[HOURS[0]]
    assert (first.pm25, first.pm10, first.slots) == (40.0, 70.0, {"pm25": 12, "pm10": 12})
    # HJ 633-2026 real-time AQI: PM2.5 40 -> 60, PM10 70 -> 65; the micro station measures only PM.
    assert (first.aqi, first.aqi_standard, first.primary_pollutants) == (65, "HJ633-2026", ["pm10"])
    assert daily(runtime, MICRO).pm25 == 40.0 and daily(runtime, MICRO).hours["pm25"] == 20

    short_hour = hourly(runtime, NATIONAL)[HOURS[19]]
    assert short_hour.pm25 is None and short_hour.slots["pm25"] == 8  # 40 minutes: not an hourly value
    # The national station measures six pollutants but reported two: an AQI of 65 is published as NA.
    assert hourly(runtime, NATIONAL)[HOURS[0]].aqi is None
    day = daily(runtime, NATIONAL)
    assert day.pm25 is None and day.hours["pm25"] == 19  # reported as invalid, not guessed


def test_rollups_are_idempotent_and_late_readings_reroll_their_hour(runtime):
    feed = Feed(MICRO)
    store(runtime, feed.hours(HOURS[:20], pm25=40.0, pm10=70.0))
    roll(runtime)
    before = {h: (r.pm25, r.aqi) for h, r in hourly(runtime, MICRO).items()}
    assert roll(runtime) == {"hours": 0, "days": 0}  # nothing new, nothing rolled

    # A late reading for hour 3 (a buffered device catching up), between the stored ones.
    late = feed.at(HOURS[3] + timedelta(minutes=2), pm25=66.0, pm10=90.0)
    assert store(runtime, [late]) == 1
    assert store(runtime, [late]) == 0  # redelivered: stored once, marks nothing twice
    assert roll(runtime) == {"hours": 1, "days": 1}
    after = hourly(runtime, MICRO)
    assert after[HOURS[3]].pm25 == pytest.approx((40.0 * 12 + 66.0) / 13)
    assert {h: (r.pm25, r.aqi) for h, r in after.items() if h != HOURS[3]} == {
        h: v for h, v in before.items() if h != HOURS[3]
    }
    assert daily(runtime, MICRO).pm25 == pytest.approx(fmean_of(after, HOURS[:20]))
    with runtime.sessions() as session:
        assert session.scalars(select(AirDirtyHour)).all() == []
        assert session.query(AirHourly).count() == 20  # replaced, never duplicated


def fmean_of(rows, hours):
    return sum(rows[h].pm25 for h in hours) / len(hours)


def test_implausible_readings_are_kept_flagged_and_left_out_of_means(runtime):
    feed = Feed(MICRO)
    rows = feed.hours(HOURS[:1], pm25=40.0, pm10=70.0)
    rows[6]["pm25"], rows[6]["pm10"] = 700.0, 900.0  # one wild reading mid-hour
    rows[8]["pm25"] = 95.0  # PM2.5 above PM10 (70)
    assert store(runtime, rows) == 12
    with runtime.sessions() as session:
        quality = [r.quality for r in session.scalars(select(AirReading).order_by(AirReading.observed_at))]
    assert quality[6] == {"pm25": "spike", "pm10": "spike"}
    assert quality[8] == {"pm25": "inconsistent", "pm10": "inconsistent"}
    assert [q for k, q in enumerate(quality) if k not in (6, 8)] == [None] * 10
    roll(runtime)
    hour = hourly(runtime, MICRO)[HOURS[0]]
    kept = [r for k, r in enumerate(rows) if k not in (6, 8)]
    assert hour.pm25 == pytest.approx(sum(r["pm25"] for r in kept) / 10)
    assert hour.pm10 == pytest.approx(sum(r["pm10"] for r in kept) / 10)
    assert hour.flagged == {"pm25": 2, "pm10": 2}


def put_hourly_aqi(runtime, station, values, last_hour):
    """Hourly rows ending at ``last_hour`` with these AQI values (what the rollup would have written)."""
    with transaction(runtime.sessions) as session:
        for k, aqi in enumerate(reversed(values)):
            session.merge(
                AirHourly(
                    station_id=station,
                    hour_start=last_hour - k * timedelta(hours=1),
                    slots={},
                    flagged={},
                    aqi=aqi,
                    aqi_standard="HJ633-2026",
                    primary_pollutants=[],
                    computed_at=last_hour,
                )
            )


def run_alerts(runtime, now):
    fresh = now.timestamp() - 30
    live = Liveness({f"S-AQ-HEPING-0{k}": fresh for k in range(1, 7)}, {})
    with transaction(runtime.sessions) as session:
        return evaluate(session, runtime.settings, live, now)


@pytest.fixture
def ops_client(app, runtime):
    """An operator of the command centre, logged in through the login form (session + CSRF header)."""
    with transaction(runtime.sessions) as session:
        create_user(session, "ops", Role.OPERATOR, PASSWORD)
        create_user(session, "clerk", Role.STAFF, PASSWORD, "wudadao-01")
    return logged_in(app, "ops")


def test_only_operators_act_on_alerts(app, runtime, ops_client):
    alert_id = 1  # whether it exists is not reached: the role check comes first
    public = app.test_client()
    assert public.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={}).status_code == 400  # no CSRF token
    public.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(public)
    assert public.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={}).status_code == 401
    clerk = logged_in(app, "clerk")
    assert clerk.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={}).status_code == 403
    assert ops_client.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={}).status_code == 404


def test_aqi_alert_lifecycle_history_and_live_events(runtime, ops_client):
    client = ops_client
    now = datetime(2026, 11, 26, 10, 30, tzinfo=UTC)
    last = now.replace(minute=0) - timedelta(hours=1)
    log = EventLog(runtime)

    put_hourly_aqi(runtime, MICRO, [90, 130], last)
    assert run_alerts(runtime, now) == []  # one hour above: not yet
    put_hourly_aqi(runtime, MICRO, [130, 160], last + timedelta(hours=1))
    events = run_alerts(runtime, now + timedelta(hours=1))
    assert [(e["alert_kind"], e["action"], e["severity"]) for e in events] == [("air_aqi", "raised", "critical")]
    alert_id = events[0]["id"]

    put_hourly_aqi(runtime, MICRO, [160, 95], last + timedelta(hours=2))  # dips, but not below 91
    assert run_alerts(runtime, now + timedelta(hours=2)) == []

    response = client.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={"note": "on it"})
    assert response.status_code == 200, response.json
    assert (response.json["state"], response.json["acknowledged_by"]) == ("acknowledged", "ops")
    assert client.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={}).status_code == 409
    assert client.post(f"/api/v1/alerts/{alert_id}/assign", json={"assignee": "ops-1"}).json["assigned_to"] == "ops-1"

    put_hourly_aqi(runtime, MICRO, [95, 80, 70], last + timedelta(hours=4))
    events = run_alerts(runtime, now + timedelta(hours=4))
    assert [(e["id"], e["action"], e["state"]) for e in events] == [(alert_id, "cleared", "cleared")]

    detail = client.get(f"/api/v1/alerts/{alert_id}").json
    assert [(c["action"], c["actor"]) for c in detail["history"]] == [
        ("raised", "system"),
        ("acknowledged", "ops"),
        ("assigned", "ops"),
        ("cleared", "system"),
    ]
    assert client.get("/api/v1/alerts?open=true&kind=air_aqi").json == []
    assert client.get("/api/v1/alerts/999999").status_code == 404

    seen = log.read()
    assert [(e["kind"], e["action"]) for e in seen if e["kind"] == "alert"] == [
        ("alert", "acknowledged"),
        ("alert", "assigned"),
    ]  # the evaluator's own events are published by its RQ job (evaluate returns them)


def test_offline_and_sensor_fault_alerts(runtime):
    now = datetime(2026, 11, 26, 10, 30, tzinfo=UTC)
    with transaction(runtime.sessions) as session:
        events = evaluate(session, runtime.settings, Liveness({}, {}), now)
    assert {(e["alert_kind"], e["source_id"]) for e in events} == {
        ("air_station_offline", f"AQ-HEPING-0{k}") for k in range(1, 7)
    }
    feed = Feed(MICRO)
    stuck = feed.hours([now.replace(minute=0) - timedelta(hours=1)], jitter=0, pm25=33.0, pm10=70.0)
    store(runtime, stuck)
    events = run_alerts(runtime, now)
    kinds = {(e["alert_kind"], e["action"]) for e in events}
    assert ("air_station_offline", "cleared") in kinds and ("air_sensor_fault", "raised") in kinds
    with runtime.sessions() as session:
        fault = session.scalars(select(Alert).where(Alert.kind == "air_sensor_fault")).one()
    assert fault.source_id == MICRO and "pm25" in fault.title_en


def test_series_api_pages_and_exports_csv(runtime, client):
    feed = Feed(MICRO)
    store(runtime, feed.hours(HOURS[:20], pm25=40.0, pm10=70.0))
    roll(runtime)
    start, end = "2026-11-20", "2026-11-21"

    page = client.get(f"/api/v1/air/stations/{MICRO}/series?resolution=hourly&start={start}&end={end}&page_size=5")
    assert page.status_code == 200, page.json
    assert len(page.json) == 5 and json.loads(page.headers["X-Pagination"])["total"] == 20
    assert page.json[0]["hour_start"].startswith("2026-11-19T16:00:00") and page.json[0]["aqi"] == 65

    days = client.get(f"/api/v1/air/stations/{MICRO}/series?resolution=daily&start={start}&end={end}").json
    assert [(d["day"], d["pm25"], d["invalid"]) for d in days] == [("2026-11-20", 40.0, [])]

    raw = client.get(f"/api/v1/air/stations/{MICRO}/series.csv?resolution=raw&start={start}&end={end}")
    lines = raw.get_data(as_text=True).splitlines()
    assert raw.mimetype == "text/csv" and lines[0].startswith("observed_at,received_at,boot,seq,pm25")
    assert len(lines) == 1 + 240

    # A page past the end is empty, however far past (a page beyond PostgreSQL's bigint OFFSET was a 500).
    for far in (5, 4 * 10**17):
        past = client.get(f"/api/v1/air/stations/{MICRO}/series?resolution=hourly&start={start}&end={end}&page={far}")
        assert past.status_code == 200 and past.json == [], (far, past.json)

    assert client.get("/api/v1/air/stations/AQ-NOPE/series").status_code == 404
    bad = client.get(f"/api/v1/air/stations/{MICRO}/series?start=2026-11-21&end=2026-11-20")
    assert bad.status_code == 422 and "start" in json.dumps(bad.json)
    assert client.get(f"/api/v1/air/stations/{MICRO}/series?resolution=raw&start=2026-01-01").status_code == 422
    stations = client.get("/api/v1/air/stations").json
    assert [s["id"] for s in stations] == [f"AQ-HEPING-0{k}" for k in range(1, 7)]


def test_kpi_reports_baseline_target_and_limits(runtime, client):
    body = client.get("/api/v1/air/kpi").json
    rolling = body["rolling_365"]
    assert body["scope"] == "district" and rolling["valid"] is False and rolling["mean"] is None
    assert rolling["baseline"]["value"] == runtime.settings.air_pm25_baseline
    assert rolling["target"] == pytest.approx(runtime.settings.air_pm25_baseline * 0.75)
    assert rolling["limits"]["annual"] in (30, 25)


def test_ngsi_air_quality_observed_passes_the_smart_data_models_schema(runtime, client, tmp_path):
    validator = SHARED / "tools" / "validate_sdm.py"
    if not validator.exists():
        pytest.skip(f"the shared standards folder is absent ({validator}): cannot validate against the schema")
    feed = Feed(NATIONAL)
    now = datetime.now(UTC).replace(microsecond=0)
    values = {"pm25": 40.0, "pm10": 70.0, "so2": 8.0, "no2": 30.0, "o3": 60.0, "co": 0.8, "temperature": -2.5}
    # Every value moves a little from reading to reading: a live sensor, not a stuck one.
    rows = [
        feed.at(now - timedelta(minutes=5 * k), **{m: v + k % 2 / 10 for m, v in values.items()}, humidity=55.0 + k % 2)
        for k in range(12, 0, -1)
    ]
    store(runtime, rows)
    roll(runtime)
    response = client.get("/ngsi-ld/v1/entities?type=AirQualityObserved")
    assert response.status_code == 200
    entities = response.json
    assert [e["id"] for e in entities] == ["urn:ngsi-ld:AirQualityObserved:AQ-HEPING-01"]
    assert entities[0]["relativeHumidity"] == 0.56 and entities[0]["dateObserved"].endswith("Z")
    path = tmp_path / "air.json"
    path.write_text(json.dumps(entities))
    result = subprocess.run([sys.executable, str(validator), str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 invalid" in result.stdout
