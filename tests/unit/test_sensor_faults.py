"""Fault injection in the simulator: reproducible from a seed, at the rates asked, and refused as intended."""

from __future__ import annotations

import dataclasses
import json
import random
import time
from collections import Counter
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import paho.mqtt.client as paho
import pytest

from config.settings import MqttTarget
from config.topics import DeviceKind, Topics
from sensors.device import Sensor, device_time
from sensors.faults import (
    EXPECTED_REASON,
    MALFORMED_CYCLE,
    MAX_PAYLOAD,
    NO_FAULTS,
    Malformed,
    ReadingFaults,
    SimulationFaults,
    choose_silent,
    decide,
    malformed_class,
    malformed_payload,
    next_identity,
)
from sensors.simulator import SimulationReport, _Simulation
from services.district.loader import DeviceSpec
from services.pipeline.intake import Accepted, DeviceRef, Reason, Registry, Rejected, classify

TZ = ZoneInfo("Asia/Shanghai")
LOCAL = datetime(2026, 11, 25, 8, 30, tzinfo=TZ)
TS = "2026-11-25T00:30:00.000+00:00"
TOPICS = Topics("simtest")
BERTH = DeviceSpec("S-P-A-001", DeviceKind.PARKING_BERTH, "parking/P-A/P-A-001", "SD", 39.1, 117.2, "P-A", "P-A-001")
AIR = DeviceSpec("S-AQ-1", DeviceKind.AIR_STATION, "air/AQ-1", "SD", 39.1, 117.2, station_id="AQ-1")
REGISTRY = Registry(
    [
        (BERTH.address, DeviceRef(BERTH.id, BERTH.kind, True, BERTH.facility_id, BERTH.berth_id)),
        (AIR.address, DeviceRef(AIR.id, AIR.kind, True, station_id=AIR.station_id)),
    ]
)
TOPIC = {BERTH.id: TOPICS.parking_state("P-A", "P-A-001"), AIR.id: TOPICS.air_reading("AQ-1")}
EVERYTHING = SimulationFaults(
    duplicate_rate=0.1, out_of_order_rate=0.1, malformed_rate=0.1, silent_rate=0.1, reboot_rate=0.05
)


def sensor(spec: DeviceSpec, seed: int = 1, boot: int = 1_700_000_000) -> Sensor:
    return Sensor.create(spec, random.Random(seed), boot=boot, local=LOCAL, pollutants=("pm25", "pm10", "no2"))


def check(spec: DeviceSpec, payload: bytes):
    return classify(
        TOPIC[spec.id], payload, REGISTRY, district="simtest", max_payload=MAX_PAYLOAD, received_at=time.time()
    )


def run_turns(seed: int, faults: SimulationFaults, turns: int = 400) -> list[tuple]:
    """What a berth and a station send over ``turns`` slots each, as the simulator would drive them."""
    rng, fault_rng = random.Random(seed), random.Random(f"faults:{seed}")
    devices, sent, malformed = [sensor(BERTH, seed), sensor(AIR, seed)], [], 0
    for _ in range(turns):
        for dev in devices:
            plan = decide(fault_rng, faults)
            for m in dev.turn(plan, rng, TS, LOCAL, malformed=malformed_class(malformed)):
                malformed += m.malformed is not None
                sent.append((dev.spec.id, m.identity, m.malformed, m.copy, m.late, m.payload))
    for dev in devices:
        sent += [(dev.spec.id, m.identity, None, m.copy, False, m.payload) for m in dev.release()]
    return sent


def values(sent: list[tuple]) -> list[dict]:
    """The measured values of the valid readings sent (one per reading, identity left out)."""
    bodies = [json.loads(payload) for _, ident, _, copy, _, payload in sent if ident is not None and not copy]
    return [{k: v for k, v in b.items() if k not in ("boot", "seq")} for b in bodies]


# --- the switches ----------------------------------------------------------------------------------------


def test_faults_are_off_by_default_and_frozen():
    faults = SimulationFaults()
    assert not faults.enabled
    assert all(getattr(faults, f.name) == 0 for f in dataclasses.fields(faults))
    with pytest.raises(dataclasses.FrozenInstanceError):
        faults.duplicate_rate = 0.5  # type: ignore[misc]
    assert SimulationFaults(reboot_rate=0.01).enabled


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "0.1", True])
def test_rates_must_be_probabilities(bad):
    with pytest.raises(ValueError, match="duplicate_rate"):
        SimulationFaults(duplicate_rate=bad)


def test_no_faults_draws_nothing_but_clean_readings():
    rng = random.Random(5)
    assert all(decide(rng, SimulationFaults()) == NO_FAULTS for _ in range(1000))


def test_same_seed_same_faults_and_payloads():
    first, again = run_turns(11, EVERYTHING), run_turns(11, EVERYTHING)
    assert first == again
    assert run_turns(12, EVERYTHING) != first


def test_faults_do_not_change_the_values_devices_report():
    clean = run_turns(3, SimulationFaults())
    faulty = run_turns(3, SimulationFaults(duplicate_rate=0.2, reboot_rate=0.2))
    assert len(faulty) > len(clean) and values(faulty) == values(clean)


def test_rates_are_respected_over_many_draws():
    faults = SimulationFaults(duplicate_rate=0.05, out_of_order_rate=0.1, malformed_rate=0.2, reboot_rate=0.3)
    rng, n = random.Random(42), 40_000
    seen = Counter()
    for _ in range(n):
        plan = decide(rng, faults)
        seen.update(f.name for f in dataclasses.fields(plan) if getattr(plan, f.name))
    clean = 1 - faults.malformed_rate  # the other faults only hit valid readings
    assert seen["malformed"] / n == pytest.approx(0.2, abs=0.01)
    assert seen["reboot"] / n == pytest.approx(0.3 * clean, abs=0.01)
    assert seen["duplicate"] / n == pytest.approx(0.05 * clean, abs=0.005)
    assert seen["hold_back"] / n == pytest.approx(0.1 * clean, abs=0.008)


def test_a_malformed_slot_carries_no_other_fault():
    rng = random.Random(1)
    always = SimulationFaults(1, 1, 1, 0, 1)
    assert all(decide(rng, always) == ReadingFaults(malformed=True) for _ in range(100))


def test_silent_devices_are_the_asked_share_and_seeded():
    ids = [f"S-{i}" for i in range(200)]
    chosen = choose_silent(random.Random(9), ids, 0.05)
    assert len(chosen) == 10 and chosen <= set(ids)
    assert chosen == choose_silent(random.Random(9), ids, 0.05)
    assert choose_silent(random.Random(9), ids, 0.0) == frozenset()
    assert choose_silent(random.Random(9), ids, 1.0) == frozenset(ids)


# --- malformed messages ----------------------------------------------------------------------------------


def test_malformed_classes_come_in_turn():
    assert [malformed_class(i) for i in range(12)] == list(MALFORMED_CYCLE) * 2
    assert set(MALFORMED_CYCLE) == set(Malformed) == set(EXPECTED_REASON)


@pytest.mark.parametrize("spec", [BERTH, AIR], ids=["berth", "air"])
@pytest.mark.parametrize("cls", list(Malformed))
def test_each_malformed_class_is_refused_with_its_reason(spec, cls):
    dev = sensor(spec)
    now, ts = device_time()
    local = now.astimezone(TZ)
    valid = dev.reading(random.Random(2), ts, local)
    assert isinstance(check(spec, valid.payload), Accepted)  # the same device's good readings get in
    bad = dev.malformed(random.Random(2), ts, local, cls)
    assert bad.identity is None and bad.malformed is cls
    out = check(spec, bad.payload)
    assert isinstance(out, Rejected), out
    assert out.reason is Reason(EXPECTED_REASON[cls]), out.detail
    assert out.device_id == (None if cls is Malformed.OVERSIZE else spec.id)  # size is checked before the topic


def test_malformed_payloads_are_what_they_claim():
    body = {"boot": 1, "seq": 2, "ts": TS, "rssi": -80, "battery": 50.0, "occupied": True}
    with pytest.raises(json.JSONDecodeError):
        json.loads(malformed_payload(Malformed.BROKEN_JSON, body, DeviceKind.PARKING_BERTH))
    with pytest.raises(UnicodeDecodeError):
        malformed_payload(Malformed.NOT_UTF8, body, DeviceKind.PARKING_BERTH).decode("utf-8")
    assert "seq" not in json.loads(malformed_payload(Malformed.MISSING_SEQ, body, DeviceKind.PARKING_BERTH))
    assert json.loads(malformed_payload(Malformed.WRONG_TYPE, body, DeviceKind.PARKING_BERTH))["occupied"] == "yes"
    assert json.loads(malformed_payload(Malformed.OUT_OF_RANGE, body, DeviceKind.PARKING_BERTH))["battery"] == 250
    air = {"boot": 1, "seq": 2, "ts": TS, "rssi": -60, "pm25": 35.2}
    assert isinstance(json.loads(malformed_payload(Malformed.WRONG_TYPE, air, DeviceKind.AIR_STATION))["pm25"], str)
    assert json.loads(malformed_payload(Malformed.OUT_OF_RANGE, air, DeviceKind.AIR_STATION))["pm25"] == -500
    assert len(malformed_payload(Malformed.OVERSIZE, body, DeviceKind.PARKING_BERTH)) > 4096
    assert body["seq"] == 2 and body["occupied"] is True  # the valid body is left alone


def test_a_malformed_message_uses_no_seq():
    dev, rng = sensor(BERTH), random.Random(3)
    assert dev.turn(NO_FAULTS, rng, TS, LOCAL, malformed=Malformed.OVERSIZE)[0].identity == (dev.boot, 1)
    assert dev.turn(ReadingFaults(malformed=True), rng, TS, LOCAL, malformed=Malformed.MISSING_SEQ)[0].identity is None
    assert dev.turn(NO_FAULTS, rng, TS, LOCAL, malformed=Malformed.OVERSIZE)[0].identity == (dev.boot, 2)


# --- identity: reboots, duplicates, reordering -----------------------------------------------------------


def test_next_identity_counts_up_and_a_reboot_starts_a_new_boot():
    assert next_identity(7, 41, reboot=False) == (7, 42)
    assert next_identity(7, 41, reboot=True) == (8, 1)
    assert next_identity(8, 1, reboot=True) > (7, 10_000)  # (boot, seq) order still says newer


def test_reboot_bumps_boot_and_restarts_seq():
    dev, rng = sensor(BERTH, boot=100), random.Random(4)
    ids = [dev.turn(NO_FAULTS, rng, TS, LOCAL, malformed=Malformed.OVERSIZE)[0].identity for _ in range(3)]
    ids += [dev.turn(ReadingFaults(reboot=True), rng, TS, LOCAL, malformed=Malformed.OVERSIZE)[0].identity]
    ids += [dev.turn(NO_FAULTS, rng, TS, LOCAL, malformed=Malformed.OVERSIZE)[0].identity]
    assert ids == [(100, 1), (100, 2), (100, 3), (101, 1), (101, 2)]
    assert ids == sorted(ids)
    payload = json.loads(dev.reading(rng, TS, LOCAL, reboot=True).payload)
    assert (payload["boot"], payload["seq"]) == (102, 1)


def test_duplicate_is_the_same_message_twice():
    dev = sensor(AIR)
    first, copy = dev.turn(ReadingFaults(duplicate=True), random.Random(5), TS, LOCAL, malformed=Malformed.OVERSIZE)
    assert first.payload == copy.payload and first.identity == copy.identity
    assert not first.copy and copy.copy


def test_held_reading_goes_out_after_the_next_one():
    dev, rng = sensor(BERTH), random.Random(6)
    assert dev.turn(ReadingFaults(hold_back=True), rng, TS, LOCAL, malformed=Malformed.OVERSIZE) == []
    out = dev.turn(ReadingFaults(hold_back=True), rng, TS, LOCAL, malformed=Malformed.OVERSIZE)  # one at a time
    assert [(m.identity[1], m.late) for m in out] == [(2, False), (1, True)]
    assert dev.turn(ReadingFaults(hold_back=True), rng, TS, LOCAL, malformed=Malformed.OVERSIZE) == []
    assert [m.identity[1] for m in dev.release()] == [3] and dev.release() == ()


def test_every_seq_used_is_sent_once_as_a_distinct_reading():
    sent = run_turns(8, EVERYTHING, turns=1000)
    originals = [(dev, ident) for dev, ident, bad, copy, _, _ in sent if ident is not None and not copy]
    assert len(originals) == len(set(originals))
    kinds = Counter(
        "malformed" if bad else "copy" if copy else "late" if late else "x" for _, _, bad, copy, late, _ in sent
    )
    assert kinds["malformed"] and kinds["copy"] and kinds["late"]
    for dev in (BERTH.id, AIR.id):
        per_boot: dict[int, list[int]] = {}
        for d, (boot, seq) in originals:
            if d == dev:
                per_boot.setdefault(boot, []).append(seq)
        assert len(per_boot) > 1
        for seqs in per_boot.values():  # no seq skipped, none repeated, within every boot
            assert sorted(seqs) == list(range(1, len(seqs) + 1))


# --- the simulator's bookkeeping, without a broker -------------------------------------------------------


class FakeClient:
    """Takes publishes like paho would (QoS 1: a mid each) and lets the test deliver the PUBACKs."""

    def __init__(self):
        self.sent: list[tuple[int, bytes]] = []

    def publish(self, topic, payload, qos=0, retain=False):
        self.sent.append((len(self.sent) + 1, payload))
        return SimpleNamespace(rc=paho.MQTT_ERR_SUCCESS, mid=len(self.sent))

    def socket(self):
        return None


def test_report_counts_distinct_readings_apart_from_faults(district):
    record: list = []
    sim = _Simulation(MqttTarget("127.0.0.1", 1, None, None), district, TOPICS, 21, "t-", EVERYTHING, record)
    for spec in district.devices[:10]:
        dev = sim.add_device(spec)
        dev.client, dev.connected = FakeClient(), True
    for _ in range(300):
        for dev in sim.devices:
            sim.publish_reading(dev)
    sim.release_held()
    r = sim.report
    sent = sum(len(d.client.sent) for d in sim.devices)
    assert sent == r.published + r.duplicates + r.malformed
    assert r.duplicates and r.reordered and r.malformed and r.reboots
    assert sum(r.malformed_by_class.values()) == r.malformed and set(r.malformed_by_class) == set(Malformed)
    assert sum(r.by_kind.values()) == r.published
    for dev in sim.devices:  # every PUBACK arrives: only the originals count, once each
        for mid, _ in dev.client.sent:
            sim._on_publish(dev.client, dev, mid, None, None)
        assert not dev.readings and not dev.extras
    assert r.acked == r.published == len(record) == len(set(record))
    assert all(len(item) == 3 and isinstance(item[0], str) for item in record)
    snap = r.snapshot(2.0)
    assert isinstance(snap, SimulationReport) and snap.seconds == 2.0 and snap.by_kind is not r.by_kind
