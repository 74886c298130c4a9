"""Raw-data retention on the real PostgreSQL: old raw rows of rolled-up hours go, in bounded batches;
hours not rolled up, recent rows and each station's newest reading stay; rollups and KPIs do not move,
not even when a straggler arrives later for a purged hour."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, func, select

from services.air_quality.measures import MEASURES
from services.air_quality.models import AirDaily, AirDirtyHour, AirHourly, AirReading
from services.air_quality.queries import pm25_kpi_report
from services.air_quality.rollup import HOUR, day_hours, hour_start, local_day
from services.air_quality.rollups import roll_up_dirty
from services.air_quality.store import record_air_readings
from services.db import transaction
from services.parking.models import Berth, BerthEvent
from services.parking.store import record_berth_events
from services.retention import purge
from services.retention.policy import cutoff
from services.retention.purge import run_retention
from tests.support.services import ROOT

NATIONAL, MICRO = "AQ-HEPING-01", "AQ-HEPING-04"
BERTH = "P-ZIYANGLI-001"
NOW = datetime.now(UTC)
OLD_DAY = day_hours(local_day(NOW - timedelta(days=100)))  # a whole local day, well past the default 90 days
RECENT = hour_start(NOW - timedelta(hours=3))


def readings(station: str, hours: list[datetime], boot: int, first_seq: int) -> list[dict]:
    """A reading every five minutes through each hour (12 an hour: a valid hourly mean)."""
    times = [h + timedelta(minutes=m) for h in hours for m in range(0, 60, 5)]
    return [
        {
            "device_id": f"S-{station}",
            "boot": boot,
            "seq": first_seq + i,
            "station_id": station,
            "observed_at": t.timestamp(),
            "received_at": t.timestamp() + 1,
            "pm25": 30.0 + (i % 2),
            "pm10": 60.0 + (i % 2),
        }
        for i, t in enumerate(times)
    ]


def berth_event(seq: int, at: datetime) -> dict:
    return {
        "device_id": f"S-{BERTH}",
        "boot": 1,
        "seq": seq,
        "berth_id": BERTH,
        "facility_id": "P-ZIYANGLI",
        "occupied": seq % 2 == 0,
        "observed_at": at.timestamp(),
        "received_at": at.timestamp(),
    }


def store_air(runtime, rows) -> None:
    with transaction(runtime.sessions) as session:
        record_air_readings(session, rows)


def roll(runtime, frozen_before=None) -> dict:
    with transaction(runtime.sessions) as session:
        return roll_up_dirty(session, NOW, frozen_before=frozen_before)


def rollups(runtime) -> dict:
    """Every hourly and daily row, every column: what the pages, exports and KPIs read."""
    with runtime.sessions() as session:
        hourly = {
            (h.station_id, h.hour_start): (*(getattr(h, m) for m in MEASURES), h.slots, h.aqi)
            for h in session.scalars(select(AirHourly))
        }
        daily = {
            (d.station_id, d.day): tuple(getattr(d, m) for m in MEASURES) for d in session.scalars(select(AirDaily))
        }
        kpi = pm25_kpi_report(session, runtime.settings, NOW.date(), NOW.year, NATIONAL)
    return {"hourly": hourly, "daily": daily, "kpi": kpi}


def air_rows(runtime, station: str) -> dict[datetime, int]:
    """Readings per hour of one station."""
    with runtime.sessions() as session:
        times = session.scalars(select(AirReading.observed_at).where(AirReading.station_id == station))
        counts: dict[datetime, int] = {}
        for t in times:
            counts[hour_start(t)] = counts.get(hour_start(t), 0) + 1
    return counts


def count(runtime, model) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_retention_deletes_only_old_rolled_up_raw_rows_and_moves_no_rollup(runtime, env, monkeypatch):
    unrolled = OLD_DAY[0] - 5 * HOUR  # old, but its readings arrived after the last rollup
    store_air(runtime, readings(NATIONAL, OLD_DAY, boot=1, first_seq=1))  # a valid daily mean: a KPI day
    store_air(runtime, readings(NATIONAL, [RECENT], boot=1, first_seq=1000))  # the station's newest
    store_air(runtime, readings(MICRO, OLD_DAY[:2], boot=1, first_seq=1))  # nothing newer: its last stays
    roll(runtime)
    # A device replaying what it buffered before its last reboot (boot 0: the newest pointer stays put):
    # an old hour never rolled up, and a late reading making a rolled-up old hour dirty again.
    store_air(runtime, readings(NATIONAL, [unrolled], boot=0, first_seq=1))
    store_air(runtime, readings(NATIONAL, [OLD_DAY[5]], boot=0, first_seq=700)[:1])
    with transaction(runtime.sessions) as session:
        record_berth_events(session, [berth_event(s, OLD_DAY[0] + s * timedelta(minutes=1)) for s in range(1, 31)])
        record_berth_events(session, [berth_event(s, RECENT + s * timedelta(minutes=1)) for s in range(31, 41)])
    with runtime.sessions() as session:
        berth_before = session.get(Berth, BERTH).status
    before = rollups(runtime)
    assert len(before["hourly"]) == 24 + 1 + 2 and before["kpi"]["rolling_365"]["valid_days"] == 1

    # The CLI's dry run counts exactly what the purge then deletes, and deletes nothing.
    dry = subprocess.run(
        [sys.executable, "-m", "services.cli", "retention", "run", "--dry-run"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dry.returncode == 0, dry.stderr
    assert "air_readings: would delete 299 rows" in dry.stdout  # 288 - 12 national (a dirty hour) + 23 micro
    assert "berth_events: would delete 30 rows" in dry.stdout
    assert count(runtime, AirReading) == 288 + 12 + 24 + 12 + 1

    monkeypatch.setattr(purge, "BATCH_ROWS", 50)  # bounded statements, seen below
    deletes: list[int] = []

    def spy(_conn, _cursor, statement, _params, _context, _many):
        if statement.lstrip().upper().startswith("DELETE FROM AIR_READINGS"):
            deletes.append(_cursor.rowcount)

    event.listen(runtime.engine, "after_cursor_execute", spy)
    try:
        report = run_retention(runtime.sessions, runtime.settings, NOW)
    finally:
        event.remove(runtime.engine, "after_cursor_execute", spy)
    assert report["air_readings"]["rows"] == 299 and report["berth_events"]["rows"] == 30
    assert report["air_readings"]["cutoff"] == cutoff(NOW, 90).isoformat()
    assert max(deletes) == 50 and sum(deletes) == 299  # never more than a batch per statement

    # Hours whose rollup is not done stay, whatever their age: never rolled up, or dirty again.
    assert air_rows(runtime, NATIONAL) == {unrolled: 12, OLD_DAY[5]: 13, RECENT: 12}
    assert air_rows(runtime, MICRO) == {OLD_DAY[1]: 1}  # its newest reading, shown on the live page
    with runtime.sessions() as session:
        assert session.scalars(select(BerthEvent.seq).order_by(BerthEvent.seq)).all() == list(range(31, 41))
        assert session.get(Berth, BERTH).status == berth_before
    assert rollups(runtime) == before
    assert run_retention(runtime.sessions, runtime.settings, NOW)["air_readings"]["rows"] == 0  # idempotent

    # A straggler for a purged hour: the rollup job leaves the rolled-up hours past the cut-off alone (their
    # raw readings may be gone) and rolls the old hour that was never rolled; the next pass takes the rest.
    store_air(runtime, readings(NATIONAL, [OLD_DAY[0]], boot=0, first_seq=500)[:1])
    assert roll(runtime, frozen_before=cutoff(NOW, 90)) == {"hours": 1, "days": 1, "frozen": 2}
    after = rollups(runtime)
    assert {k: v for k, v in after["hourly"].items() if k != (NATIONAL, unrolled)} == before["hourly"]
    assert after["hourly"][(NATIONAL, unrolled)][0] == 30.5  # the replayed hour's mean
    assert count(runtime, AirDirtyHour) == 0
    assert run_retention(runtime.sessions, runtime.settings, NOW)["air_readings"]["rows"] == 1 + 13 + 12
    assert air_rows(runtime, NATIONAL) == {RECENT: 12}


def test_zero_days_keeps_everything(runtime):
    store_air(runtime, readings(NATIONAL, OLD_DAY[:1], boot=1, first_seq=1))
    roll(runtime)
    settings = runtime.settings.replace(air_raw_retention_days=0, parking_event_retention_days=0)
    report = run_retention(runtime.sessions, settings, NOW)
    assert report["air_readings"] == {"retention_days": 0, "cutoff": None, "rows": 0}
    assert count(runtime, AirReading) == 12
