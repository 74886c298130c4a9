"""Liveness, readiness (naming the dependency that is down) and Prometheus metrics."""

from __future__ import annotations

import socket

from flask import Blueprint, Response, jsonify
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from redis.exceptions import RedisError
from sqlalchemy import text

from services.extensions import runtime
from services.pipeline.metrics import RedisPipelineCollector
from workers.queueing import backpressure, queue_states, workers_alive

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process answers; says nothing about its dependencies."""
    return jsonify(status="ok")


def _check_database() -> None:
    with runtime().engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _check_redis() -> None:
    runtime().redis.ping()


def _check_broker() -> None:
    target = runtime().settings.mqtt
    with socket.create_connection((target.host, target.port), timeout=2):
        pass


CHECKS = {"database": _check_database, "redis": _check_redis, "broker": _check_broker}


@bp.get("/readyz")
def readyz():
    """Ready only when every dependency answers; the body names any that does not.

    Backpressure (the ingest backlog at BRIDGE_MAX_BACKLOG) is not "down": status "backpressure" with 200,
    so the web stays in service while the bridges hold messages back and the broker keeps them.
    """
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = {"ok": True}
        except Exception as exc:  # any failure means "not ready", and we say which and why
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    down = [name for name, r in results.items() if not r["ok"]]
    body = {"status": "ready" if not down else "unavailable", "down": down, "checks": results}
    if results["redis"]["ok"]:
        try:
            rt = runtime()
            body["backpressure"] = backpressure(rt.redis, rt.keys, rt.settings.bridge_max_backlog)
        except RedisError:  # gone since its check: "down" next time
            body["backpressure"] = {"active": False, "error": "Redis went away"}
        if not down and body["backpressure"]["active"]:
            body["status"] = "backpressure"
    return jsonify(body), 200 if not down else 503


class QueueCollector:
    """RQ queue depths, failed jobs and live workers, read from Redis at scrape time."""

    def __init__(self, redis, keys, backlog_limit: int):
        self.redis, self.keys, self.backlog_limit = redis, keys, backlog_limit

    def collect(self):
        depth = GaugeMetricFamily("civic_queue_depth", "Jobs waiting in each RQ queue", labels=["queue"])
        failed = GaugeMetricFamily("civic_queue_failed_jobs", "Failed jobs kept for inspection", labels=["queue"])
        for state in queue_states(self.redis):
            depth.add_metric([state["name"]], state["waiting"])
            failed.add_metric([state["name"]], state["failed"])
        yield depth
        yield failed
        yield GaugeMetricFamily("civic_workers", "RQ workers alive", value=workers_alive(self.redis))
        state = backpressure(self.redis, self.keys, self.backlog_limit)
        yield GaugeMetricFamily(
            "civic_ingest_backlog_jobs",
            "Ingest jobs not done: queued, taken, scheduled to retry, running",
            value=state["backlog_jobs"],
        )
        yield GaugeMetricFamily(
            "civic_ingest_backlog_limit", "BRIDGE_MAX_BACKLOG (0: no bound)", value=self.backlog_limit
        )
        yield GaugeMetricFamily(
            "civic_backpressure",
            "1 while the backlog is at its bound (or was, within 5 s): bridges hold, the broker keeps the rest",
            value=int(state["active"]),
        )


@bp.get("/metrics")
def metrics():
    rt = runtime()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisPipelineCollector(rt.redis, rt.keys))
    registry.register(QueueCollector(rt.redis, rt.keys, rt.settings.bridge_max_backlog))
    return Response(generate_latest(registry), mimetype="text/plain; version=0.0.4; charset=utf-8")
