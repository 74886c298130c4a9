"""Keep each sensor's latest battery and signal strength in Redis, as readings are stored."""

from __future__ import annotations

import json
from collections.abc import Iterable

from config.topics import RedisKeys

VITALS = ("battery", "rssi")


def remember(pipe, keys: RedisKeys, rows: Iterable[dict]) -> None:
    """Queue on ``pipe`` the newest battery/RSSI of each device in ``rows`` (rows without them change nothing)."""
    latest: dict[str, dict] = {}
    for row in rows:
        reported = {k: row[k] for k in VITALS if row.get(k) is not None}
        if reported and row["received_at"] >= latest.get(row["device_id"], {}).get("at", 0.0):
            latest[row["device_id"]] = reported | {"at": row["received_at"]}
    if latest:
        pipe.hset(keys.device_vitals, mapping={d: json.dumps(v) for d, v in latest.items()})
