"""Check a request's answers against its service's attribute definitions (Open311 service definition)."""

from __future__ import annotations

from datetime import datetime

from services.service_requests.catalogue import Attribute, Service

STRING_MAX = 200
TEXT_MAX = 4000  # Open311's limit for description, reused for free-text answers


def _number(value) -> int | float:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    if isinstance(value, int | float):
        return value
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError("must be a number") from None
    return int(number) if number.is_integer() else number


def _datetime(value) -> str:
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be an ISO-8601 date-time with a time zone, e.g. 2026-05-01T09:30:00+08:00") from None
    if parsed.tzinfo is None:
        raise ValueError("needs a time zone (Open311 requires one), e.g. +08:00")
    return parsed.isoformat()


def _text(value, limit: int, single_line: bool) -> str:
    if not isinstance(value, str):
        raise ValueError("must be text")
    if single_line and "\n" in value:
        raise ValueError("must be a single line")
    if len(value) > limit:
        raise ValueError(f"must be at most {limit} characters")
    return value


def _one_of(value, attribute: Attribute) -> str:
    if str(value) not in attribute.keys:
        raise ValueError(f"must be one of {', '.join(attribute.keys)}")
    return str(value)


def _many_of(value, attribute: Attribute) -> list[str]:
    items = value if isinstance(value, list) else [value]
    keys = [_one_of(v, attribute) for v in items]
    if len(set(keys)) != len(keys):
        raise ValueError("lists a value twice")
    return keys


def clean_value(attribute: Attribute, value):
    """The answer in its stored form; ValueError says why it does not fit the datatype."""
    match attribute.datatype:
        case "number":
            return _number(value)
        case "datetime":
            return _datetime(value)
        case "string":
            return _text(value, STRING_MAX, single_line=True)
        case "text":
            return _text(value, TEXT_MAX, single_line=False)
        case "singlevaluelist":
            return _one_of(value, attribute)
        case "multivaluelist":
            return _many_of(value, attribute)
    raise ValueError(f"unknown datatype {attribute.datatype}")  # pragma: no cover - the catalogue checks datatypes


def _blank(value) -> bool:
    return value is None or value == "" or value == []


def validate_attributes(service: Service, answers: dict) -> tuple[dict, dict[str, list[str]]]:
    """Return (clean answers, errors by attribute code); errors is empty when everything fits."""
    defined = {a.code: a for a in service.attributes}
    clean: dict = {}
    errors: dict[str, list[str]] = {
        code: ["is not an attribute of this service"] for code in answers if code not in defined
    }
    for code, attribute in defined.items():
        value = answers.get(code)
        if _blank(value):
            if attribute.required:
                errors[code] = ["is required"]
            continue
        try:
            clean[code] = clean_value(attribute, value)
        except ValueError as exc:
            errors[code] = [str(exc)]
    return clean, errors
