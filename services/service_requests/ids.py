"""Request ids residents can read out at a desk and look up in public, but cannot enumerate.

``HP-2026-000123-7KQX``: district prefix, year (Heping time), a running number (for people: it
says which request came first), and 4 random Crockford base-32 characters (no I, L, O, U: nothing to
misread). The public lookup needs the whole id, so guessing a neighbour's id means about a million
tries per running number, not one.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32
SUFFIX_LENGTH = 4
LOCAL = ZoneInfo("Asia/Shanghai")
PATTERN = re.compile(r"^[A-Z]{1,8}-\d{4}-\d{6,}-[0-9A-HJKMNP-TV-Z]{4}$")


def random_suffix(length: int = SUFFIX_LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def public_id(prefix: str, requested_at: datetime, number: int, suffix: str | None = None) -> str:
    """The id of request ``number`` made at ``requested_at`` (an aware datetime)."""
    year = requested_at.astimezone(LOCAL).year
    return f"{prefix}-{year}-{number:06d}-{suffix or random_suffix()}"


def normalise(text: str) -> str | None:
    """The id as stored (upper case; o/i/l read as 0/1/1), or None if it cannot be one."""
    candidate = text.strip().upper()
    head, _, suffix = candidate.rpartition("-")
    candidate = f"{head}-{suffix.translate(str.maketrans('OIL', '011'))}"
    return candidate if PATTERN.match(candidate) else None
