"""The date range of the request statistics: natural days in Asia/Shanghai, as the centres count them (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from services.service_requests.ids import LOCAL

DEFAULT_DAYS = 30
MAX_DAYS = 366  # one year and a day: enough for an annual report, bounded for the database
# Dates the platform can hold requests for. Also keeps Asia/Shanghai on +08:00: before 1992 it had summer
# time (+09:00) and before 1901 local mean time (+08:05:43), an offset RFC 3339 cannot even write.
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2099, 12, 31)


class RangeError(ValueError):
    """A date range the statistics refuse (the message says why)."""


@dataclass(frozen=True)
class Window:
    """Natural days ``first_day`` .. ``last_day`` (both included) in Asia/Shanghai."""

    first_day: date
    last_day: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), LOCAL)

    @property
    def end(self) -> datetime:
        """The first moment after the window (exclusive bound)."""
        return datetime.combine(self.last_day + timedelta(days=1), time(), LOCAL)

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range((self.last_day - self.first_day).days + 1)]


def local_day(at: datetime) -> date:
    return at.astimezone(LOCAL).date()


def window(first_day: date | None, last_day: date | None, now: datetime) -> Window:
    """The range asked for; by default the last DEFAULT_DAYS days up to today. RangeError if it makes no sense."""
    last = last_day or local_day(now)
    first = first_day or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise RangeError("the first day comes after the last day")
    if first < EARLIEST_DAY or last > LATEST_DAY:
        raise RangeError(f"days from {EARLIEST_DAY} to {LATEST_DAY} only")
    if (last - first).days + 1 > MAX_DAYS:
        raise RangeError(f"at most {MAX_DAYS} days at a time")
    return Window(first, last)
