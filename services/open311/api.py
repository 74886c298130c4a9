"""Open311 GeoReport v2 under /open311/v2/: discovery, services, definitions, requests, tokens, updates.

Every route ends in ``.xml`` or ``.json`` and answers in that format, errors included. Reads are
public and show public fields only; POST needs an ``api_key`` (`civic apikey create`) and is rate
limited per client address. One jurisdiction is served: ``jurisdiction_id`` may be left out, and any
value other than OPEN311_JURISDICTION is 404.
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import yaml
from flask import Blueprint, request, send_from_directory
from redis import RedisError
from sqlalchemy import String, cast, select
from sqlalchemy.exc import InterfaceError, OperationalError

from services.accounts.api_keys import digest, key_for, well_formed
from services.accounts.auth import current_actor
from services.district.models import Community
from services.extensions import db, runtime
from services.open311 import representation as rep
from services.open311.dates import format_w3c
from services.open311.deferred import cached_key_id, defer, is_pending, remember_key
from services.open311.document import FORMATS, Document, Many, render
from services.open311.errors import Open311Error, handle_open311_error, not_found
from services.open311.media import client_urls, is_private_name, read_images, store_images, uploads
from services.open311.queries import find_requests, updates
from services.open311.submission import Bounds, read_submission
from services.ratelimit import submission_rate_limit
from services.service_requests import store
from services.service_requests.catalogue import Catalogue, district_catalogue
from services.service_requests.jobs import announce_change
from services.service_requests.lifecycle import Status
from services.service_requests.models import ServiceRequest

log = logging.getLogger(__name__)

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
bp.register_error_handler(Open311Error, handle_open311_error)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
DATABASE_AWAY = (OperationalError, InterfaceError)  # connection refused, dropped or timed out
MEDIA_NAME = re.compile(r"^(p-)?[A-Za-z0-9_-]{16,40}\.(jpg|png|gif|webp)$")
CHANGESET = "2026-11-26T10:00:00+08:00"  # bump when the catalogue's shape or this API changes


def catalogue() -> Catalogue:
    return district_catalogue(runtime().settings.district_file)


@cache
def district_bounds(district_file: Path) -> Bounds:
    raw = yaml.safe_load(Path(district_file).read_text(encoding="utf-8"))
    return Bounds(**raw["district"]["bbox"])


def _fmt(fmt: str) -> str:
    if fmt not in FORMATS:
        raise not_found(f"unknown format {fmt!r}: use .xml or .json")
    return fmt


def lang() -> str:
    """``en`` if the client asks for English (``locale`` or Accept-Language), else Chinese."""
    wanted = (request.values.get("locale") or "").strip().lower()
    if wanted:
        return "en" if wanted.startswith("en") else "zh"
    return request.accept_languages.best_match(["zh", "en"], default="zh")


@bp.before_request
def _check_jurisdiction() -> None:
    given = (request.values.get("jurisdiction_id") or "").strip()
    if given and given != runtime().settings.open311_jurisdiction:
        raise not_found(f"jurisdiction_id {given!r} is not served here")


@bp.get("/discovery.<fmt>")
def discovery(fmt: str):
    endpoint = {
        "specification": SPECIFICATION,
        "url": request.url_root.rstrip("/") + bp.url_prefix,
        "changeset": CHANGESET,
        "type": "production",
        "formats": Many("format", list(f.split(";")[0] for f in FORMATS.values())),
    }
    body = {
        "changeset": CHANGESET,
        "contact": "和平区社区事务受理服务中心 Heping District community service centres",
        "key_service": "API keys are issued by the district's operators (`civic apikey create NAME --role ROLE`)",
        "endpoints": Many("endpoint", [endpoint]),
    }
    return render(Document("discovery", body), _fmt(fmt))


@bp.get("/services.<fmt>")
def services(fmt: str):
    fmt, language, cat = _fmt(fmt), lang(), catalogue()
    entries = []
    for category in cat.categories:
        group = category.name_en if language == "en" else category.name_zh
        entries += [rep.service_entry(cat.service(code), group, language) for code in category.service_codes]
    return render(Document("services", Many("service", entries)), fmt)


@bp.get("/services/<service_code>.<fmt>")
def service_definition(service_code: str, fmt: str):
    fmt = _fmt(fmt)
    service = catalogue().service(service_code)
    if service is None:
        raise not_found(f"service_code {service_code!r} is not a service of this jurisdiction")
    return render(Document("service_definition", rep.service_definition(service, lang())), fmt)


def _entries(requests: list[ServiceRequest]) -> Many:
    session, cat, language = db(), catalogue(), lang()
    extended = (request.args.get("extensions") or "").strip().lower() in ("true", "1", "all")
    # A page holds up to 1,000 requests: their histories and originals in two queries, not one each.
    histories = store.histories(session, requests) if extended else {}
    originals = store.original_public_ids(session, requests) if extended else {}
    entries = []
    for found in requests:
        service = cat.service(found.service_code)
        entry = rep.request_entry(found, service, language)
        if extended:
            original = originals.get(found.duplicate_of_id) if found.duplicate_of_id is not None else None
            entry |= rep.extensions(found, service, histories[found.id], original, language)
        entries.append(entry)
    return Many("request", entries)


@bp.get("/requests.<fmt>")
def list_requests(fmt: str):
    fmt = _fmt(fmt)
    found = find_requests(db(), request.args, catalogue(), datetime.now(UTC))
    return render(Document("service_requests", _entries(found)), fmt)


@bp.get("/requests/<request_id>.<fmt>")
def one_request(request_id: str, fmt: str):
    fmt = _fmt(fmt)
    found = store.find_public(db(), request_id)
    if found is None:
        raise not_found(f"no service request {request_id}")
    return render(Document("service_requests", _entries([found])), fmt)  # a list of one, as the spec says


def _community(key) -> str | None:
    """Where the request goes: a staff key's own community, else an ``address_id`` naming a community."""
    if key.community_id:
        return key.community_id
    candidate = (request.form.get("address_id") or "").strip()
    return candidate if candidate and db().get(Community, candidate) is not None else None


def _live_key():
    """(key id, ApiKey row or None): the row while the database answers, else the id from Redis's copy."""
    sent = request.form.get("api_key")  # never from the query string: access logs keep URLs
    try:
        key = key_for(db(), sent)
    except DATABASE_AWAY:
        db().rollback()
        key_id = cached_key_id(runtime(), digest(sent)) if well_formed(sent) else None
        return key_id, None
    if key is not None:
        with contextlib.suppress(RedisError):  # the copy only matters during an outage
            remember_key(runtime(), key)
    return (key.id if key else None), key


def _answer(entry: dict, fmt: str):
    return render(Document("service_requests", Many("request", [entry])), fmt)


@bp.post("/requests.<fmt>")
@submission_rate_limit
def create_request(fmt: str):
    fmt = _fmt(fmt)
    session, rt, cat, now = db(), runtime(), catalogue(), datetime.now(UTC)
    key_id, key = _live_key()
    if key_id is None:
        raise Open311Error(403, "Invalid api_key received -- can't proceed with create_request.")
    submission = read_submission(request.form, cat, district_bounds(rt.settings.district_file))
    images = read_images(uploads(request.files))
    stored_images = store_images(rt.settings.data_dir / "media", images, submission.service.private) if images else []
    media = stored_images or client_urls(request.form)  # files win over media_url (v2.1 draft)
    if key is not None:
        try:
            routed = replace(submission, media=media, api_key_id=key.id, community_id=_community(key))
            created = store.submit(session, cat, key.actor(), routed, now)
            session.commit()
        except DATABASE_AWAY:
            session.rollback()
        else:
            announce_change(rt, created, submission.service.name_zh, "submitted")
            return _answer(
                {"service_request_id": created.public_id, "service_notice": rep.service_notice(created, lang())}, fmt
            )
    log.warning("database away: Open311 submission for %s queued with a token", submission.service.code)
    token = defer(rt, request.form, media, key_id, now)
    return _answer({"token": token, "service_notice": rep.deferred_notice(lang())}, fmt)


@bp.get("/tokens/<token>.<fmt>")
def token(token: str, fmt: str):
    """The id of a request accepted with a token; only the token while it still waits to be stored."""
    fmt, token = _fmt(fmt), token.strip()
    try:
        found = db().scalar(select(ServiceRequest.public_id).where(ServiceRequest.token == token))
    except DATABASE_AWAY:
        db().rollback()
        found = None
    if found is not None:
        return _answer({"service_request_id": found, "token": token}, fmt)
    if is_pending(runtime(), token):
        return _answer({"service_request_id": None, "token": token}, fmt)
    raise not_found(f"no service request for token {token!r}")


@bp.get("/servicerequestupdates.<fmt>")
def request_updates(fmt: str):
    """mySociety's extension: status changes since a time, so a FixMyStreet keeps its reports in step."""
    fmt, language = _fmt(fmt), lang()
    entries = [
        {
            "update_id": str(entry.id),
            "service_request_id": found.public_id,
            "status": rep.EXTENDED_STATUS[Status(entry.to_status)],
            "updated_datetime": format_w3c(entry.at),
            "description": rep.status_notes(entry.to_status, language),
            "media_url": None,
            "external_status_code": entry.to_status,
        }
        for entry, found in updates(db(), request.args, datetime.now(UTC))
    ]
    return render(Document("service_request_updates", Many("request_update", entries)), fmt)


@bp.get("/media/<name>")
def media(name: str):
    """A stored photo; a private service's photo only for accounts that may see its request."""
    if not MEDIA_NAME.match(name):
        raise not_found("no such photo")
    if is_private_name(name):
        owner = db().scalar(select(ServiceRequest).where(cast(ServiceRequest.media, String).like(f'%"file:{name}"%')))
        if owner is None or not current_actor().may_see_community(owner.community_id):
            raise not_found("no such photo")
    return send_from_directory(runtime().settings.data_dir / "media", name, max_age=86400)
