"""Parking statistics (pure): occupancy rate, turnover, dwell time and peak hours from berth transitions,
and the hourly series of occupancy snapshots."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, tzinfo

from services.parking.logic import BerthStatus

Transition = tuple[datetime, bool]  # (device time, occupied) where a berth's reported state changed
PEAK_HOURS = 3


def occupancy_statistics(
    transitions: dict[str, list[Transition]], since: datetime, until: datetime, tz: tzinfo
) -> dict:
    """Statistics over [since, until] from each berth's state changes in time order.

    The first transition of a berth in the window only says its state from then on: it is not counted as
    an arrival or departure. Occupancy rate is time-weighted over the time each berth was observed;
    turnover is arrivals per reporting berth per day; dwell time is arrival-to-departure, both in the window.
    """
    arrivals_by_hour = [0] * 24
    arrivals = departures = 0
    observed = occupied_time = 0.0
    dwells: list[float] = []
    for events in transitions.values():
        for i, (at, occupied) in enumerate(events):
            start = max(at, since)
            end = min(events[i + 1][0] if i + 1 < len(events) else until, until)
            span = max(0.0, (end - start).total_seconds())
            observed += span
            occupied_time += span if occupied else 0.0
            if i == 0:
                continue
            if occupied:
                arrivals += 1
                arrivals_by_hour[at.astimezone(tz).hour] += 1
                if i + 1 < len(events):
                    dwells.append((events[i + 1][0] - at).total_seconds())
            else:
                departures += 1
    days = max((until - since).total_seconds() / 86400, 1e-9)
    berths = len(transitions)
    ranked = sorted(range(24), key=lambda h: (-arrivals_by_hour[h], h))
    return {
        "since": since,
        "until": until,
        "berths_reporting": berths,
        "arrivals": arrivals,
        "departures": departures,
        "occupancy_rate": round(occupied_time / observed, 4) if observed else None,
        "turnover_per_berth_per_day": round(arrivals / berths / days, 3) if berths else None,
        "mean_dwell_minutes": round(sum(dwells) / len(dwells) / 60, 1) if dwells else None,
        "arrivals_by_hour": arrivals_by_hour,
        "peak_hours": [h for h in ranked[:PEAK_HOURS] if arrivals_by_hour[h]],
    }


def hourly_series(snapshots: list[dict]) -> list[dict]:
    """Hourly means of snapshots (``taken_at`` + counts), summed over facilities first at each instant.

    Each hour gives the mean berths per status and the occupancy rate (occupied / (free + occupied)).
    """
    instants: dict[datetime, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for snap in snapshots:
        for key in ("total", *(s.value for s in BerthStatus)):
            instants[snap["taken_at"]][key] += snap[key]
    hours: dict[datetime, list[dict]] = defaultdict(list)
    for at, counts in instants.items():
        hours[at.replace(minute=0, second=0, microsecond=0)].append(counts)
    series = []
    for hour in sorted(hours):
        group = hours[hour]
        mean = {key: round(sum(c[key] for c in group) / len(group), 1) for key in group[0]}
        known = mean["free"] + mean["occupied"]
        series.append(
            {
                "hour": hour,
                "samples": len(group),
                **mean,
                "occupancy_rate": round(mean["occupied"] / known, 4) if known else None,
            }
        )
    return series


def window(hours: int, now: datetime) -> tuple[datetime, datetime]:
    return now - timedelta(hours=hours), now
