from services.parking.logic import BerthStatus, next_status
from services.pipeline.identity import is_newer, newest_by


def ev(boot, seq, occupied=True):
    return {"boot": boot, "seq": seq, "occupied": occupied}


def test_ordering_is_by_boot_then_seq():
    assert is_newer(1, 5, None, None)
    assert is_newer(1, 6, 1, 5)
    assert not is_newer(1, 5, 1, 5)  # the same message again
    assert not is_newer(1, 4, 1, 5)  # late
    assert is_newer(2, 1, 1, 900)  # a reboot restarts seq and is still newer


def test_newest_by_picks_the_latest_per_key():
    rows = [{"k": "a", **ev(1, 3)}, {"k": "a", **ev(2, 1)}, {"k": "b", **ev(1, 9)}, {"k": "a", **ev(1, 8)}]
    newest = newest_by(rows, "k")
    assert (newest["a"]["boot"], newest["a"]["seq"]) == (2, 1)
    assert newest["b"]["seq"] == 9


def test_berth_state_moves_only_forward():
    assert next_status(("unknown", None, None), ev(1, 1, True)) is BerthStatus.OCCUPIED
    assert next_status(("occupied", 1, 5), ev(1, 6, False)) is BerthStatus.FREE
    assert next_status(("occupied", 1, 5), ev(1, 5, False)) is None  # duplicate
    assert next_status(("occupied", 1, 5), ev(1, 3, False)) is None  # out of order
    assert next_status(("closed", 1, 5), ev(1, 6, False)) is BerthStatus.CLOSED
