"""Our services and requests in Open311's shapes (the dict bodies ``document.render`` serialises).

Only public fields: never a resident's name, phone, e-mail or the client's account/device ids; for a
private service's request not even the description, answers or photos. The address and coordinates
only where the service's place is a public one (``public_location``): otherwise they may be a home.
"""

from __future__ import annotations

from flask import url_for

from services.open311.dates import format_w3c
from services.open311.document import Many
from services.service_requests.catalogue import Attribute, Service
from services.service_requests.lifecycle import Status, open311_status
from services.service_requests.models import RequestHistory, ServiceRequest

S = Status
# status_notes: the finer lifecycle the binary open/closed loses, in words a resident understands.
STATUS_NOTES = {
    S.SUBMITTED: ("已收到，等待社区受理", "Received; waiting for the community centre to accept it"),
    S.ACCEPTED: ("社区已受理", "Accepted by the community centre"),
    S.ASSIGNED: ("已派给办理人员", "Handed to the people who do the work"),
    S.IN_PROGRESS: ("正在办理", "Being worked on"),
    S.ON_HOLD: ("暂停：等待居民或其他部门", "Paused: waiting for the resident or another office"),
    S.RESOLVED: ("已办结", "Done"),
    S.CLOSED: ("已办结并关闭", "Done and closed"),
    S.REJECTED: ("未予受理，请联系社区了解原因", "Not accepted; the community centre can say why"),
    S.DUPLICATE: ("重复申请，并入较早的申请办理", "Already reported: handled with an earlier request"),
}
# mySociety's extended statuses (servicerequestupdates), so a FixMyStreet shows the right state.
EXTENDED_STATUS = {
    S.SUBMITTED: "open",
    S.ACCEPTED: "investigating",
    S.ASSIGNED: "action_scheduled",
    S.IN_PROGRESS: "in_progress",
    S.ON_HOLD: "investigating",
    S.RESOLVED: "fixed",
    S.CLOSED: "closed",
    S.REJECTED: "no_further_action",
    S.DUPLICATE: "duplicate",
}
DATATYPE_DESCRIPTIONS = {
    "string": ("一行文字", "one line of text"),
    "number": ("数字", "a number"),
    "datetime": ("日期时间，北京时间，如 2026-05-01T09:30:00+08:00", "date and time, e.g. 2026-05-01T09:30:00+08:00"),
    "text": ("多行文字", "text, line breaks allowed"),
    "singlevaluelist": ("选择一项", "choose one"),
    "multivaluelist": ("选择一项或多项", "choose one or more"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def _name(service: Service, lang: str) -> str:
    return service.name_en if lang == "en" else service.name_zh


def service_entry(service: Service, group_name: str, lang: str) -> dict:
    keywords = list(service.keywords) + (["private"] if service.private else [])  # FixMyStreet's private flag
    return {
        "service_code": service.code,
        "service_name": _name(service, lang),
        "description": service.description_en if lang == "en" else service.description_zh,
        "metadata": bool(service.attributes),
        "type": "realtime",
        "keywords": ",".join(keywords),
        "group": group_name,
    }


def _attribute(attribute: Attribute, lang: str) -> dict:
    entry = {
        "variable": True,
        "code": attribute.code,
        "datatype": attribute.datatype,
        "required": attribute.required,
        "datatype_description": _pick(DATATYPE_DESCRIPTIONS[attribute.datatype], lang),
        "order": attribute.order,
        "description": attribute.description_en if lang == "en" else attribute.description_zh,
    }
    if attribute.values:
        values = [{"key": v.key, "name": v.name_en if lang == "en" else v.name_zh} for v in attribute.values]
        entry["values"] = Many("value", values)
    return entry


def service_definition(service: Service, lang: str) -> dict:
    attributes = sorted(service.attributes, key=lambda a: a.order)
    return {"service_code": service.code, "attributes": Many("attribute", [_attribute(a, lang) for a in attributes])}


def media_urls(request: ServiceRequest) -> list[str]:
    """Public URLs of the request's photos: our stored files, or the URL the client gave."""
    return [
        url_for("open311.media", name=item[len("file:") :], _external=True) if item.startswith("file:") else item
        for item in request.media or []
    ]


def status_notes(status: str, lang: str) -> str:
    return _pick(STATUS_NOTES[Status(status)], lang)


def shows_location(request: ServiceRequest, service: Service | None) -> bool:
    return not request.private and service is not None and service.public_location and not service.private


def request_entry(request: ServiceRequest, service: Service | None, lang: str) -> dict:
    private = request.private
    media = [] if private else media_urls(request)
    located = shows_location(request, service)
    return {
        "service_request_id": request.public_id,
        "status": open311_status(Status(request.status)),
        "status_notes": status_notes(request.status, lang),
        "service_name": _name(service, lang) if service else request.service_code,
        "service_code": request.service_code,
        "description": None if private else request.description,
        "agency_responsible": request.agency_responsible,
        "service_notice": None,
        "requested_datetime": format_w3c(request.requested_at),
        "updated_datetime": format_w3c(request.updated_at),
        "expected_datetime": format_w3c(request.resolution_due_at),
        "address": request.address if located else None,
        "address_id": None,
        "zipcode": None,
        "lat": request.lat if located else None,
        "long": request.lon if located else None,
        "media_url": media[0] if media else None,
    }


def _answer(code: str, value) -> dict:
    return {"code": code, "values": Many("value", value if isinstance(value, list) else [value])}


def priority(service: Service | None) -> str:
    """The service's urgency, from its resolution SLA (the desk has no per-request priority)."""
    if service is None:
        return "normal"
    hours = service.sla.resolution_hours
    return "high" if hours <= 24 else "normal" if hours <= 120 else "low"


def extensions(
    request: ServiceRequest, service: Service | None, history: list[RequestHistory], original: str | None, lang: str
) -> dict:
    """``extensions=true``: answers, Chicago-style extended attributes, and the public notes."""
    private = request.private
    notes = [
        {
            "datetime": format_w3c(entry.at),
            "type": "submitted" if entry.action == "submitted" else EXTENDED_STATUS[Status(entry.to_status)],
            "description": status_notes(entry.to_status, lang),
        }
        for entry in history
        if entry.action in ("submitted", "transition")
    ]
    answers = {} if private else (request.attributes or {})
    return {
        "attributes": Many("attribute", [_answer(code, value) for code, value in answers.items()]),
        "extended_attributes": {
            "channel": request.channel,
            "community_id": request.community_id,
            "status": request.status,
            "priority": priority(service),
            "duplicate_of": original,
            "media_urls": Many("media_url", [] if private else media_urls(request)),
        },
        "notes": Many("note", notes),
    }


def service_notice(request: ServiceRequest, lang: str) -> str:
    """What the resident is told on submission: who handles it and by when (Beijing time)."""
    due = format_w3c(request.resolution_due_at)
    when = due[:16].replace("T", " ") if due else None
    if lang == "en":
        return f"Passed to {request.agency_responsible}" + (f"; expected by {when} (Beijing time)." if when else ".")
    return f"已转交{request.agency_responsible}" + (f"，预计 {when} 前办结。" if when else "。")


def deferred_notice(lang: str) -> str:
    """The notice with a token: the request is safe, its id comes shortly."""
    if lang == "en":
        return "Received. The request number follows shortly: ask for it with this token."
    return "已收到。申请编号稍后生成，请凭此 token 查询。"
