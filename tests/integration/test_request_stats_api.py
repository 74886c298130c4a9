"""Request statistics and CSV exports on the real app (PostgreSQL, Redis): scoping, figures, CSV safety.

Requests are put in place with the store's own functions at chosen past times (submission and each change),
so every figure below is worked out by hand from those times and the catalogue's SLA hours.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from services.accounts.roles import Role
from services.accounts.store import create_user
from services.db import transaction
from services.district.models import Community
from services.service_requests import store
from services.service_requests.catalogue import district_catalogue
from services.service_requests.lifecycle import Change, Status
from services.service_requests.stats_csv import EXPORT_COLUMNS
from services.service_requests.stats_range import local_day
from tests.support.accounts import PASSWORD, logged_in

S = Status
HOME, OTHER, ODD = "wudadao-01", "nanshi-01", "odd-01"
ODD_NAME = '=HYPERLINK("http://evil.example","点我")'  # a community name a spreadsheet would run
RESIDENT = {
    "resident_name": "=cmd|' /C calc'!A0",
    "resident_phone": "138 0000 5678",
    "resident_email": "li@example.cn",
    "address": "睦南道 47 号 2 门 301",
    "description": "楼道灯坏了，李大爷摔倒",
}
PERSONAL = ("cmd|", "138 0000 5678", "li@example.cn", "睦南道 47 号", "李大爷")


@pytest.fixture
def accounts(runtime):
    with transaction(runtime.sessions) as session:
        clerk = create_user(session, "clerk", Role.STAFF, PASSWORD, HOME).actor()
        other = create_user(session, "clerk-other", Role.STAFF, PASSWORD, OTHER).actor()
        ops = create_user(session, "ops", Role.OPERATOR, PASSWORD).actor()
        session.add(Community(id=ODD, subdistrict_id="wudadao", name_zh=ODD_NAME, name_en="Odd"))
    return {"clerk": clerk, "other": other, "ops": ops}


def log(runtime, actor, code: str, community: str, at: datetime, *changes: tuple[float, Status]) -> str:
    """A request submitted at ``at``, then moved to each status ``hours`` after ``at``; its public id."""
    catalogue = district_catalogue(runtime.settings.district_file)
    with transaction(runtime.sessions) as session:
        request = store.submit(
            session, catalogue, actor, store.Submission(catalogue.service(code), community_id=community, **RESIDENT), at
        )
        for hours, target in changes:
            change = Change(target, note="记录原因", assignee="维修班组")
            store.change_status(session, catalogue, actor, request, change, at + timedelta(hours=hours))
        return request.public_id


# name -> (who logs it, service, community, days ago, then (hours after submission, new status) ...)
PLANS = {
    # response 1 h (budget 8), resolved after 20 h (budget 72)
    "A": ("clerk", "EN-STREETLIGHT", HOME, 5, (1, S.ACCEPTED), (2, S.IN_PROGRESS), (20, S.RESOLVED)),
    # response 6 h (budget 4: missed), on hold since hour 7: 7 counted hours of 24, waiting 3.5 days
    "B": ("clerk", "EN-GARBAGE", HOME, 3.5, (6, S.ACCEPTED), (7, S.ON_HOLD)),
    # 40 days old, never answered: outside the default range, but the oldest of the backlog
    "C": ("clerk", "EN-STREETLIGHT", HOME, 40),
    # response 2 h (budget 4), resolved after 30 h (budget 48), then closed
    "D": ("clerk", "EN-NOISE", HOME, 10, (2, S.ACCEPTED), (3, S.IN_PROGRESS), (30, S.RESOLVED), (40, S.CLOSED)),
    # response 1 h (budget 2), resolved after 50 h (budget 24: missed)
    "F": ("clerk", "EN-PARKING-OBSTRUCTION", HOME, 6, (1, S.ACCEPTED), (2, S.IN_PROGRESS), (50, S.RESOLVED)),
    # an hour old, not answered yet (budget 8)
    "G": ("clerk", "EN-STREETLIGHT", HOME, 1 / 24),
    # OTHER: rejected after 1 h (budget 4)
    "E": ("other", "EN-GARBAGE", OTHER, 1, (1, S.REJECTED)),
    # ODD: two days unanswered (budget 4: late while still running)
    "H": ("ops", "EN-GARBAGE", ODD, 2),
}


@pytest.fixture
def world(runtime, accounts):
    """The requests of PLANS, logged at their times; name -> public id."""
    now = datetime.now(UTC)
    return {
        name: log(runtime, accounts[who], code, community, now - timedelta(days=ago), *changes)
        for name, (who, code, community, ago, *changes) in PLANS.items()
    }


def by_key(items: list[dict]) -> dict:
    return {item["key"]: item["count"] for item in items}


def test_staff_get_their_own_communitys_figures(app, world):
    staff = logged_in(app, "clerk")
    body = staff.get("/api/v1/requests/stats").json
    assert body["total"] == 5  # A B D F G: C is older than the default 30 days, E and H are not HOME's
    assert [c["key"] for c in body["by_community"]] == [HOME]
    assert body["by_community"][0]["name_zh"] == "睦南道社区"
    assert by_key(body["by_category"])["environment"] == 5 and len(body["by_category"]) == 9
    statuses = {k: n for k, n in by_key(body["by_status"]).items() if n}
    assert statuses == {"resolved": 2, "closed": 1, "on_hold": 1, "submitted": 1}
    assert body["first_response"] == {"median_hours": 1.5, "count": 4}  # 1, 1, 2, 6
    assert body["resolution"] == {"median_hours": 30.0, "count": 3}  # 20, 30, 50
    assert body["sla"]["response"] == {"met": 3, "missed": 1, "running": 1, "running_late": 0, "compliance": 0.75}
    assert body["sla"]["resolution"] == {"met": 2, "missed": 1, "running": 2, "running_late": 0,
                                         "compliance": 0.6667}  # fmt: skip
    backlog = body["backlog"]
    assert (backlog["total"], backlog["oldest_id"]) == (3, world["C"])  # B, C, G
    assert {b["key"]: b["count"] for b in backlog["buckets"]} == {"lt_1d": 1, "1_3d": 0, "3_7d": 1, "7_30d": 0,
                                                                  "gt_30d": 1}  # fmt: skip
    assert 40 * 24 <= backlog["oldest_age_hours"] < 40 * 24 + 1
    assert len(body["daily"]) == 30
    assert sum(d["submitted"] for d in body["daily"]) == 5 and sum(d["resolved"] for d in body["daily"]) == 3
    assert body["range"]["time_zone"] == "Asia/Shanghai" and body["range"]["community_id"] is None


def test_staff_asking_for_another_community_get_nothing_of_it(app, world):
    body = logged_in(app, "clerk").get(f"/api/v1/requests/stats?community_id={OTHER}").json
    assert body["total"] == 0 and body["backlog"]["total"] == 0 and body["by_community"] == []


def test_operators_see_the_district_or_one_community(app, world):
    ops = logged_in(app, "ops")
    body = ops.get("/api/v1/requests/stats").json
    assert body["total"] == 7
    assert by_key(body["by_community"]) == {HOME: 5, OTHER: 1, ODD: 1}
    assert body["sla"]["response"] == {"met": 4, "missed": 1, "running": 2, "running_late": 1, "compliance": 0.8}
    assert body["backlog"]["total"] == 4
    one = ops.get(f"/api/v1/requests/stats?community_id={OTHER}").json
    assert (one["total"], one["by_status"][-2], one["range"]["community_id"]) == (
        1, {"key": "rejected", "count": 1, "name_zh": "", "name_en": ""}, OTHER,
    )  # fmt: skip
    assert one["resolution"]["count"] == 0  # rejected: no resolution figure


def test_the_range_is_chosen_by_day(app, world):
    ops = logged_in(app, "ops")
    today = local_day(datetime.now(UTC))
    wider = ops.get(f"/api/v1/requests/stats?start={(today - timedelta(days=60)).isoformat()}").json
    assert wider["total"] == 8 and len(wider["daily"]) == 61  # C (40 days old) is in now
    assert ops.get("/api/v1/requests/stats?start=2026-02-01&end=2026-01-01").status_code == 422
    too_long = ops.get("/api/v1/requests/stats?start=2024-01-01&end=2026-01-01")
    assert too_long.status_code == 422 and "366" in too_long.json["message"]
    assert ops.get("/api/v1/requests/stats?community_id=nowhere-99").status_code == 422
    assert ops.get("/api/v1/requests/stats?start=yesterday").status_code == 422


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="requests-')
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel on a Chinese Windows reads the Chinese right
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_the_export_has_one_row_per_request_and_no_personal_data(app, world):
    ops = logged_in(app, "ops")
    rows = read_csv(ops.get("/api/v1/requests/export.csv"))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert sorted(r["service_request_id"] for r in records) == sorted(v for k, v in world.items() if k != "C")
    text = "\n".join(",".join(row) for row in rows)
    for secret in PERSONAL:
        assert secret not in text, f"{secret!r} in the export"
    a = next(r for r in records if r["service_request_id"] == world["A"])
    assert (a["service_name_zh"], a["community_name_zh"], a["status"], a["open311_status"]) == (
        "路灯故障报修", "睦南道社区", "resolved", "closed",
    )  # fmt: skip
    assert (a["first_response_hours"], a["resolution_hours"], a["overdue"]) == ("1.0", "20.0", "false")
    assert a["requested_datetime"].endswith("+08:00")
    odd = next(r for r in records if r["community_id"] == ODD)
    assert odd["community_name_zh"] == "'" + ODD_NAME  # shown as text, never run as a formula
    assert odd["overdue"] == "true" and odd["first_response_hours"] == ""
    staff_rows = read_csv(logged_in(app, "clerk").get("/api/v1/requests/export.csv"))
    assert {row[5] for row in staff_rows[1:]} == {HOME} and len(staff_rows) == 6


def test_the_figures_as_csv_match_the_json(app, world):
    staff = logged_in(app, "clerk")
    body = staff.get("/api/v1/requests/stats").json
    rows = read_csv(staff.get("/api/v1/requests/stats.csv"))
    assert rows[0] == ["section", "key", "name_zh", "name_en", "value"]
    figures = {(r[0], r[1]): r[4] for r in rows[1:]}
    assert figures[("total", "requests")] == str(body["total"])
    assert figures[("by_category", "environment")] == "5"
    assert figures[("first_response", "median_hours")] == "1.5"
    assert figures[("sla_resolution", "compliance")] == str(body["sla"]["resolution"]["compliance"])
    assert figures[("backlog_age", "gt_30d")] == "1" and figures[("backlog", "oldest_id")] == world["C"]
    assert sum(int(v) for (section, _), v in figures.items() if section == "daily_resolved") == 3


def test_the_number_of_queries_does_not_grow_with_the_requests(app, runtime, accounts):
    engine = app.extensions["civic"].engine
    ops = logged_in(app, "ops")
    now = datetime.now(UTC)

    def queries_for(path: str) -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert ops.get(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    log(runtime, accounts["ops"], "EN-NOISE", HOME, now - timedelta(days=2), (1, S.ACCEPTED))
    few = [queries_for(p) for p in ("/api/v1/requests/stats", "/api/v1/requests/export.csv", "/desk/stats")]
    for n in range(25):
        log(runtime, accounts["ops"], "EN-NOISE", OTHER, now - timedelta(hours=n), (0.5, S.ACCEPTED))
    many = [queries_for(p) for p in ("/api/v1/requests/stats", "/api/v1/requests/export.csv", "/desk/stats")]
    assert many == few and max(few) <= 12, (few, many)


def test_the_desk_page_shows_the_figures_in_chinese(app, world):
    page = logged_in(app, "ops").get(f"/desk/stats?community_id={HOME}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for text in ("申请统计", "睦南道社区", "首次响应用时（中位数）", "按时响应率", "75.0%", "社区环境与城市管理"):
        assert text in html, text
    assert "/api/v1/requests/export.csv?start=" in html and f"community_id={HOME}" in html
    assert "<script>" not in html  # CSP: data in JSON blocks, code in files


def test_the_api_is_documented(client):
    spec = client.get("/api/openapi.json").json
    for path in ("/api/v1/requests/stats", "/api/v1/requests/stats.csv", "/api/v1/requests/export.csv"):
        assert "get" in spec["paths"][path], path
    assert "RequestStats" in spec["components"]["schemas"]
