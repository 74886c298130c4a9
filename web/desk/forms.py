"""Read the desk's HTML forms into what the service-request store takes, with errors the clerk can act on.

Validation itself is the backend's (the API's marshmallow schemas and the attribute checks): the page
only turns form fields into that input and the backend's complaints into short sentences in the page's
language.
"""

from __future__ import annotations

from flask_babel import gettext as _
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from services.accounts.roles import Actor
from services.service_requests.attributes import STRING_MAX, TEXT_MAX, validate_attributes
from services.service_requests.catalogue import Attribute, Service
from services.service_requests.schemas import ChangeSchema, SubmissionSchema

LOCAL_OFFSET = "+08:00"  # a datetime-local input is Beijing time; the catalogue wants an explicit zone
INTAKE_FIELDS = ("description", "address", "community_id", "resident_name", "resident_phone", "resident_email")


def attribute_field(attribute: Attribute) -> str:
    return f"attr-{attribute.code}"


def _answer(form: MultiDict, attribute: Attribute):
    name = attribute_field(attribute)
    if attribute.datatype == "multivaluelist":
        return form.getlist(name)
    value = form.get(name, "").strip()
    if attribute.datatype == "datetime" and value and "+" not in value and not value.endswith("Z"):
        value = f"{value}:00{LOCAL_OFFSET}" if len(value) == 16 else f"{value}{LOCAL_OFFSET}"
    return value


def _schema_message(field: str, messages: list[str]) -> str:
    friendly = {
        "resident_name": _("Enter the resident's name."),
        "resident_phone": _("Enter a phone number: digits, spaces or dashes."),
        "resident_email": _("Enter a valid e-mail address, or leave it empty."),
        "address": _("Give an address or a community."),
        "description": _("The description is too long."),
    }
    return friendly.get(field, "; ".join(str(m) for m in messages))


def _attribute_message(attribute: Attribute, messages: list[str]) -> str:
    """The backend's complaint (English, for the API) as a short instruction for this kind of field."""
    if messages == ["is required"]:
        return _("Required.")
    return {
        "number": _("Enter a number."),
        "datetime": _("Enter a date and time."),
        "string": _("One line, at most %(n)s characters.", n=STRING_MAX),
        "text": _("At most %(n)s characters.", n=TEXT_MAX),
        "singlevaluelist": _("Choose one of the listed answers."),
        "multivaluelist": _("Choose from the listed answers, each once."),
    }[attribute.datatype]


def read_intake(form: MultiDict, service: Service, actor: Actor) -> tuple[dict, dict[str, str]]:
    """The submission's fields (for ``store.Submission``) and the errors by form field name."""
    answers = {a.code: _answer(form, a) for a in service.attributes}
    raw = {name: form.get(name, "").strip() or None for name in INTAKE_FIELDS}
    raw["description"] = raw["description"] or ""
    if not actor.city_wide:
        raw["community_id"] = actor.community_id  # the desk logs requests for its own community
    errors: dict[str, str] = {}
    try:
        data = SubmissionSchema().load({**raw, "service_code": service.code})
    except ValidationError as exc:
        data = {}
        errors = {field: _schema_message(field, msgs) for field, msgs in exc.messages.items()}
    clean, attribute_errors = validate_attributes(service, answers)
    defined = {a.code: a for a in service.attributes}
    for code, messages in attribute_errors.items():
        errors[f"attr-{code}"] = _attribute_message(defined[code], messages)
    data.pop("service_code", None)
    data.pop("attributes", None)
    return data | {"attributes": clean}, errors


def read_change(form: MultiDict) -> tuple[dict, str | None]:
    """The change the clerk asked for (status, note, assignee, duplicate_of), or an error message."""
    raw = {key: form.get(key, "").strip() or None for key in ("status", "note", "assignee", "duplicate_of")}
    raw["note"] = raw["note"] or ""
    try:
        return ChangeSchema().load(raw), None
    except ValidationError:
        return {}, _("Choose one of the buttons; a note has at most 2,000 characters.")


def detail_message(field: str) -> str:
    """What to add when the lifecycle says a change lacks a detail (MissingDetail.field)."""
    return {
        "note": _("Write a note saying why: the resident is owed a reason."),
        "assignee": _("Name who the request is assigned to."),
        "duplicate_of": _("Give the id of the original request (one of your community's, not a duplicate)."),
    }.get(field, field)
