"""The 13th Five-Year Plan's parking KPIs: smart-managed share, off-street berths added per year, known share."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.parking.logic import OFF_STREET_KINDS, BerthStatus, detection, is_smart_managed
from services.parking.models import Berth, ParkingFacility

SMART_SHARE_TARGET = 0.75  # plan: 75 % of berths under smart management
OFF_STREET_BERTHS_PER_YEAR = 1000  # plan: 1,000 new off-street berths a year
NEW_CAR_PARKS_TARGET = 11  # plan: 11 new car parks over the plan period
PLAN_YEARS = (2016, 2020)  # the 13th Five-Year Plan period


def berth_inventory(session: Session) -> list[dict]:
    """One row per (facility, has a sensor): the facts every KPI below is computed from."""
    rows = session.execute(
        select(
            ParkingFacility.id,
            ParkingFacility.subdistrict_id,
            ParkingFacility.kind,
            ParkingFacility.barrier,
            ParkingFacility.opened,
            Berth.device_id.is_not(None),
            func.count(Berth.id),
        )
        .join(Berth, Berth.facility_id == ParkingFacility.id)
        .group_by(
            ParkingFacility.id,
            ParkingFacility.subdistrict_id,
            ParkingFacility.kind,
            ParkingFacility.barrier,
            ParkingFacility.opened,
            Berth.device_id.is_not(None),
        )
    ).all()
    keys = ("facility_id", "subdistrict_id", "kind", "barrier", "opened", "has_sensor", "berths")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def smart_share(inventory: list[dict]) -> dict:
    """Smart-managed berths (sensor or barrier) against all berths, district-wide and per subdistrict."""
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in inventory:
        smart = is_smart_managed(detection(row["has_sensor"], row["barrier"]))
        for key in ("district", row["subdistrict_id"]):
            per[key][0] += row["berths"] if smart else 0
            per[key][1] += row["berths"]

    def share(key: str) -> dict:
        smart, total = per[key]
        rate = round(smart / total, 4) if total else None
        return {
            "smart_managed": smart,
            "berths": total,
            "share": rate,
            "meets_target": bool(rate and rate >= SMART_SHARE_TARGET),
        }

    return {
        "target": SMART_SHARE_TARGET,
        "district": share("district"),
        "subdistricts": {key: share(key) for key in sorted(per) if key != "district"},
    }


def off_street_added(inventory: list[dict], current_year: int) -> dict:
    """Off-street berths (car parks and garages) and car parks opened per year of the plan and after."""
    berths: dict[int, int] = defaultdict(int)
    parks: dict[int, set[str]] = defaultdict(set)
    for row in inventory:
        if row["kind"] in OFF_STREET_KINDS and row["opened"] is not None:
            berths[row["opened"]] += row["berths"]
            parks[row["opened"]].add(row["facility_id"])
    first, last = PLAN_YEARS[0], max(PLAN_YEARS[1], current_year)
    years = [
        {
            "year": year,
            "berths": berths.get(year, 0),
            "car_parks": len(parks.get(year, ())),
            "meets_target": berths.get(year, 0) >= OFF_STREET_BERTHS_PER_YEAR,
        }
        for year in range(first, last + 1)
    ]
    in_plan = [y for y in years if y["year"] <= PLAN_YEARS[1]]
    return {
        "target_per_year": OFF_STREET_BERTHS_PER_YEAR,
        "plan_years": list(PLAN_YEARS),
        "years": years,
        "new_car_parks": {"target": NEW_CAR_PARKS_TARGET, "opened": sum(y["car_parks"] for y in in_plan)},
    }


def known_share(facilities: list[dict]) -> dict:
    """Berths whose status is known now (free, occupied or closed) against all, from facilities' live counts."""
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for facility in facilities:
        total = facility["total"]
        known = total - facility[BerthStatus.UNKNOWN.value]
        for key in ("district", facility["subdistrict_id"]):
            per[key][0] += known
            per[key][1] += total

    def share(key: str) -> dict:
        known, total = per[key]
        return {"known": known, "berths": total, "share": round(known / total, 4) if total else None}

    return {"district": share("district"), "subdistricts": {k: share(k) for k in sorted(per) if k != "district"}}
