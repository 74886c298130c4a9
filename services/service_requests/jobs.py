"""After a change is committed: the live event, and notifications as RQ jobs; plus the scheduled SLA sweep.

Events carry no personal data (the stream is public): id, service, community, status, overdue flags.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from redis import RedisError
from rq import Retry

from config.topics import EventKind, Queues
from services.accounts.roles import SYSTEM
from services.alerts.events import publish as publish_alerts
from services.db import transaction
from services.events import bus
from services.runtime import Runtime
from services.service_requests import alerting as overdue_alerts
from services.service_requests.catalogue import district_catalogue
from services.service_requests.lifecycle import open311_status
from services.service_requests.models import ServiceRequest
from services.service_requests.notify import Notification, notifier_for, overdue_alert, status_changed
from services.service_requests.store import sweep_overdue
from workers.jobs import runtime

log = logging.getLogger(__name__)

NOTIFY_JOB = "services.service_requests.jobs.send_notification"
NOTIFY_RETRY = Retry(max=5, interval=[10, 30, 60, 300, 900])  # an SMTP server may be down for a while
SWEEP_INTERVAL_S = 60


def event_payload(request: ServiceRequest, now: datetime, action: str) -> dict:
    return {
        "kind": str(EventKind.SERVICE_REQUEST),
        "action": action,
        "service_request_id": request.public_id,
        "service_code": request.service_code,
        "category": request.category,
        "community_id": request.community_id,
        "status": request.status,
        "open311_status": open311_status(request.status),
        "updated_datetime": request.updated_at.isoformat(),
        "overdue": any(d is not None and d < now for d in (request.response_due_at, request.resolution_due_at)),
    }


def announce(rt: Runtime, events: list[dict], notifications: list[Notification]) -> None:
    """Publish the live events and enqueue one notification job each (call after the commit)."""
    bus.publish(rt.redis, rt.keys, events, rt.settings.events_replay_length)
    queue = rt.queue(Queues.DEFAULT)
    for notification in notifications:
        # RQ logs a job's description, by default its arguments (the resident's address): name it instead.
        queue.enqueue_call(
            NOTIFY_JOB, args=(notification.as_job_args(),), retry=NOTIFY_RETRY, description="send_notification"
        )


def announce_change(rt: Runtime, request: ServiceRequest, service_name: str, action: str) -> None:
    """Tell the live stream and the resident (if they left an e-mail) that ``request`` changed."""
    now = datetime.now(UTC)
    note = status_changed(request.public_id, request.status, service_name, request.resident_email)
    try:
        announce(rt, [event_payload(request, now, action)], [note])
    except RedisError:  # the change is committed: a Redis outage must not make the desk think it failed
        log.exception("request %s changed, but its event and notification could not be queued", request.public_id)


def send_notification(notification: dict) -> None:
    """RQ job: deliver one notification with the configured backend."""
    notifier_for(runtime().settings).send(Notification(**notification))


def sweep_overdue_requests() -> int:
    """Scheduled RQ job: record each SLA clock that ran out, announce it and alert the desk mailbox."""
    rt = runtime()
    now = datetime.now(UTC)
    with transaction(rt.sessions) as session:
        breaches = sweep_overdue(session, SYSTEM, now)
        events = [event_payload(r, now, f"{clock}_overdue") for r, clock in breaches]
        alerts = [
            overdue_alert(r.public_id, clock, r.community_id, rt.settings.requests_alert_email) for r, clock in breaches
        ]
    if breaches:
        log.info("%d SLA clocks ran out", len(breaches))
        announce(rt, events, alerts)
    with transaction(rt.sessions) as session:  # one alert per community with overdue requests, or cleared
        changes = overdue_alerts.evaluate(session, district_catalogue(rt.settings.district_file), now)
    publish_alerts(rt.redis, rt.keys, changes, rt.settings.events_replay_length)
    return len(breaches)
