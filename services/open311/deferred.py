"""Open311 POST while the database is away: the checked submission waits in Redis and the client gets a token.

GeoReport v2 has the answer built in: instead of a ``service_request_id`` a server may return a
``token`` and give the id later at ``/tokens/<token>`` (FixMyStreet polls it). So a resident's request
filed during a database outage is not refused: an RQ job (retried for an hour) stores it once the
database is back, as of the moment it was accepted. API keys are checked against a Redis copy of the
live keys' hashes meanwhile (written at each successful check, removed on revocation).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from datetime import datetime

from rq import Retry
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from config.topics import Queues
from services.accounts.models import ApiKey
from services.db import transaction
from services.district.models import Community
from services.runtime import Runtime
from services.service_requests import store
from services.service_requests.catalogue import district_catalogue
from services.service_requests.jobs import announce_change
from services.service_requests.models import ServiceRequest

log = logging.getLogger(__name__)

SUBMIT_JOB = "services.open311.deferred.store_deferred"
# 0, 1, 2, 5 s then every 30 s: about an hour of patience; then the job stays in the failed registry (7 days).
RETRY_INTERVALS = [0, 1, 2, 5] + [30] * 120
TOKEN_TTL_S = 7 * 24 * 3600
FAILURE_TTL_S = 7 * 24 * 3600


def remember_key(rt: Runtime, key: ApiKey) -> None:
    rt.redis.hset(rt.keys.api_keys, key.key_hash, key.id)


def forget_key(rt: Runtime, key_hash: str) -> None:
    rt.redis.hdel(rt.keys.api_keys, key_hash)


def cached_key_id(rt: Runtime, key_hash: str) -> int | None:
    value = rt.redis.hget(rt.keys.api_keys, key_hash)
    return int(value) if value is not None else None


def defer(rt: Runtime, form: MultiDict, media: list[str], key_id: int, accepted_at: datetime) -> str:
    """Queue a checked submission for storing later; returns the token the client polls."""
    token = secrets.token_urlsafe(15)
    rt.redis.set(rt.keys.open311_token(token), accepted_at.isoformat(), ex=TOKEN_TTL_S)
    rt.queue(Queues.DEFAULT).enqueue_call(
        SUBMIT_JOB,
        args=(token, list(form.items(multi=True)), media, key_id, accepted_at.isoformat()),
        retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
        failure_ttl=FAILURE_TTL_S,
        description="open311_deferred_submission",  # not the arguments: they hold a resident's contact
    )
    return token


def is_pending(rt: Runtime, token: str) -> bool:
    return bool(rt.redis.exists(rt.keys.open311_token(token)))


def store_deferred(token: str, form_pairs: list, media: list[str], key_id: int, accepted_at: str) -> str:
    """RQ job: store a submission accepted while the database was away (once, whatever the retries)."""
    from services.open311.api import district_bounds  # the view module's cached district bounds
    from services.open311.submission import read_submission
    from workers.jobs import runtime

    rt = runtime()
    catalogue = district_catalogue(rt.settings.district_file)
    form = MultiDict(form_pairs)
    with transaction(rt.sessions) as session:
        done = session.scalar(select(ServiceRequest.public_id).where(ServiceRequest.token == token))
        if done is not None:  # a retry after the commit: already stored
            return done
        key = session.get(ApiKey, key_id)
        candidate = (form.get("address_id") or "").strip()
        routed = candidate if candidate and session.get(Community, candidate) is not None else None
        submission = replace(
            read_submission(form, catalogue, district_bounds(rt.settings.district_file)),  # checked when accepted
            media=media, api_key_id=key_id, token=token, community_id=key.community_id or routed,
        )  # fmt: skip
        created = store.submit(session, catalogue, key.actor(), submission, datetime.fromisoformat(accepted_at))
        public_id, service_name = created.public_id, submission.service.name_zh
    announce_change(rt, created, service_name, "submitted")
    rt.redis.delete(rt.keys.open311_token(token))
    log.info("deferred Open311 submission %s stored as %s", token, public_id)
    return public_id
