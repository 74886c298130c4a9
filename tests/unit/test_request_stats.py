"""Request statistics, pure: date ranges, medians, SLA compliance (on-hold pauses), backlog buckets, CSV cells."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.service_requests.catalogue import Sla
from services.service_requests.lifecycle import Status
from services.service_requests.stats import RequestFacts, Step, backlog, compliance, counts, daily, duration, summarise
from services.service_requests.stats_csv import BOM, cell, write_csv
from services.service_requests.stats_range import MAX_DAYS, RangeError, Window, window

S = Status
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 09:00 in Heping
SLAS = {"FIX": Sla(response_hours=2, resolution_hours=10)}


def request(*changes: tuple[float, Status], at: datetime = T0, rid: str = "HP-1", **extra) -> RequestFacts:
    """A request submitted at ``at`` whose status changed to each Status after the given hours (from ``at``)."""
    steps, current = [Step(at, None, S.SUBMITTED)], S.SUBMITTED
    for hours_after, target in changes:
        steps.append(Step(at + timedelta(hours=hours_after), current, target))
        current = target
    fields = {"service_code": "FIX", "category": "environment", "community_id": "wudadao-01"} | extra
    return RequestFacts(rid, status=current, requested_at=at, updated_at=steps[-1].at, steps=tuple(steps), **fields)


# -- date ranges ---------------------------------------------------------------------------------------------
def test_the_default_range_is_the_last_30_heping_days():
    now = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)  # already 26 November, 01:00, in Heping
    span = window(None, None, now)
    assert (span.first_day, span.last_day) == (date(2026, 10, 28), date(2026, 11, 26))
    assert len(span.days) == 30
    assert span.start == datetime(2026, 10, 27, 16, 0, tzinfo=UTC)  # midnight in Heping
    assert span.end == datetime(2026, 11, 26, 16, 0, tzinfo=UTC)


def test_a_range_backwards_or_too_long_is_refused():
    now = datetime(2026, 11, 25, tzinfo=UTC)
    with pytest.raises(RangeError, match="after"):
        window(date(2026, 11, 20), date(2026, 11, 19), now)
    with pytest.raises(RangeError, match=str(MAX_DAYS)):
        window(date(2025, 1, 1), date(2026, 1, 2), now)  # 367 days
    assert len(window(date(2025, 1, 2), date(2026, 1, 2), now).days) == MAX_DAYS
    with pytest.raises(RangeError, match="2000-01-01"):  # schemathesis found year 1044: offset +08:05:43
        window(date(1044, 2, 12), date(1044, 3, 12), now)
    with pytest.raises(RangeError, match="2099-12-31"):
        window(date(2100, 1, 1), date(2100, 1, 2), now)


# -- medians ---------------------------------------------------------------------------------------------------
def test_first_response_is_the_first_change_out_of_submitted():
    facts = [
        request((1, S.ACCEPTED), (5, S.IN_PROGRESS)),
        request((3, S.REJECTED)),  # a refusal is a response too
        request((8, S.DUPLICATE)),
        request(),  # not answered yet: not in the median, not in the count
    ]
    first = duration(f.hours_to(f.first_response_at) for f in facts)
    assert (first.median_hours, first.count) == (3.0, 3)


def test_resolution_is_the_first_time_done_and_leaves_refused_requests_out():
    facts = [
        request((1, S.ACCEPTED), (2, S.IN_PROGRESS), (10, S.RESOLVED), (12, S.IN_PROGRESS), (40, S.RESOLVED)),
        request((1, S.ACCEPTED), (2, S.IN_PROGRESS), (20, S.RESOLVED), (30, S.CLOSED)),
        request((1, S.REJECTED)),
        request((1, S.ACCEPTED), (2, S.DUPLICATE)),
        request((1, S.ACCEPTED)),
    ]
    assert [f.hours_to(f.resolved_at) for f in facts] == [10.0, 20.0, None, None, None]
    resolved = duration(f.hours_to(f.resolved_at) for f in facts)
    assert (resolved.median_hours, resolved.count) == (15.0, 2)


def test_no_durations_have_no_median():
    assert duration([]) == duration([None, None])
    assert (duration([]).median_hours, duration([]).count) == (None, 0)


# -- SLA compliance --------------------------------------------------------------------------------------------
def test_time_on_hold_does_not_count_against_the_resolution_budget():
    now = T0 + timedelta(days=3)
    # 27 hours from submission to resolved, 18 of them on hold: 9 counted hours against a 10-hour budget.
    paused = request((1, S.ACCEPTED), (2, S.ON_HOLD), (20, S.IN_PROGRESS), (27, S.RESOLVED))
    # 12 hours straight through: over the budget.
    straight = request((1, S.ACCEPTED), (2, S.IN_PROGRESS), (12, S.RESOLVED), (13, S.CLOSED))
    result = compliance([paused, straight], SLAS, now)["resolution"]
    assert (result.met, result.missed, result.running, result.running_late) == (1, 1, 0, 0)
    assert result.share == 0.5


def test_running_clocks_are_counted_apart_and_refused_requests_only_for_the_response():
    now = T0 + timedelta(hours=12)
    facts = [
        request((1, S.ACCEPTED), (2, S.IN_PROGRESS)),  # resolution running 12 h > 10 h: late already
        request((1, S.ACCEPTED), (2, S.ON_HOLD)),  # on hold: still open, 2 counted hours
        request(at=now - timedelta(hours=1)),  # response running, within its 2 hours
        request(at=now - timedelta(hours=3), rid="HP-late"),  # response running and late
        request((3, S.REJECTED)),  # responded late (3 h > 2 h); no resolution figure
    ]
    result = compliance(facts, SLAS, now)
    response, resolution = result["response"], result["resolution"]
    assert (response.met, response.missed, response.running, response.running_late) == (2, 1, 2, 1)
    assert response.share == round(2 / 3, 4)
    assert (resolution.met, resolution.missed, resolution.running, resolution.running_late) == (0, 0, 4, 1)
    assert resolution.share is None  # nothing finished: no share rather than 0 %


def test_a_service_missing_from_the_catalogue_has_no_budget_to_meet():
    result = compliance([request((1, S.ACCEPTED), service_code="GONE")], SLAS, T0 + timedelta(days=1))
    assert result["response"].finished == result["response"].running == 0


# -- backlog ---------------------------------------------------------------------------------------------------
def test_backlog_buckets_by_age_with_the_oldest():
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    ages_in_days = {"a": 0.5, "b": 1, "c": 2.9, "d": 3, "e": 6.99, "f": 7, "g": 29.9, "h": 30, "i": 45}
    result = backlog([(rid, now - timedelta(days=d)) for rid, d in ages_in_days.items()], now)
    assert {b.key: b.count for b in result.buckets} == {"lt_1d": 1, "1_3d": 2, "3_7d": 2, "7_30d": 2, "gt_30d": 2}
    assert result.total == 9
    assert (result.oldest_id, result.oldest_age_hours) == ("i", 45 * 24.0)
    assert result.oldest_requested_at == now - timedelta(days=45)


def test_an_empty_backlog_lists_every_bucket_at_zero():
    result = backlog([], datetime(2026, 11, 26, tzinfo=UTC))
    assert [(b.key, b.count) for b in result.buckets] == [
        ("lt_1d", 0), ("1_3d", 0), ("3_7d", 0), ("7_30d", 0), ("gt_30d", 0),
    ]  # fmt: skip
    assert (result.total, result.oldest_id, result.oldest_age_hours) == (0, None, None)


# -- daily series and counts -----------------------------------------------------------------------------------
def test_days_are_heping_days():
    span = Window(date(2026, 11, 1), date(2026, 11, 3))
    late_evening_utc = datetime(2026, 11, 1, 16, 30, tzinfo=UTC)  # 2 November, 00:30, in Heping
    facts = [request(at=T0), request(at=late_evening_utc)]
    resolved = [datetime(2026, 11, 3, 15, 59, tzinfo=UTC), datetime(2026, 11, 3, 3, 0, tzinfo=UTC)]
    series = daily(facts, resolved, span)
    assert [(d.day.day, d.submitted, d.resolved) for d in series] == [(1, 0, 0), (2, 2, 0), (3, 0, 2)]


def test_counts_list_every_known_key_largest_first_ties_in_given_order():
    names = {"a": ("甲", "A"), "b": ("乙", "B"), "c": ("丙", "C")}
    result = counts(["c", "b", "c", "x"], names, every=["a", "b", "c"])
    assert [(c.key, c.count, c.name_zh) for c in result] == [
        ("c", 2, "丙"),
        ("b", 1, "乙"),
        ("x", 1, ""),
        ("a", 0, "甲"),
    ]
    in_order = counts(["c"], names, every=["a", "b", "c"], by_count=False)
    assert [c.key for c in in_order] == ["a", "b", "c"]


def test_empty_data_gives_zeros_not_errors():
    span = Window(date(2026, 11, 1), date(2026, 11, 7))
    names = {"category": {"environment": ("社区环境", "Environment"), "housing": ("住房保障", "Housing")},
             "community": {}}  # fmt: skip
    stats = summarise([], [], [], SLAS, names, span, datetime(2026, 11, 8, tzinfo=UTC))
    assert stats.total == 0
    assert [(c.key, c.count) for c in stats.by_category] == [("environment", 0), ("housing", 0)]
    assert stats.by_community == []
    assert [c.key for c in stats.by_status] == [str(s) for s in Status]
    assert sum(c.count for c in stats.by_status) == 0
    assert stats.first_response.median_hours is None and stats.resolution.count == 0
    assert stats.sla["response"].share is None and stats.sla["resolution"].finished == 0
    assert stats.backlog.total == 0
    assert [(d.submitted, d.resolved) for d in stats.daily] == [(0, 0)] * 7


def test_summarise_puts_the_figures_together():
    span = Window(date(2026, 11, 1), date(2026, 11, 30))
    now = T0 + timedelta(days=2)
    facts = [
        request((1, S.ACCEPTED), (2, S.IN_PROGRESS), (6, S.RESOLVED), rid="HP-1"),
        request((3, S.ACCEPTED), rid="HP-2", community_id="nanshi-01", category="housing"),
        request(rid="HP-3"),
    ]
    names = {"category": {"environment": ("社区环境", "Environment"), "housing": ("住房保障", "Housing")},
             "community": {"wudadao-01": ("睦南道社区", "Munandao")}}  # fmt: skip
    waiting = [("HP-2", T0), ("HP-3", T0)]
    stats = summarise(facts, [facts[0].resolved_at], waiting, SLAS, names, span, now)
    assert stats.total == 3
    assert [(c.key, c.count, c.name_zh) for c in stats.by_community] == [
        ("wudadao-01", 2, "睦南道社区"), ("nanshi-01", 1, ""),
    ]  # fmt: skip
    assert {c.key: c.count for c in stats.by_status}["accepted"] == 1
    assert (stats.first_response.median_hours, stats.first_response.count) == (2.0, 2)
    assert (stats.resolution.median_hours, stats.resolution.count) == (6.0, 1)
    assert stats.backlog.total == 2
    assert {b.key: b.count for b in stats.backlog.buckets}["1_3d"] == 2  # two days old
    assert next(d for d in stats.daily if d.day == date(2026, 11, 2)).submitted == 3


# -- CSV cells -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["=1+1", "+86 138", "-2", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x")'])
def test_text_that_a_spreadsheet_would_run_is_defused(text):
    assert cell(text) == "'" + text


def test_other_cells_are_written_as_they_are():
    assert cell("HP-2026-000001-7KQX") == "HP-2026-000001-7KQX"
    assert cell("社区环境与城市管理") == "社区环境与城市管理"
    assert (cell(None), cell(True), cell(3), cell(0.6667)) == ("", "true", 3, 0.6667)
    assert cell(datetime(2026, 11, 2, 1, 0, tzinfo=UTC)) == "2026-11-02T09:00:00+08:00"


def test_csv_files_start_with_a_byte_order_mark_for_excel():
    body = write_csv(["名称", "value"], [["=cmd", 1]])
    assert body.startswith(BOM.encode("utf-8"))
    assert body.decode("utf-8-sig") == "名称,value\r\n'=cmd,1\r\n"
