"""A busy afternoon for the console's screenshots, written where the platform keeps each figure."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from services.db import transaction
from services.devices.models import Device
from services.kpi.models import KpiSnapshot
from services.pipeline import metrics
from services.pipeline.health import Sample
from services.service_requests.stats_range import local_day

DOWN_FACILITY, DOWN = "P-ZIYANGLI", 6  # sensors of one car park whose gateway lost power
# A month of each KPI, drifting towards (or away from) its target.
KPI_MONTH = {"smart_berths": (0.62, 0.004), "pm25": (48.0, -0.15), "requests_within_sla": (0.86, 0.001),
             "sensor_availability": (0.97, 0.0)}  # fmt: skip


def busy_day(runtime) -> None:
    """Sensors live but a few, a month of KPI snapshots, MQTT counters moving since ten seconds ago."""
    rng, now = random.Random(7), time.time()
    with runtime.sessions() as session:
        devices = session.execute(select(Device.id, Device.facility_id).where(Device.active.is_(True))).all()
    down = [d for d, facility in devices if facility == DOWN_FACILITY][:DOWN]
    status = {d: "offline" if d in down else "online" for d, _ in devices}
    vitals = {d: json.dumps({"battery": round(rng.uniform(12, 100), 1), "rssi": rng.randint(-110, -60), "at": now})
              for d, facility in devices if facility}  # fmt: skip
    pipe = runtime.redis.pipeline()
    pipe.hset(runtime.keys.device_status, mapping=status)
    pipe.hset(runtime.keys.last_seen, mapping={d: now - rng.uniform(0, 60) for d, _ in devices})
    pipe.hset(runtime.keys.device_vitals, mapping=vitals)
    received = 1_284_000
    for name, amount, labels in (
        ("civic_mqtt_received", received, {"kind": "parking_berth"}),
        ("civic_mqtt_accepted", received - 310, {"kind": "parking_berth"}),
        ("civic_mqtt_rejected", 240, {"kind": "parking_berth", "reason": "out_of_range"}),
        ("civic_mqtt_rejected", 70, {"kind": "unknown", "reason": "unknown_device"}),
        ("civic_rows_stored", received - 310, {"kind": "parking_berth"}),
    ):
        metrics.count(pipe, runtime.keys, name, amount, **labels)
    pipe.execute()
    before = {"received": received - 4200, "accepted": received - 310 - 4180, "rejected": 290,
              "rows_stored": received - 310 - 4180}  # fmt: skip
    runtime.redis.set(runtime.keys.pipeline_sample, Sample(now - 10, before, {}).to_json())
    today = local_day(datetime.now(UTC))
    with transaction(runtime.sessions) as session:
        for kpi_id, (start, step) in KPI_MONTH.items():
            for n in range(30, 0, -1):
                value = start + step * (30 - n) + rng.uniform(-0.01, 0.01) * (50 if kpi_id == "pm25" else 1)
                session.add(KpiSnapshot(kpi_id=kpi_id, day=today - timedelta(days=n), value=round(value, 4),
                                        recorded_at=datetime.now(UTC)))  # fmt: skip
