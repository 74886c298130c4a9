"""Scale-out, shown: two bridges on one shared subscription and two workers split 20,000 readings, none twice.

Two `civic bridge` processes subscribe with the same BRIDGE_SHARED_GROUP under different client ids,
so the broker hands each message to one of them; two `civic worker` processes take the bridges' jobs
from the one RQ queue. The readings are QoS 1 from an outside client over 150 berths, each acknowledged
by the broker. Checked: every reading is stored exactly once by (device_id, boot, seq), each bridge
handed at least a fifth of them to Redis (its own ``civic_bridge_received`` counter, keyed by client id)
and each worker ran a fair number of jobs (rq's per-worker ``successful_job_count``).

Mosquitto on the project's config, a broker of this module's own: the session's broker keeps other
tests' persistent bridge sessions in the group, and an offline member still takes its share.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from bench.clients import payload
from tests.conftest import EMBEDDED
from tests.support.civic_processes import CivicProcesses, now, successful_jobs
from tests.support.load import BERTHS, berth_topic, identity_of
from tests.support.services import Mosquitto, publish, wait_for

pytestmark = pytest.mark.skipif(EMBEDDED, reason="amqtt does not deliver $share/ subscriptions")

TOTAL = 20_000
PUBLISHERS = 4  # outside clients publishing at once, each a quarter of the berths' readings
BOOT = 7
BRIDGES = ("scale-bridge-a", "scale-bridge-b")
WORKERS = ("scale-worker-1", "scale-worker-2")
FAIR_SHARE = 0.20  # of the readings per bridge; of the jobs per worker
STORE_TIMEOUT_S = 40


@pytest.fixture(scope="module")
def own_broker():
    broker = Mosquitto().start()
    yield broker
    broker.cleanup()


@pytest.fixture
def scaled_out(env, own_broker, runtime, tmp_path):
    """Two bridges (one shared group, distinct client ids) and two workers, as real processes."""
    plat_env = env | {"MQTT_URL": own_broker.url("civic-bridge"), "BRIDGE_SHARED_GROUP": "ingest"}
    plat = CivicProcesses(plat_env, runtime, tmp_path, bridge_id="")
    try:
        for worker in WORKERS:
            plat.start_worker(worker)
        for client_id in BRIDGES:
            plat.start(client_id, "bridge", "--client-id", client_id)
        for client_id in BRIDGES:
            bridge = plat.procs[client_id]
            wait_for(lambda b=bridge: "subscribed" in b.output() or not b.alive(), 20, message=f"{client_id}")
            assert bridge.alive(), bridge.output()
        yield plat, own_broker
    finally:
        plat.close()


def readings(part: int) -> list[tuple[str, bytes]]:
    """Publisher ``part``'s share of the TOTAL readings: message i is berth i mod 150, seq i div 150 + 1."""
    sent_at = time.time()
    return [
        (berth_topic(device + 1), payload(BOOT, seq, sent_at))
        for i in range(part, TOTAL, PUBLISHERS)
        for device, seq in [identity_of(i, BERTHS)]
    ]


def publish_all(broker) -> int:
    """Publish every reading at QoS 1 from PUBLISHERS clients at once; return how many the broker acknowledged."""
    acked = [0] * PUBLISHERS

    def run(part: int) -> None:
        acked[part] = publish(broker.url(), readings(part), client_id=f"scale-pub-{part}")

    threads = [threading.Thread(target=run, args=(part,)) for part in range(PUBLISHERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return sum(acked)


def stored(plat: CivicProcesses) -> tuple[int, int]:
    with plat.rt.engine.connect() as conn:
        return tuple(
            conn.execute(text("SELECT count(*), count(DISTINCT (device_id, boot, seq)) FROM berth_events")).one()
        )


def per_bridge(plat: CivicProcesses) -> dict[str, int]:
    """Messages each bridge handed to Redis, from its own counter."""
    from services.pipeline.metrics import field

    raw = plat.rt.redis.hgetall(plat.rt.keys.counters)
    return {b: int(raw.get(field("civic_bridge_received", bridge=b).encode(), 0)) for b in BRIDGES}


def test_two_bridges_and_two_workers_split_the_load_and_store_each_reading_once(scaled_out):
    plat, broker = scaled_out
    started = now()
    assert publish_all(broker) == TOTAL
    published_s = now() - started
    deadline = started + STORE_TIMEOUT_S
    while stored(plat)[0] < TOTAL and now() < deadline:
        plat.check_alive()
        time.sleep(0.2)
    stored_s = now() - started
    time.sleep(1.0)  # a late redelivered copy would land now; the counts below must not move
    total, distinct = stored(plat)
    shares = per_bridge(plat)
    jobs = {w: successful_jobs(plat, w) for w in WORKERS}
    print(
        f"\n{TOTAL:,} readings published in {published_s:.1f}s, stored in {stored_s:.1f}s; "
        f"bridges {shares}; worker jobs {jobs}"
    )
    assert (total, distinct) == (TOTAL, TOTAL), f"{total} rows, {distinct} identities\n{plat.outputs()}"
    with plat.rt.engine.connect() as conn:
        per_device = conn.execute(
            text("SELECT count(DISTINCT device_id), min(seq), max(seq) FROM berth_events WHERE boot = :b"), {"b": BOOT}
        ).one()
        dead_letters = conn.execute(text("SELECT count(*) FROM dead_letters")).scalar()
    assert tuple(per_device) == (BERTHS, 1, -(-TOTAL // BERTHS))
    assert dead_letters == 0
    # Each message went to one bridge: the two shares add up to the total, each a real part of it.
    assert sum(shares.values()) == TOTAL, shares
    assert all(n >= FAIR_SHARE * TOTAL for n in shares.values()), shares
    assert all(n >= FAIR_SHARE * sum(jobs.values()) for n in jobs.values()), jobs
