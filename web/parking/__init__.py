"""Resident parking page (/parking): the nearest car parks with free berths, live counts, a way to go there.

Server-rendered from the backend's live directory in Redis (services.parking.live), ordered by distance
from the district centre or a chosen landmark; parking.js then re-sorts by the browser's position and keeps counts live.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, render_template, request, url_for

from services.extensions import runtime
from services.parking import live
from services.parking.logic import BerthCategory, BerthStatus
from web.i18n import TIMEZONE, current_lang
from web.parking.places import LANDMARKS, availability, landmark, navigation_links, opening_hours_text

bp = Blueprint("parking_page", __name__, template_folder="templates")

SEARCH_RADIUS_M = 8_000  # Heping is about 5 km across: from any landmark in it, every car park, nearest first
FILTER_CATEGORIES = (BerthCategory.DISABLED, BerthCategory.EV_CHARGING)  # what a resident may look for
HISTORY_ENDPOINT = "parking.History"  # hourly occupancy of one facility (services/parking/api.py)
STATUSES = tuple(s.value for s in BerthStatus)


def _counts(facility: dict, category: str | None) -> dict:
    counts = facility.get("counts") or {}
    if category:
        counts = counts.get("by_category", {}).get(category) or {}
    return {key: counts.get(key, 0) for key in ("total", *STATUSES)}


def _card(facility: dict, category: str | None = None, distance_m: float | None = None) -> dict:
    """What the list, the map and the detail page show of one facility, in the page's language."""
    lang = current_lang()
    name = facility[f"name_{lang}"] or facility["name_zh"]
    counts = _counts(facility, category)
    return {
        "id": facility["id"],
        "name": name,
        "address": facility.get(f"address_{lang}") or facility.get("address_zh", ""),
        "kind": facility["kind"],
        "lat": facility["lat"],
        "lon": facility["lon"],
        "distance_m": None if distance_m is None else round(distance_m),
        **counts,
        "level": availability(counts["free"], counts["occupied"]),
        "url": url_for("parking_page.facility", facility_id=facility["id"]),
        "nav": navigation_links(facility["lat"], facility["lon"], name),
    }


def _updated_at(facilities: list[dict]) -> datetime | None:
    stamps = [f["counts"]["updated_at"] for f in facilities if f.get("counts") and f["counts"].get("updated_at")]
    return datetime.fromtimestamp(max(stamps), UTC) if stamps else None


@bp.get("/parking")
def index():
    """Car parks nearest the chosen place first, with free berths written and coloured by availability."""
    origin = landmark(request.args.get("near"))
    category = request.args.get("category") if request.args.get("category") in FILTER_CATEGORIES else None
    only_free = request.args.get("free") == "1"
    rt = runtime()
    facilities = live.nearby_facilities(rt.sessions, rt.redis, rt.keys, origin.lat, origin.lon, SEARCH_RADIUS_M)
    cards = [_card(f, category, f["distance_m"]) for f in facilities]
    if category:  # a car park without such berths is no answer to "where can I charge?"
        cards = [c for c in cards if c["total"]]
    if only_free:
        cards = [c for c in cards if c["free"]]
    return render_template(
        "parking/index.html",
        cards=cards,
        origin=origin,
        landmarks=LANDMARKS,
        categories=FILTER_CATEGORIES,
        category=category,
        only_free=only_free,
        updated_at=_updated_at(facilities),
    )


@bp.get("/parking/<facility_id>")
def facility(facility_id: str):
    """One car park: counts by berth category, opening hours, tariff, and today's occupancy curve."""
    rt = runtime()
    found = [f for f in live.current_facilities(rt.sessions, rt.redis, rt.keys) if f["id"] == facility_id]
    if not found:
        abort(404)
    described = found[0]
    hours, midnight = _today()
    by_category = (described.get("counts") or {}).get("by_category", {})
    categories = [(c.value, _card(described, c.value)) for c in BerthCategory if by_category.get(c.value)]
    return render_template(
        "parking/facility.html",
        card=_card(described),
        categories=categories,
        opening_hours=opening_hours_text(described.get("opening_hours") or "24/7"),
        tariff=described.get(f"tariff_{current_lang()}") or described.get("tariff_zh") or "",
        updated_at=_updated_at(found),
        history_url=url_for(HISTORY_ENDPOINT, facility_id=facility_id, hours=hours),
        midnight=midnight,
    )


def _today() -> tuple[int, datetime]:
    """Hours of history that cover today (local midnight until now, the current hour included), and midnight."""
    now = datetime.now(ZoneInfo(TIMEZONE))
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return now.hour + 1, midnight
