"""The whole journey: simulated sensors → MQTT broker → bridge → RQ → worker → PostgreSQL → HTTP API."""

import json
import subprocess
import sys

from services.air_quality.store import count_readings
from services.parking.store import count_events
from tests.support.accounts import operator_client
from tests.support.services import ROOT, wait_for


def stored(runtime) -> int:
    with runtime.sessions() as session:
        return count_events(session) + count_readings(session)


def test_simulated_readings_arrive_in_the_api(pipeline, runtime, app, client):
    sim = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "simulate",
            "--rate",
            "400",
            "--duration",
            "5",
            "--devices",
            "150",
            "--quiet",
        ],
        env=pipeline["env"] | {"MQTT_URL": pipeline["mqtt_url"]},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sim.returncode == 0, sim.stderr[-3000:]
    report = json.loads(sim.stdout.strip().splitlines()[-1])
    assert report["acked"] == report["published"] >= 1500
    assert report["by_kind"]["air_station"] > 0 and report["by_kind"]["parking_berth"] > 0

    # Every acknowledged reading is stored, exactly once.
    wait_for(lambda: stored(runtime) >= report["acked"], 60, message=f"{report['acked']} stored readings")
    assert stored(runtime) == report["acked"]
    operator = operator_client(app, runtime)  # dead letters and the device registry are for operators
    assert operator.get("/api/v1/dead-letters").json["total"] == 0

    # ...and visible through the API.
    facilities = client.get("/api/v1/parking/facilities").json
    known = sum(f["free"] + f["occupied"] for f in facilities)
    assert known == 150 - 6  # every simulated berth sensor has reported; 6 of the 150 devices are air stations
    assert all(f["total"] == f["free"] + f["occupied"] + f["closed"] + f["unknown"] for f in facilities)
    stations = client.get("/api/v1/air/latest").json
    assert all(s["latest"] is not None for s in stations)
    assert all(s["latest"]["pm25"] is not None for s in stations)

    devices = operator.get("/api/v1/devices", query_string={"kind": "air_station"}).json
    assert len(devices) == len(stations) == 6

    metrics = client.get("/metrics").get_data(as_text=True)
    assert f'civic_rows_stored_total{{kind="air_station"}} {float(report["by_kind"]["air_station"])}' in metrics
    assert pipeline["bridge"].alive() and pipeline["worker"].alive()
