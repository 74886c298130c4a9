"""Client CPU and wall time per 500-row batch of berth events: the SQLAlchemy multi-VALUES INSERT against
the JSON-recordset statement the workers use (services/db.py), alternating rounds on one database.

    DATABASE_URL=postgresql://127.0.0.1:5432/civic_bench .venv/bin/python -m bench.inserts [--rounds 3]

Writes rows with boots above 2,000,000,000 (no sensor or bench run uses them) and deletes them after.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert

from config.settings import normalise_database_url
from services.db import insert_ignoring_duplicates, make_engine, session_factory
from services.parking.models import BerthEvent

KEYS = ["device_id", "boot", "seq"]
RETURNING = (BerthEvent.device_id, BerthEvent.boot, BerthEvent.seq)
BATCH, BATCHES = 500, 20


def rows(boot: int) -> list[dict]:
    now = datetime.now(UTC)
    return [{"device_id": f"S-BENCH-{i % 900}", "boot": boot, "seq": i + 1, "berth_id": f"BENCH-{i % 900}",
             "occupied": i % 2 == 0, "observed_at": now, "received_at": now} for i in range(BATCH)]  # fmt: skip


def multi_values(session, batch):
    stmt = insert(BerthEvent).on_conflict_do_nothing(index_elements=KEYS).returning(*RETURNING)
    return session.execute(stmt, batch).all()


def json_recordset(session, batch):
    return insert_ignoring_duplicates(session, BerthEvent, batch, KEYS, returning=RETURNING)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = normalise_database_url(os.environ["DATABASE_URL"])
    sessions = session_factory(make_engine(url))
    first = boot = 2_000_000_000 + random.randint(0, 10**6) * 100
    print("| round | statement | ms per batch (wall) | client CPU ms per batch |\n|---|---|---|---|")
    try:
        for n in range(1, args.rounds + 1):
            for name, write in (("multi-VALUES", multi_values), ("JSON recordset", json_recordset)):
                cpu, wall = time.process_time(), time.perf_counter()
                for _ in range(BATCHES):
                    boot += 1
                    with sessions() as session, session.begin():
                        assert len(write(session, rows(boot))) == BATCH
                wall_ms = (time.perf_counter() - wall) / BATCHES * 1000
                cpu_ms = (time.process_time() - cpu) / BATCHES * 1000
                print(f"| {n} | {name} | {wall_ms:.1f} | {cpu_ms:.1f} |")
    finally:
        with sessions() as session, session.begin():
            session.execute(text("DELETE FROM berth_events WHERE boot >= :first"), {"first": first})


if __name__ == "__main__":
    main()
