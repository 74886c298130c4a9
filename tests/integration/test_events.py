"""The live event stream: a berth change published over MQTT reaches an SSE client; replay after a
reconnect (Last-Event-ID), a reset when the gap is beyond replay, and the area filter."""

import contextlib
import http.client
import json
import queue
import socket
import threading
from datetime import UTC, datetime

import pytest

from services.events import bus
from tests.support.live_server import LiveServer
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


class Stream:
    """A real HTTP connection to the stream; ``close()`` drops it as a lost network would."""

    def __init__(self, server, path: str, headers: dict | None = None):
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        self.conn.request("GET", path, headers=headers or {})
        self.sock = self.conn.sock  # the response keeps reading it after the connection lets go
        self.response = self.conn.getresponse()
        assert self.response.status == 200, self.response.read()
        self.events: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        fields: dict = {}
        with contextlib.suppress(Exception):  # the connection was dropped on purpose: stop reading
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if line:
                    name, _, value = line.partition(": ")
                    fields[name] = value
                elif "data" in fields:
                    self.events.put((fields.get("id"), fields.get("event"), json.loads(fields["data"])))
                    fields = {}

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.response.close()


@pytest.fixture
def server(app):
    with LiveServer(app) as live:
        yield live


def take(stream: Stream, n: int) -> list[tuple]:
    return [stream.events.get(timeout=10) for _ in range(n)]


def facility_event(facility_id: str, n: int) -> dict:
    return {"kind": "parking_facility", "facility_id": facility_id, "free": n}


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


def test_events_published_while_disconnected_arrive_after_the_reconnect(runtime, server):
    first = Stream(server, "/api/v1/events/stream")
    bus.publish(runtime.redis, runtime.keys, [facility_event("P-ZIYANGLI", 1)])
    [(last_id, kind, data)] = take(first, 1)
    assert (kind, data["free"]) == ("parking_facility", 1) and bus.valid_id(last_id)
    first.close()  # the connection drops ...

    missed = [facility_event("P-ZIYANGLI", n) for n in (2, 3, 4)]
    bus.publish(runtime.redis, runtime.keys, missed)  # ... while these happen

    again = Stream(server, "/api/v1/events/stream", {"Last-Event-ID": last_id})  # as EventSource does
    replayed = take(again, 3)
    assert [data["free"] for _, _, data in replayed] == [2, 3, 4]
    assert [i for i, _, _ in replayed] == sorted({i for i, _, _ in replayed}) and replayed[0][0] > last_id
    bus.publish(runtime.redis, runtime.keys, [facility_event("P-ZIYANGLI", 5)])  # and then live again
    assert take(again, 1)[0][2]["free"] == 5
    again.close()


def test_a_gap_beyond_the_replay_window_says_reset(runtime, server):
    bus.publish(runtime.redis, runtime.keys, [facility_event("P-ZIYANGLI", n) for n in range(5)])
    seen = bus.read_after(runtime.redis, runtime.keys, "0-0", block_ms=None)
    runtime.redis.xtrim(runtime.keys.events_stream, maxlen=2, approximate=False)  # the first three are gone
    stream = Stream(server, "/api/v1/events/stream", {"Last-Event-ID": seen[0][0]})
    [(reset_id, kind, data)] = take(stream, 1)
    assert kind == "reset" and data["after"] == seen[0][0] and reset_id == seen[-1][0]
    bus.publish(runtime.redis, runtime.keys, [facility_event("P-ZIYANGLI", 9)])
    assert take(stream, 1)[0][2]["free"] == 9  # live from there, with no stale replay
    stream.close()


def test_the_area_filter_keeps_that_subdistrict_and_district_wide_events(runtime, server):
    from services.events.areas import AreaIndex

    with runtime.sessions() as session:
        index = AreaIndex(session)
    facilities = index._by_field["facility_id"]
    here = facilities["P-ZIYANGLI"]
    elsewhere = next(f for f, area in facilities.items() if area != here)
    stream = Stream(server, f"/api/v1/events/stream?subdistrict={here}")
    bus.publish(
        runtime.redis,
        runtime.keys,
        [
            facility_event(elsewhere, 1),
            {"kind": "alert", "subdistrict_id": "not-" + here, "id": 1},
            facility_event("P-ZIYANGLI", 2),
            {"kind": "pipeline", "workers": 1},  # operators' figures: not on a public stream
            {"kind": "kpi", "kpis": []},  # about no place: every area's page shows it
        ],
    )
    got = take(stream, 2)
    assert [(kind, data.get("facility_id")) for _, kind, data in got] == [
        ("parking_facility", "P-ZIYANGLI"),
        ("kpi", None),
    ]
    stream.close()


@pytest.mark.parametrize(
    ("url", "headers", "field"),
    [
        ("/api/v1/events/stream?subdistrict=atlantis", {}, "subdistrict"),
        ("/api/v1/events/stream", {"Last-Event-ID": "yesterday"}, "Last-Event-ID"),
        ("/api/v1/events/stream?last_event_id=1-2-3", {}, "Last-Event-ID"),
    ],
)
def test_bad_filters_and_ids_are_refused(client, url, headers, field):
    response = client.get(url, headers=headers)
    assert response.status_code == 422
    assert field in json.dumps(response.json["errors"])
