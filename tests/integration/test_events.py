"""The live event stream: a berth change published over MQTT reaches an SSE client."""

import json
import queue
import threading
from datetime import UTC, datetime

from tests.support.services import publish


def read_events(response, into: queue.Queue) -> None:
    buffer = ""
    for chunk in response.response:
        buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if "data" in fields:
                into.put((fields.get("event"), json.loads(fields["data"])))


def test_a_berth_change_reaches_the_stream_filtered_by_kind(pipeline, app):
    client = app.test_client()
    response = client.get("/api/v1/events/stream?kind=parking_berth", buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    events: queue.Queue = queue.Queue()
    threading.Thread(target=read_events, args=(response, events), daemon=True).start()

    identity = {"boot": 1, "seq": 1, "ts": datetime.now(UTC).isoformat()}
    # Other kinds go first: with a broken filter they, not the berth, would be the first event.
    publish(
        pipeline["mqtt_url"],
        [
            ("heping/air/AQ-HEPING-01/reading", json.dumps(identity | {"pm25": 10.0}).encode()),
            ("heping/devices/S-P-ZIYANGLI-001/status", b"online"),
        ],
    )
    publish(
        pipeline["mqtt_url"],
        [
            ("heping/parking/P-ZIYANGLI/P-ZIYANGLI-001/state", json.dumps(identity | {"occupied": True}).encode()),
        ],
    )
    kind, event = events.get(timeout=20)
    assert kind == "parking_berth"
    assert event["berth_id"] == "P-ZIYANGLI-001" and event["status"] == "occupied"
    assert event["previous"] == "unknown"


def test_unknown_kinds_are_refused(client):
    response = client.get("/api/v1/events/stream?kind=weather")
    assert response.status_code == 422
    assert response.json["errors"]["query"]["kind"] == ["weather"]
