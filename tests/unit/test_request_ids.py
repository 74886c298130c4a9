"""Request ids: readable, local year, a random suffix, and forgiving of case and look-alike letters."""

from datetime import UTC, datetime

from services.service_requests.ids import ALPHABET, normalise, public_id


def test_id_shape_uses_the_local_year():
    new_year_eve_utc = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)  # already 2027 in Heping
    rid = public_id("HP", new_year_eve_utc, 123)
    prefix, year, number, suffix = rid.split("-")
    assert (prefix, year, number) == ("HP", "2027", "000123")
    assert len(suffix) == 4 and set(suffix) <= set(ALPHABET)


def test_suffixes_differ():
    now = datetime(2026, 5, 4, tzinfo=UTC)
    assert len({public_id("HP", now, 1) for _ in range(50)}) > 45


def test_normalise():
    assert normalise(" hp-2026-000123-7kqx ") == "HP-2026-000123-7KQX"
    assert normalise("HP-2026-000123-O1LI") == "HP-2026-000123-0111"  # read as the digits they look like
    assert normalise("HP-2026-000123") is None
    assert normalise("HP-2026-000123-7KQ") is None
    assert normalise("'; drop table") is None
