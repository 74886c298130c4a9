"""The command centre's console (/ops) on a wall screen: operators only, alerts live and acknowledged.

Alerts are made with the backend's own store and announced on the real event stream; the live-data test
runs the simulator through the real bridge and worker (the ``pipeline`` fixture). The screenshots
(docs/screenshots/ops-*.png) are taken with a day's worth of state written where the platform keeps it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from services.accounts.roles import Role
from services.accounts.store import create_user
from services.alerts import store as alerts
from services.alerts.events import publish
from services.alerts.logic import Action
from services.alerts.models import Alert
from services.db import transaction
from tests.browser.conftest import SCREENS, SCREENSHOTS, screenshot
from tests.browser.ops_world import busy_day
from tests.support.services import ROOT

pytestmark = pytest.mark.browser

PASSWORD = "ops-password-2026"


@pytest.fixture
def operator(runtime):
    with transaction(runtime.sessions) as session:
        create_user(session, "duty-ops", Role.OPERATOR, PASSWORD, display_name="值班员 王磊")
        create_user(session, "munan-clerk", Role.STAFF, PASSWORD, "wudadao-01", display_name="张敏")


def log_in(page, username: str, then: str = "/ops") -> None:
    page.goto(f"/login?next={then}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def raise_alert(runtime, severity: str = "critical", minutes_ago: int = 0, **fields) -> int:
    """An alert raised through the store and announced on the stream, as an evaluator does."""
    values = {
        "kind": "air_aqi",
        "source_type": "air_station",
        "source_id": "heping-jinrong",
        "title_zh": "金融街站 AQI 212（重度污染）",
        "title_en": "Jinrongjie station AQI 212 (heavily polluted)",
        "subdistrict_id": "quanyechang",
    } | fields
    with transaction(runtime.sessions) as session:
        alert, action = alerts.raise_or_refresh(
            session, severity=severity, detail={}, at=datetime.now(UTC) - timedelta(minutes=minutes_ago), **values
        )
        event = alerts.event(alert, action or Action.UPDATED)
        alert_id = alert.id
    publish(runtime.redis, runtime.keys, [event])
    return alert_id


@pytest.fixture
def ops_page(page, app, operator):
    log_in(page, "duty-ops")
    expect(page).to_have_url(re.compile(r"/ops$"))
    return page


@pytest.mark.parametrize("screen", ["wall"], indirect=True)
def test_alert_arrives_live_and_is_acknowledged(ops_page, runtime):
    page = ops_page
    raise_alert(
        runtime,
        "warning",
        30,
        kind="queue_backlog",
        source_type="queue",
        source_id="ingest",
        title_zh="接入队列积压 240 条",
        title_en="Ingest queue backlog: 240 jobs",
        subdistrict_id=None,
    )
    page.reload()
    expect(page.locator(".alert-item")).to_have_count(1)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")

    alert_id = raise_alert(runtime)
    critical = page.locator(f'.alert-item[data-id="{alert_id}"]')
    expect(critical).to_contain_text("金融街站 AQI 212")
    expect(page.locator(".alert-item").first).to_have_attribute("data-id", str(alert_id))  # critical first
    expect(page.locator("#new-critical")).to_be_visible()
    expect(page.locator("#alerts-critical")).to_have_text("1")

    critical.get_by_role("button", name="确认").click()
    expect(critical).to_contain_text("duty-ops 已确认")
    with runtime.sessions() as session:
        stored = session.get(Alert, alert_id)
        assert (stored.state, stored.acknowledged_by) == ("acknowledged", "duty-ops")

    critical.get_by_label("指派给").fill("环保执法二队")
    critical.get_by_label("指派给").press("Enter")
    expect(critical).to_contain_text("指派给 环保执法二队")
    with runtime.sessions() as session:
        assert session.get(Alert, alert_id).assigned_to == "环保执法二队"


def test_only_operators_get_in(browser, live_server, operator):
    context = browser.new_context(base_url=live_server.url, viewport=SCREENS["laptop"], locale="zh-CN")
    page = context.new_page()
    page.goto("/ops")  # a visitor: to the login page, and back here after it
    expect(page).to_have_url(re.compile(r"/login\?next=(%2F|/)ops$"))
    log_in(page, "munan-clerk", then="/desk")
    answer = page.goto("/ops")  # a centre's clerk: a page in words, not the API's JSON
    assert answer.status == 403
    expect(page.locator("h1")).to_have_text("您的账号无权打开此页面")
    page.get_by_role("link", name="换一个账号登录").click()
    expect(page).to_have_url(re.compile(r"/login\?next=(%2F|/)ops$"))
    context.close()


@pytest.mark.parametrize("screen", ["laptop"], indirect=True)
def test_language_switch_and_panels(ops_page):
    page = ops_page
    expect(page.locator("h1")).to_have_text("智慧和平 城市运行指挥中心")
    expect(page.locator('nav a[aria-current="page"]')).to_have_text("城市运行")
    for href in ("/parking", "/air", "/desk", "/ops"):
        expect(page.locator(f'nav a[href="{href}"]')).to_have_count(1)
    expect(page.locator("#kpi-cards .kpi-card").first).to_be_visible()
    page.click("text=English")
    expect(page.locator("h1")).to_have_text("Smart Heping command centre")
    expect(page.locator("#alerts-state")).to_have_text("No open alerts. New ones appear here as they are raised.")
    expect(page.locator("#fleet-title")).to_have_text("Sensor fleet")


@pytest.mark.parametrize("screen", ["wall"], indirect=True)
def test_live_data_arrives_while_the_simulator_runs(page, app, operator, pipeline):
    log_in(page, "duty-ops")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.cli",
            "simulate",
            "--rate",
            "50",
            "--duration",
            "3",
            "--devices",
            "8",
            "--quiet",
        ],
        env=pipeline["env"] | {"MQTT_URL": pipeline["mqtt_url"]},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Each simulated device says it is online while it runs, and offline when the run ends.
        expect(page.locator("#device-feed li", has_text="上线").first).to_be_visible(timeout=15000)
        assert sim.wait(timeout=60) == 0, sim.stderr.read()[-2000:]
    finally:
        sim.kill()
        sim.wait()
    expect(page.locator("#device-feed li", has_text="离线").first).to_be_visible(timeout=15000)
    expect(page.locator("#live-status")).to_contain_text("更新于")


@pytest.mark.parametrize("screen", ["wall", "laptop"], indirect=True)
def test_screenshots(ops_page, runtime, screen):
    """docs/screenshots/ops-<screen>.png on a busy day: alerts open, a few sensors down, the pipeline moving."""
    page = ops_page
    busy_day(runtime)
    raise_alert(
        runtime,
        "warning",
        42,
        kind="queue_backlog",
        source_type="rq_queue",
        source_id="ingest",
        title_zh="队列 ingest 任务积压",
        title_en="Queue ingest: job backlog",
        subdistrict_id=None,
    )
    raise_alert(
        runtime,
        "critical",
        5,
        kind="parking_sensors_offline",
        source_type="parking_facility",
        source_id="P-ZIYANGLI",
        title_zh="紫阳里停车场：6/150 个车位传感器离线或无数据",
        title_en="Ziyangli Car Park: 6 of 150 parking sensors offline or silent",
        subdistrict_id="quanyechang",
    )
    page.reload()
    raise_alert(runtime)
    expect(page.locator(".alert-item")).to_have_count(3)
    page.wait_for_timeout(800)  # map markers and charts drawn
    if screen == "wall":
        page.screenshot(path=str(SCREENSHOTS / "ops-wall.png"))  # a wall shows one screen, no scrolling
    else:
        screenshot(page, "ops-laptop")
        page.click("text=English")
        expect(page.locator("h1")).to_have_text("Smart Heping command centre")
        page.wait_for_timeout(500)
        screenshot(page, "ops-laptop-en")
