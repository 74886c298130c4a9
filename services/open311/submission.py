"""Read an Open311 POST (form-encoded or multipart) into a desk Submission, or say everything wrong with it.

Spec rules (GeoReport v2 §POST Service Request): ``service_code``; one location — ``lat`` and ``long``
together, or ``address_string``, or ``address_id``; ``attribute[code]`` answers checked against the
service definition (``attribute[code][]`` repeated for a multivaluelist); ``description`` at most 4,000
characters. An empty parameter counts as absent. Contact fields are optional; they are kept for the
community centre and never shown by any public output.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from services.open311.errors import Open311Error, not_found
from services.service_requests.attributes import TEXT_MAX, validate_attributes
from services.service_requests.catalogue import Catalogue, Service
from services.service_requests.store import Submission

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # not text; PostgreSQL cannot even store NUL
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,30}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s.]{2,}$")
NAME_MAX = 80


@dataclass(frozen=True)
class Bounds:
    south: float
    west: float
    north: float
    east: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lon <= self.east


def _value(form: MultiDict, name: str) -> str | None:
    value = form.get(name, "")
    return value.strip() or None


def answers(form: MultiDict) -> dict:
    """``attribute[code]=v`` and ``attribute[code][]=v1&…`` as {code: value or [values]}."""
    found: dict = {}
    for key in form:
        match = _ATTRIBUTE.match(key)
        if match is None:
            continue
        values = [v for v in form.getlist(key) if v.strip()]
        if match.group(2):  # the multivaluelist form: always a list
            found[match.group(1)] = values
        elif values:
            found[match.group(1)] = values[0] if len(values) == 1 else values
    return found


def _coordinate(form: MultiDict, name: str, low: float, high: float, errors: list) -> float | None:
    text = _value(form, name)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not low <= number <= high:
        errors.append((400, f"{name} must be a WGS-84 coordinate between {low:g} and {high:g}"))
        return None
    return number


def _location(form: MultiDict, bounds: Bounds, errors: list) -> tuple[float | None, float | None, str | None]:
    lat = _coordinate(form, "lat", -90, 90, errors)
    lon = _coordinate(form, "long", -180, 180, errors)
    address = _value(form, "address_string") or _value(form, "address_id")
    if (lat is None) != (lon is None) and not errors:
        errors.append((400, "lat and long go together: give both, or neither"))
    elif lat is not None and lon is not None and not bounds.contains(lat, lon):
        errors.append((400, "the location is outside Heping District; this service covers Heping only"))
    elif lat is None and lon is None and address is None and not errors:
        errors.append((400, "a location is required: lat and long, or address_string, or address_id"))
    if address is not None and len(address) > 300:
        errors.append((400, "address_string must be at most 300 characters"))
    return lat, lon, address


def _contact(form: MultiDict, errors: list) -> tuple[str, str, str | None]:
    name = " ".join(part for part in (_value(form, "first_name"), _value(form, "last_name")) if part)
    phone = _value(form, "phone") or ""
    email = _value(form, "email")
    if len(name) > NAME_MAX:
        errors.append((400, f"first_name and last_name together must be at most {NAME_MAX} characters"))
    if phone and not _PHONE.match(phone):
        errors.append((400, "phone must be digits, spaces or dashes, with an optional leading +"))
    if email is not None and not _EMAIL.match(email):
        errors.append((400, "email is not an e-mail address"))
    return name, phone, email


def service_of(form: MultiDict, catalogue: Catalogue) -> Service:
    code = _value(form, "service_code")
    if code is None:
        raise Open311Error(400, "service_code is required")
    service = catalogue.service(code)
    if service is None:
        raise not_found(f"service_code {code!r} is not a service of this jurisdiction")
    return service


def read_submission(form: MultiDict, catalogue: Catalogue, bounds: Bounds) -> Submission:
    """The submission the form describes (without media, key or community); Open311Error lists every problem."""
    service = service_of(form, catalogue)
    errors: list[tuple[int, str]] = [
        (400, f"{name} contains control characters; send plain text")
        for name in form
        if any(_CONTROL.search(value) for value in form.getlist(name))
    ]
    lat, lon, address = _location(form, bounds, errors)
    name, phone, email = _contact(form, errors)
    description = form.get("description", "").strip()
    if len(description) > TEXT_MAX:
        errors.append((400, f"description must be at most {TEXT_MAX} characters"))
    clean, problems = validate_attributes(service, answers(form))
    errors += [(400, f"attribute[{code}]: {'; '.join(why)}") for code, why in sorted(problems.items())]
    if errors:
        (status, first), *more = errors
        raise Open311Error(status, first, more=more)
    return Submission(
        service,
        resident_name=name,
        resident_phone=phone,
        resident_email=email,
        description=description,
        address=address,
        lat=lat,
        lon=lon,
        attributes=clean,
        channel="open311",
        client_account_id=(_value(form, "account_id") or "")[:80] or None,
        client_device_id=(_value(form, "device_id") or "")[:80] or None,
    )
