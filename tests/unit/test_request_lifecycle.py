"""The request lifecycle: every allowed and every forbidden transition, role rules, and the SLA clocks."""

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from services.accounts.roles import PUBLIC, Actor, Role
from services.service_requests.catalogue import Sla
from services.service_requests.lifecycle import (
    Change,
    InvalidTransition,
    MissingDetail,
    NotPermitted,
    Status,
    check_transition,
    open311_status,
)
from services.service_requests.sla import sla_state

S = Status
# The lifecycle as the issue states it, written out edge by edge (independently of TRANSITIONS).
ALLOWED = {
    (S.SUBMITTED, S.ACCEPTED), (S.SUBMITTED, S.REJECTED), (S.SUBMITTED, S.DUPLICATE),
    (S.ACCEPTED, S.ASSIGNED), (S.ACCEPTED, S.IN_PROGRESS), (S.ACCEPTED, S.ON_HOLD),
    (S.ACCEPTED, S.REJECTED), (S.ACCEPTED, S.DUPLICATE),
    (S.ASSIGNED, S.ASSIGNED), (S.ASSIGNED, S.IN_PROGRESS), (S.ASSIGNED, S.ON_HOLD), (S.ASSIGNED, S.DUPLICATE),
    (S.IN_PROGRESS, S.ASSIGNED), (S.IN_PROGRESS, S.ON_HOLD), (S.IN_PROGRESS, S.RESOLVED),
    (S.ON_HOLD, S.ACCEPTED), (S.ON_HOLD, S.ASSIGNED), (S.ON_HOLD, S.IN_PROGRESS),
    (S.RESOLVED, S.CLOSED), (S.RESOLVED, S.IN_PROGRESS),
}  # fmt: skip
MATRIX = list(product(Status, Status))
STAFF = Actor(Role.STAFF, 1, "clerk", "wudadao-01")
OPERATOR = Actor(Role.OPERATOR, 2, "ops")


def full_change(target: Status) -> Change:
    """A change carrying every detail any transition may need, so only the state rule decides."""
    return Change(target, note="reason given", assignee="维修班组 2", duplicate_of="HP-2026-000001-ABCD")


@pytest.mark.parametrize(("current", "target"), [p for p in MATRIX if p in ALLOWED], ids=str)
def test_allowed_transition(current, target):
    check_transition(current, full_change(target), STAFF, "wudadao-01")


@pytest.mark.parametrize(("current", "target"), [p for p in MATRIX if p not in ALLOWED], ids=str)
def test_forbidden_transition(current, target):
    with pytest.raises(InvalidTransition, match=f"cannot become {target}"):
        check_transition(current, full_change(target), OPERATOR, "wudadao-01")


def test_matrix_is_the_whole_product():
    assert len(MATRIX) == 81 and len(ALLOWED) == 20


@pytest.mark.parametrize("final", [S.CLOSED, S.REJECTED, S.DUPLICATE])
def test_final_statuses_allow_nothing(final):
    with pytest.raises(InvalidTransition, match="none: it is final"):
        check_transition(final, full_change(S.IN_PROGRESS), OPERATOR, None)


@pytest.mark.parametrize(
    ("current", "change", "field"),
    [
        (S.SUBMITTED, Change(S.REJECTED), "note"),
        (S.ACCEPTED, Change(S.ON_HOLD, note="  "), "note"),
        (S.RESOLVED, Change(S.IN_PROGRESS), "note"),
        (S.ACCEPTED, Change(S.ASSIGNED), "assignee"),
        (S.SUBMITTED, Change(S.DUPLICATE, note="same lamp"), "duplicate_of"),
    ],
)
def test_transitions_that_need_a_detail(current, change, field):
    with pytest.raises(MissingDetail) as err:
        check_transition(current, change, STAFF, "wudadao-01")
    assert err.value.field == field


@pytest.mark.parametrize(
    ("actor", "community"),
    [
        (PUBLIC, "wudadao-01"),
        (Actor(Role.STAFF, 3, "other", "nanshi-01"), "wudadao-01"),  # staff of another community
        (STAFF, None),  # an unrouted request belongs to the operators
    ],
)
def test_roles_that_may_not_change_a_request(actor, community):
    with pytest.raises(NotPermitted):
        check_transition(S.SUBMITTED, Change(S.ACCEPTED), actor, community)


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.ADMIN])
def test_city_wide_roles_may_change_any_request(role):
    check_transition(S.SUBMITTED, Change(S.ACCEPTED), Actor(role, 9, "x"), "nanshi-01")
    check_transition(S.SUBMITTED, Change(S.ACCEPTED), Actor(role, 9, "x"), None)


def test_open311_knows_only_open_and_closed():
    assert {s: open311_status(s) for s in Status} == {
        S.SUBMITTED: "open", S.ACCEPTED: "open", S.ASSIGNED: "open", S.IN_PROGRESS: "open", S.ON_HOLD: "open",
        S.RESOLVED: "closed", S.CLOSED: "closed", S.REJECTED: "closed", S.DUPLICATE: "closed",
    }  # fmt: skip


# -- SLA clocks: explicit times, no wall clock ---------------------------------------------------------
T0 = datetime(2026, 5, 4, 1, 0, tzinfo=UTC)  # 09:00 in Heping
SLA = Sla(response_hours=4, resolution_hours=24)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_fresh_request_has_both_clocks_running():
    state = sla_state([(T0, S.SUBMITTED)], SLA, now=h(1))
    assert state.response.due_at == h(4) and state.resolution.due_at == h(24)
    assert state.response.remaining == timedelta(hours=3) and not state.overdue


def test_response_clock_stops_at_the_first_response():
    state = sla_state([(T0, S.SUBMITTED), (h(2), S.ACCEPTED)], SLA, now=h(10))
    assert not state.response.running and state.response.due_at is None and not state.response.late
    assert state.response.elapsed == timedelta(hours=2)
    assert state.resolution.due_at == h(24)


def test_response_overdue_when_nobody_answers_in_time():
    state = sla_state([(T0, S.SUBMITTED)], SLA, now=h(4.5))
    assert state.response.overdue and state.overdue and not state.resolution.overdue


def test_late_response_is_late_but_no_longer_overdue():
    state = sla_state([(T0, S.SUBMITTED), (h(6), S.ACCEPTED)], SLA, now=h(7))
    assert state.response.late and not state.response.overdue


def test_on_hold_pauses_the_resolution_clock_and_moves_the_due_time():
    timeline = [(T0, S.SUBMITTED), (h(1), S.ACCEPTED), (h(10), S.ON_HOLD)]
    paused = sla_state(timeline, SLA, now=h(100))  # long past the original due time, but waiting
    assert paused.resolution.paused and not paused.resolution.running
    assert paused.resolution.due_at is None and not paused.overdue
    assert paused.resolution.elapsed == timedelta(hours=10)
    resumed = sla_state([*timeline, (h(40), S.IN_PROGRESS)], SLA, now=h(41))
    assert resumed.resolution.due_at == h(24 + 30)  # 30 hours on hold added
    assert resumed.resolution.remaining == timedelta(hours=13) and not resumed.overdue
    assert sla_state([*timeline, (h(40), S.IN_PROGRESS)], SLA, now=h(54.5)).resolution.overdue


def test_two_holds_add_up():
    timeline = [
        (T0, S.SUBMITTED), (h(1), S.ACCEPTED), (h(2), S.ON_HOLD), (h(5), S.ASSIGNED),
        (h(6), S.ON_HOLD), (h(8), S.IN_PROGRESS),
    ]  # fmt: skip
    assert sla_state(timeline, SLA, now=h(9)).resolution.due_at == h(24 + 3 + 2)


def test_resolved_stops_the_clock_and_reopening_continues_it():
    timeline = [(T0, S.SUBMITTED), (h(1), S.ACCEPTED), (h(5), S.RESOLVED)]
    done = sla_state(timeline, SLA, now=h(50))
    assert not done.resolution.running and not done.overdue and not done.resolution.late
    reopened = sla_state([*timeline, (h(50), S.IN_PROGRESS)], SLA, now=h(51))
    assert reopened.resolution.due_at == h(50 + 19)  # 5 of 24 hours were used before it was resolved


def test_final_statuses_stop_every_clock():
    for final in (S.CLOSED, S.REJECTED, S.DUPLICATE):
        state = sla_state([(T0, S.SUBMITTED), (h(1), final)], SLA, now=h(500))
        assert not state.overdue and state.expected_at is None and not state.resolution.paused


def test_empty_timeline_is_refused():
    with pytest.raises(ValueError):
        sla_state([], SLA, now=T0)
