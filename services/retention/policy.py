"""Retention rules for raw readings (pure: no I/O): the cut-off, and which hours' raw rows may go.

Raw rows are the bulk of the database (a row per sensor message); what the pages, the KPIs and the
exports read after a few days is the hourly and daily rollups (air) and the occupancy snapshots (parking).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta

from services.air_quality.rollup import HOUR, hour_start

# Rows per DELETE statement, each its own transaction: no statement holds its locks (or, on SQLite, the
# database's one write lock) for long, and ingest goes on in between.
BATCH_ROWS = 5_000


def cutoff(now: datetime, days: int) -> datetime | None:
    """The instant before which raw rows may go: ``days`` before ``now``, down to a whole hour. None: keep all."""
    if days <= 0:
        return None
    return hour_start(now - timedelta(days=days))


def purgeable_ranges(
    rolled: Iterable[datetime], dirty: Iterable[datetime], cut: datetime
) -> list[tuple[datetime, datetime]]:
    """The [start, end) spans of a station's hours whose raw readings may go, adjacent hours merged.

    An hour qualifies when it ended before ``cut``, has an hourly row (``rolled``) and is not marked dirty
    (``dirty``: readings arrived since its last rollup). An hour never rolled up keeps its readings at any age.
    """
    waiting = set(dirty)
    spans: list[tuple[datetime, datetime]] = []
    for hour in sorted(set(rolled)):
        if hour + HOUR > cut or hour in waiting:
            continue
        if spans and spans[-1][1] == hour:
            spans[-1] = (spans[-1][0], hour + HOUR)
        else:
            spans.append((hour, hour + HOUR))
    return spans


def chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
