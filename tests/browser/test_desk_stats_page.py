"""The desk's statistics page on a laptop: a clerk of 睦南道社区 reads the month's figures, charts and downloads.

A month of requests is logged through the store at past times (a fixed random seed, so the page is the
same every run); the page must show the same figures as the API, draw its charts with uPlot, speak
Chinese, narrow to a date range and hand out a CSV that Excel opens and that holds no personal data.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from services.accounts.roles import Role
from services.accounts.store import create_user
from services.db import transaction
from services.service_requests import store
from services.service_requests.catalogue import district_catalogue
from services.service_requests.lifecycle import Change, Status
from services.service_requests.stats_range import local_day
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

S = Status
PASSWORD = "stats-password-2026"
HOME, OTHER = "wudadao-01", "nanshi-01"  # 睦南道社区, 荣业社区
RESIDENT_NAME, RESIDENT_PHONE = "王秀兰", "138 2222 3344"
SERVICES = ("EN-STREETLIGHT", "EN-GARBAGE", "EN-NOISE", "EN-GREENERY", "SS-PENSION-CERT", "SS-SOCIAL-CARD",
            "EC-MEAL-SUBSIDY", "HS-OLD-BUILDING-REPAIR", "CA-RESIDENCE-CERT", "EM-JOB-REFERRAL")  # fmt: skip
# How a request went on: (hours after submission, new status) ...
PATHS = (
    ((2, S.ACCEPTED), (4, S.IN_PROGRESS), (20, S.RESOLVED)),
    ((1, S.ACCEPTED), (3, S.IN_PROGRESS), (40, S.RESOLVED), (60, S.CLOSED)),
    ((6, S.ACCEPTED), (8, S.IN_PROGRESS), (120, S.RESOLVED)),
    ((3, S.ACCEPTED), (5, S.ASSIGNED)),
    ((2, S.ACCEPTED), (6, S.ON_HOLD)),
    ((4, S.REJECTED),),
    (),
)


@pytest.fixture
def month(runtime):
    """Two clerks and an operator; 60 requests within the last 29 days at 睦南道, 12 at 荣业, 3 older ones waiting.

    29, not 30: the default window is 30 natural days in Asia/Shanghai up to today, so just after local midnight
    it reaches only 29 days and a few minutes back (a request 29.5 days old fell out of it at 01:35).
    """
    catalogue = district_catalogue(runtime.settings.district_file)
    now = datetime.now(UTC)
    rng = random.Random(2026)
    with transaction(runtime.sessions) as session:
        clerk = create_user(session, "munan-clerk", Role.STAFF, PASSWORD, HOME, display_name="张敏").actor()
        other = create_user(session, "rongye-clerk", Role.STAFF, PASSWORD, OTHER, display_name="赵磊").actor()
        create_user(session, "city-ops", Role.OPERATOR, PASSWORD, display_name="城市运营")
        plans = [(clerk, HOME, rng.uniform(0.05, 28.9)) for _ in range(60)]
        plans += [(other, OTHER, rng.uniform(0.05, 28.9)) for _ in range(12)]
        plans += [(clerk, HOME, days) for days in (35, 48, 52)]
        for actor, community, days_ago in plans:
            at = now - timedelta(days=days_ago)
            service = catalogue.service(rng.choice(SERVICES))
            submission = store.Submission(service, RESIDENT_NAME, RESIDENT_PHONE, community_id=community,
                                          address="睦南道 52 号", description="楼道灯不亮")  # fmt: skip
            request = store.submit(session, catalogue, actor, submission, at)
            path = rng.choice(PATHS) if days_ago < 30 else ()
            for hours, target in path:
                if at + timedelta(hours=hours) < now:
                    change = Change(target, note="已处理", assignee="维修班组")
                    store.change_status(session, catalogue, actor, request, change, at + timedelta(hours=hours))


def log_in(page, username: str) -> None:
    page.goto("/desk")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/desk$"))


def chart_is_drawn(page, name: str) -> bool:
    """The chart's canvas exists and has ink on it (uPlot drew something)."""
    return page.evaluate(
        """name => {
          const canvas = document.querySelector(`.stats-chart[data-chart='${name}'] canvas`);
          if (!canvas || canvas.width < 100) return false;
          const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
          for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) return true;
          return false;
        }""",
        name,
    )


def test_a_clerk_reads_the_months_figures_and_downloads_them(page, month):
    log_in(page, "munan-clerk")
    page.locator(".desk-bar").get_by_role("link", name="统计").click()
    expect(page).to_have_url(re.compile(r"/desk/stats$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_contain_text("申请统计")
    expect(page.locator(".stats-scope")).to_have_text("睦南道社区")

    # The headline figures are the API's, for this clerk's community only.
    api = page.request.get("/api/v1/requests/stats").json()
    assert api["total"] == 60 and [c["key"] for c in api["by_community"]] == [HOME]
    expect(page.locator("[data-kpi=total] .kpi-value")).to_have_text(str(api["total"]))
    expect(page.locator("[data-kpi=backlog] .kpi-value")).to_have_text(str(api["backlog"]["total"]))
    response = api["first_response"]
    expect(page.locator("[data-kpi=first-response] .kpi-value")).to_contain_text(f"{response['median_hours']:.1f}")
    expect(page.locator("[data-kpi=first-response] .kpi-note")).to_contain_text(f"基于 {response['count']} 件申请")
    share = api["sla"]["resolution"]["compliance"]
    expect(page.locator("[data-kpi=sla-resolution] .kpi-value")).to_have_text(f"{share * 100:.1f}%")
    expect(page.locator("[data-kpi=backlog] .kpi-note")).to_contain_text("最久已等")

    # Charts drawn by uPlot, labelled in Chinese; a clerk sees no per-community chart (it is one community).
    for name in ("daily", "category", "backlog"):
        expect(page.locator(f".stats-chart[data-chart='{name}'] .uplot")).to_have_count(1)
        assert chart_is_drawn(page, name), name
    expect(page.locator(".stats-chart[data-chart='community']")).to_have_count(0)
    expect(page.locator(".stats-chart[data-chart='daily'] .u-legend")).to_contain_text("当日新增")
    expect(page.locator(".stats-chart[data-chart='daily'] .u-legend")).to_contain_text("当日办结")
    page.locator("#category-title ~ .chart-table summary").click()
    expect(page.locator("#category-title ~ .chart-table")).to_contain_text("社区环境与城市管理")
    expect(page.locator("#backlog-title ~ .chart-table")).to_contain_text("30 天以上")
    expect(page.locator(".status-counts")).to_contain_text("已办结")
    page.locator("#category-title ~ .chart-table summary").click()  # folded again for the screenshot
    screenshot(page, "desk-stats")

    # The requests as CSV: Excel's byte-order mark, Chinese names, and nothing about the resident.
    with page.expect_download() as download:
        page.get_by_role("link", name="下载申请明细（CSV）").click()
    body = open(download.value.path(), "rb").read()
    assert body.startswith(b"\xef\xbb\xbf") and download.value.suggested_filename.endswith(".csv")
    text = body.decode("utf-8-sig")
    assert len(text.strip().splitlines()) == 61 and "睦南道社区" in text
    for secret in (RESIDENT_NAME, RESIDENT_PHONE, "睦南道 52 号", "楼道灯不亮"):
        assert secret not in text

    # A narrower range: the last 7 days.
    page.get_by_role("link", name="最近 7 天").click()
    today = local_day(datetime.now(UTC))
    expect(page.locator(".stats-range")).to_contain_text(f"{today - timedelta(days=6)} 至 {today}")
    week = page.request.get(f"/api/v1/requests/stats?start={today - timedelta(days=6)}&end={today}").json()
    expect(page.locator("[data-kpi=total] .kpi-value")).to_have_text(str(week["total"]))
    assert week["total"] < api["total"]


def test_an_operator_compares_communities(page, month):
    log_in(page, "city-ops")
    page.goto("/desk/stats")
    expect(page.locator(".stats-scope")).to_have_text("全部社区")
    expect(page.locator("[data-kpi=total] .kpi-value")).to_have_text("72")
    expect(page.locator(".stats-chart[data-chart='community'] .uplot")).to_have_count(1)
    assert chart_is_drawn(page, "community")
    page.get_by_label("社区", exact=True).select_option(OTHER)
    page.get_by_role("button", name="查看").click()
    expect(page.locator(".stats-scope")).to_have_text("荣业社区")
    expect(page.locator("[data-kpi=total] .kpi-value")).to_have_text("12")
    expect(page.get_by_role("link", name="下载统计数据（CSV）")).to_have_attribute("href", re.compile(OTHER))


def test_a_range_that_makes_no_sense_says_so(page, month):
    log_in(page, "munan-clerk")
    page.goto("/desk/stats?start=2026-13-01")
    expect(page.locator(".flash-error")).to_contain_text("日期请写成 2026-11-26 的格式")
    expect(page.locator("[data-kpi=total] .kpi-value")).to_have_text("60")  # the default range instead
