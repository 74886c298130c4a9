"""`civic bench api`'s visibility phase: from polls of a berth's status_at to publish → visible latencies."""

from __future__ import annotations

import json
import math
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.api import Options, _visibility, poll_visibility, status_at_epoch, summary_table, visibility_latencies_ms

T = 1_700_000_000.0  # an epoch second for status_at values


# -- from polls to latencies ------------------------------------------------------------------------
def test_the_first_status_at_seen_is_only_the_starting_point():
    assert visibility_latencies_ms([(T + 5, T)]) == []


def test_an_advance_is_counted_once_as_sent_minus_status_at():
    polls = [(T + 0.05, T), (T + 1.08, T + 1.0), (T + 1.16, T + 1.0), (T + 1.24, T + 1.0)]
    assert visibility_latencies_ms(polls) == pytest.approx([80.0])


def test_each_advance_counts_and_a_repeated_status_at_does_not():
    polls = [(T, T), (T + 0.1, T), (T + 0.6, T + 0.5), (T + 0.7, T + 0.5), (T + 1.3, T + 1.2)]
    assert visibility_latencies_ms(polls) == pytest.approx([100.0, 100.0])


def test_none_status_at_is_ignored_and_keeps_the_last_value_seen():
    polls = [(T, None), (T + 0.1, T), (T + 0.2, None), (T + 0.3, T), (T + 0.4, None), (T + 0.6, T + 0.5)]
    assert visibility_latencies_ms(polls) == pytest.approx([100.0])


def test_an_older_status_at_neither_counts_nor_lowers_the_mark():
    polls = [(T, T + 1), (T + 0.1, T + 0.5), (T + 0.2, T + 1), (T + 1.3, T + 1.2)]
    assert visibility_latencies_ms(polls) == pytest.approx([100.0])


# -- the API's timestamps ---------------------------------------------------------------------------
def test_status_at_parses_iso_time_with_its_offset():
    assert status_at_epoch("2023-11-14T22:13:20.250000+00:00") == pytest.approx(T + 0.25)
    assert status_at_epoch("2023-11-15T06:13:20.250000+08:00") == pytest.approx(T + 0.25)
    assert status_at_epoch("2023-11-14T22:13:20Z") == pytest.approx(T)


def test_status_at_round_trips_what_the_publisher_stamps():
    ts = datetime.fromtimestamp(T + 0.123456, UTC).isoformat(timespec="microseconds")
    assert status_at_epoch(ts) == pytest.approx(T + 0.123456, abs=1e-6)


def test_status_at_none_stays_none_and_without_offset_is_refused():
    assert status_at_epoch(None) is None
    with pytest.raises(ValueError):
        status_at_epoch("2023-11-14T22:13:20")


# -- the poller against a real HTTP server ----------------------------------------------------------
class _Berths(BaseHTTPRequestHandler):
    """GET /api/v1/parking/berths/<id>: status_at moves every 50 ms; berth "gone" answers 404."""

    protocol_version = "HTTP/1.1"  # keep-alive, as gunicorn serves the poller
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

    def do_GET(self):
        berth = self.path.rsplit("/", 1)[-1]
        now = datetime.now(UTC).timestamp()
        at = datetime.fromtimestamp(math.floor(now * 20) / 20, UTC).isoformat(timespec="microseconds")
        status, body = (404, {"message": "no berth"}) if berth == "gone" else (200, {"id": berth, "status_at": at})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_):
        pass


@pytest.fixture
def berth_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Berths)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_poller_times_advances_and_counts_non_200_as_errors(berth_server):
    result = poll_visibility(berth_server, ["A-001", "gone"], 0.5)
    assert 20 <= result["polls"] <= 51  # one request every 10 ms at most
    assert result["errors"] == result["polls"] // 2  # every other request asks for the missing berth
    # n requests at least 10 ms apart span (n - 1) × 10 ms; each berth is every other request
    assert result["poll_interval_ms_per_berth"] >= 2 * 10 * (result["polls"] - 1) / result["polls"] - 0.1
    latency = result["latency_ms"]
    assert latency["count"] >= 5  # status_at moved about 10 times while A-001 was polled every ~20 ms
    assert -5 < latency["p50"] <= 50 + result["poll_interval_ms_per_berth"]


def test_no_ingest_skips_the_phase_and_the_table_says_so():
    skipped = _visibility(Options(ingest_rate=0), "http://127.0.0.1:9", [], print)
    assert "skipped" in skipped
    assert _visibility(Options(visibility_seconds=0), "http://127.0.0.1:9", [], print)["skipped"]
    phase = {
        "path": "/x",
        "rate": 100.0,
        "requests": 500,
        "seconds": 5.0,
        "latency_ms": {"p50": 1, "p90": 2, "p99": 3, "max": 4},
        "errors": {"status": 0},
        "ingest_committed_rate": 2000.0,
        "cpu_s": {"web": 1, "bridge": 1, "workers_total": 1, "publisher": 1},
        "web_rss_mib": 100,
    }
    table = summary_table({"endpoint": phase, "baseline": phase, "ratio": 1.0, "visibility": skipped})
    assert "publish → visible in API" in table and "skipped" in table
