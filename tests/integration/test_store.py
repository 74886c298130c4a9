"""The write path on the real PostgreSQL: idempotent inserts, state that only moves forward."""

import time

from sqlalchemy import func, select

from services.air_quality.models import AirReading, AirStation
from services.air_quality.store import record_air_readings
from services.db import transaction
from services.parking.models import Berth, BerthEvent
from services.parking.store import record_berth_events
from services.pipeline.models import DeadLetter
from services.pipeline.store import record_dead_letters

BERTH, DEVICE, FACILITY = "P-ZIYANGLI-001", "S-P-ZIYANGLI-001", "P-ZIYANGLI"


def event(boot, seq, occupied):
    now = time.time()
    return {
        "device_id": DEVICE,
        "boot": boot,
        "seq": seq,
        "berth_id": BERTH,
        "facility_id": FACILITY,
        "occupied": occupied,
        "observed_at": now,
        "received_at": now,
    }


def store(runtime, rows):
    with transaction(runtime.sessions) as session:
        return record_berth_events(session, rows)


def berth(runtime):
    with runtime.sessions() as session:
        b = session.get(Berth, BERTH)
        return b.status, b.status_boot, b.status_seq


def count(runtime, model):
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_redelivered_event_is_stored_once(runtime):
    assert store(runtime, [event(1, 1, True)])[0] == 1
    stored, changes = store(runtime, [event(1, 1, True)])
    assert (stored, changes) == (0, [])
    assert count(runtime, BerthEvent) == 1


def test_duplicates_inside_one_batch_are_stored_once(runtime):
    stored, _ = store(runtime, [event(1, 1, True), event(1, 1, True), event(1, 2, False)])
    assert stored == 2 and count(runtime, BerthEvent) == 2


def test_late_events_do_not_roll_state_back(runtime):
    store(runtime, [event(1, 5, True)])
    stored, changes = store(runtime, [event(1, 3, False)])  # older, arrives late
    assert stored == 1 and changes == []
    assert berth(runtime) == ("occupied", 1, 5)


def test_a_rebooted_device_is_not_a_duplicate(runtime):
    store(runtime, [event(1, 900, True)])
    stored, changes = store(runtime, [event(2, 1, False)])
    assert stored == 1
    assert [c["status"] for c in changes] == ["free"]
    assert berth(runtime) == ("free", 2, 1)


def test_air_station_points_at_its_newest_reading(runtime):
    now = time.time()

    def reading(seq, pm25):
        return {
            "device_id": "S-AQ-HEPING-01",
            "boot": 1,
            "seq": seq,
            "station_id": "AQ-HEPING-01",
            "observed_at": now + seq,
            "received_at": now,
            "pm25": pm25,
        }

    with transaction(runtime.sessions) as session:
        assert record_air_readings(session, [reading(2, 40.0), reading(1, 30.0)])[0] == 2
    with transaction(runtime.sessions) as session:
        assert record_air_readings(session, [reading(2, 40.0)])[0] == 0
    with runtime.sessions() as session:
        station = session.get(AirStation, "AQ-HEPING-01")
        assert session.get(AirReading, station.latest_reading_id).pm25 == 40.0


def test_dead_letters_are_kept_once_per_uid(runtime):
    item = {
        "uid": "bridge-1-1",
        "received_at": time.time(),
        "topic": "heping/x",
        "payload": b"\xff<b>",
        "reason": "encoding",
        "detail": "not UTF-8",
    }
    with transaction(runtime.sessions) as session:
        assert record_dead_letters(session, [item, item]) == 1
    with transaction(runtime.sessions) as session:
        assert record_dead_letters(session, [item]) == 0
    with runtime.sessions() as session:
        assert session.scalars(select(DeadLetter)).one().payload == b"\xff<b>"
