"""/air in a real browser: the AQI in the standard's colour with its name, advice, map, charts, gauge,
alerts, the English switch, and a live update from the event stream; screenshots for the README.

Readings go in through the store function the worker uses (and the rollups the backend runs), the live
update is the event the worker publishes after storing a reading.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from services.air_quality.aqi import calculate
from services.air_quality.aqi_china import CHINA_TZ
from services.air_quality.kpi import Baseline, pm25_kpi
from services.air_quality.measures import POLLUTANTS
from services.air_quality.models import AirDaily, AirStation
from services.air_quality.queries import daily_pm25
from services.air_quality.rollups import roll_up_dirty, upsert
from services.air_quality.store import record_air_readings
from services.alerts.events import publish as publish_alerts
from services.alerts.logic import Action
from services.alerts.store import clear_condition, raise_or_refresh
from services.alerts.store import event as alert_event
from services.db import transaction
from services.events import bus
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

STEP = timedelta(minutes=5)
# PM2.5 now at each station (µg/m³): 良, 轻度污染, 优, 中度污染, no reading yet, 优.
PM25_NOW = {
    "AQ-HEPING-01": 50.0,
    "AQ-HEPING-02": 80.0,
    "AQ-HEPING-03": 20.0,
    "AQ-HEPING-04": 130.0,
    "AQ-HEPING-06": 12.0,
}
HISTORY = {"AQ-HEPING-01": timedelta(days=30)}  # the others: one day
HERO = "AQ-HEPING-01"
# GB 3095 / HJ 633 colours of 良 and 重度污染 (reference/aqi.md §1.5), as the browser reports them.
YELLOW, PURPLE = "rgb(255, 255, 0)", "rgb(153, 0, 76)"


def concentrations(station: AirStation, pm25_now: float, ago: timedelta) -> dict:
    """Smooth daily and weather cycles ending at ``pm25_now``; gases below PM2.5's sub-index; no value twice."""
    hours = ago.total_seconds() / 3600
    cycles = 0.25 * math.sin(2 * math.pi * hours / 24) + 0.3 * math.sin(2 * math.pi * hours / (24 * 9))
    pm25 = pm25_now * (1 + cycles) + 0.7 * math.sin(hours * 1.3)
    values = {
        "pm25": pm25,
        "pm10": pm25 * 1.6,
        "so2": 8 + math.sin(hours),
        "no2": 35 + 5 * math.sin(hours / 3),
        "o3": 60 + 10 * math.cos(hours / 4),
        "co": 0.6 + 0.1 * math.sin(hours / 5),
        "temperature": 12 + 4 * math.sin(hours / 4),
        "humidity": 55 + 5 * math.cos(hours / 6),
    }
    return {m: v for m, v in values.items() if m in station.pollutants or m in ("temperature", "humidity")}


def reading(station: AirStation, seq: int, at: datetime, values: dict) -> dict:
    return {
        "device_id": station.device_id,
        "boot": 1,
        "seq": seq,
        "station_id": station.id,
        "observed_at": at.timestamp(),
        "received_at": at.timestamp() + 1,
    } | values


@pytest.fixture
def air(runtime):
    """Readings every 5 minutes up to now (30 days at the national station), rolled up; one open alert."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with transaction(runtime.sessions) as session:
        stations = {s.id: s for s in session.scalars(select(AirStation))}
        for station_id, pm25_now in PM25_NOW.items():
            station = stations[station_id]
            steps = int(HISTORY.get(station_id, timedelta(days=1)) / STEP)
            ago = [(steps - seq) * STEP for seq in range(steps + 1)]
            rows = [
                reading(station, seq, now - before, concentrations(station, pm25_now, before))
                for seq, before in enumerate(ago)
            ]
            record_air_readings(session, rows)
        roll_up_dirty(session)
        raise_or_refresh(
            session,
            kind="air_aqi",
            source_type="air_station",
            source_id="AQ-HEPING-04",
            severity="warning",
            title_zh="南市微站（样例）空气质量指数持续超过100",
            title_en="Nanshi Micro Sensor (sample): AQI above 100 for 2 hours",
            detail={},
            at=now - timedelta(hours=1),
        )
    hero = stations[HERO]
    return {"now": now, "hero": hero, "expected": rate(concentrations(hero, PM25_NOW[HERO], timedelta(0)))}


def rate(values: dict):
    """What the AQI module says of a reading's pollutants (the page must show the same)."""
    return calculate({p: v for p, v in values.items() if p in POLLUTANTS})


def publish_reading(runtime, station: AirStation, seq: int, at: datetime, values: dict) -> None:
    """Store a reading and announce it exactly as the ingest worker does (workers/jobs.py)."""
    with transaction(runtime.sessions) as session:
        _stored, changes = record_air_readings(session, [reading(station, seq, at, values)])
    bus.publish(runtime.redis, runtime.keys, [{"kind": "air_station", **change} for change in changes])


def announce_alert(runtime, write) -> int:
    """Write an alert change and publish it after the commit, as the alert evaluator job does (workers/jobs.py)."""
    with transaction(runtime.sessions) as session:
        alert, action = write(session)
        event = alert_event(alert, action)
    publish_alerts(runtime.redis, runtime.keys, [event])
    return event["id"]


def hero(page):
    return page.locator("[data-hero]")


def test_air_page_shows_the_aqi_in_colour_with_its_name_and_updates_live(page, air, runtime):
    expected = air["expected"]
    assert expected.category.zh == "良"  # the data are chosen so; the page must say the same
    page.goto("/air")

    # The headline: number, category name beside it, on the standard's colour, with advice and time.
    expect(hero(page).locator("[data-field='aqi']")).to_have_text(str(expected.aqi))
    expect(hero(page).locator("[data-field='category']")).to_have_text("良")
    index = hero(page).locator("[data-field='hero-index']")
    assert index.evaluate("el => getComputedStyle(el).backgroundColor") == YELLOW
    expect(hero(page).locator("[data-field='measures']")).to_have_text(expected.advice["measures"]["zh"])
    expect(hero(page)).to_contain_text("PM2.5")
    local = air["now"].astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
    expect(hero(page).locator("time")).to_have_text(local)

    # Every station: a badge carrying its category's name; the one without readings says so.
    rows = page.locator(".station-row")
    expect(rows).to_have_count(6)
    expect(page.locator(".station-row[data-station-id='AQ-HEPING-04'] .aqi-badge")).to_have_class("aqi-badge aqi-4")
    expect(page.locator(".station-row[data-station-id='AQ-HEPING-04'] .aqi-badge")).to_contain_text("中度污染")
    expect(page.locator(".station-row[data-station-id='AQ-HEPING-05'] .aqi-badge")).to_contain_text("暂无评级")

    # The map: one badge per station, number and name together.
    expect(page.locator(".air-marker")).to_have_count(6)
    expect(page.locator(".air-marker", has_text="轻度污染")).to_have_count(1)

    # The gauge says a 365-day mean is not valid yet instead of guessing; the open alert is listed.
    expect(page.locator(".air-gauge")).to_contain_text("324")
    expect(page.locator(".air-alerts")).to_contain_text("南市微站（样例）空气质量指数持续超过100")

    # The 24-hour trend of the headline station, from the hourly rollup.
    expect(page.locator(".air-chart[data-chart='24h'] .uplot")).to_have_count(1)

    screenshot(page, "air-laptop")

    # Live: the worker stores a reading and announces it; the headline turns 重度污染, purple.
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    polluted = concentrations(air["hero"], 160.0, timedelta(0))
    publish_reading(runtime, air["hero"], 100_000, air["now"] + timedelta(minutes=1), polluted)
    rated = rate(polluted)
    expect(hero(page).locator("[data-field='aqi']")).to_have_text(str(rated.aqi))
    expect(hero(page).locator("[data-field='category']")).to_have_text("重度污染")
    expect(index).to_have_class("air-now-index aqi-5")
    assert index.evaluate("el => getComputedStyle(el).backgroundColor") == PURPLE
    expect(page.locator(".station-row[data-station-id='AQ-HEPING-01'] .aqi-badge")).to_contain_text("重度污染")
    expect(page.locator(".air-marker", has_text="重度污染")).to_have_count(1)

    # Live alerts: one raised and announced as the alert evaluator does appears; cleared, it goes.
    title = "和平区国控站（样例）空气质量指数持续超过200"
    hero_aqi = {"kind": "air_aqi", "source_type": "air_station", "source_id": HERO, "at": air["now"]}
    alert_id = announce_alert(
        runtime,
        lambda session: raise_or_refresh(
            session, **hero_aqi, severity="critical", title_zh=title, title_en="AQI above 200", detail={}
        ),
    )
    expect(page.locator(f".alert-item[data-alert-id='{alert_id}']")).to_contain_text(title)
    expect(page.locator(f".alert-item[data-alert-id='{alert_id}'] .alert-severity")).to_have_text("严重")
    announce_alert(runtime, lambda session: (clear_condition(session, **hero_aqi), Action.CLEARED))
    expect(page.locator(f".alert-item[data-alert-id='{alert_id}']")).to_have_count(0)


def test_empty_page_says_what_to_expect_then_fills_live(page, runtime):
    page.goto("/air")
    empty = page.locator(".air-now.air-empty")
    expect(empty).to_contain_text("暂无读数")
    expect(empty).to_contain_text("站点至少每 5 分钟上报一次")
    expect(page.locator(".air-chart[data-chart='24h']")).to_contain_text("至少 45 分钟")
    expect(page.locator(".air-gauge")).to_contain_text("现有 0 个有效日")
    expect(page.locator(".air-alerts")).to_contain_text("目前没有空气质量告警")
    expect(page.locator(".station-row .aqi-badge", has_text="暂无评级")).to_have_count(6)

    # The first reading arrives: the headline card appears, rated, without a reload.
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    with runtime.sessions() as session:
        station = session.get(AirStation, HERO)
    values = concentrations(station, 90.0, timedelta(0))
    publish_reading(runtime, station, 1, datetime.now(UTC), values)
    expected = rate(values)
    expect(hero(page).locator("[data-field='aqi']")).to_have_text(str(expected.aqi))
    expect(hero(page).locator("[data-field='category']")).to_have_text(expected.category.zh)
    expect(page.locator(".air-now.air-empty")).to_have_count(0)
    expect(page.locator(f".station-row[data-station-id='{HERO}'] .aqi-badge")).to_contain_text(expected.category.zh)


def test_english_switch(page, air):
    page.goto("/air")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Air quality in Heping")
    expect(hero(page).locator("[data-field='category']")).to_have_text("Good")
    expect(hero(page).locator("[data-field='measures']")).to_have_text(air["expected"].advice["measures"]["en"])
    nanshi = page.locator(".station-row[data-station-id='AQ-HEPING-04'] .aqi-badge")
    expect(nanshi).to_contain_text("Moderately polluted")


@pytest.mark.parametrize("screen", ["phone"], indirect=True)
def test_phone_layout(page, air):
    page.goto("/air")
    expect(hero(page).locator("[data-field='category']")).to_have_text("良")
    # Nothing wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "air-phone")


def test_station_page(page, air):
    page.goto(f"/air/{HERO}")
    expect(page.locator("h1")).to_contain_text("和平区国控站")
    expect(hero(page).locator("[data-field='category']")).to_have_text("良")
    expect(page.locator(".readings-table")).to_contain_text("PM2.5")
    # Both charts drawn from the hourly and daily rollups (30 days of readings at this station).
    expect(page.locator(".air-chart[data-chart='24h'] .uplot")).to_have_count(1)
    expect(page.locator(".air-chart[data-chart='30d'] .uplot")).to_have_count(1)
    expect(page.locator(".air-chart[data-chart='30d'] .u-legend")).to_contain_text("PM2.5")
    screenshot(page, "air-station-laptop")


def test_unknown_station_is_a_404_page(client):
    response = client.get("/air/NOPE")
    assert response.status_code == 404
    assert "没有这个站点" in response.get_data(as_text=True)


def test_pm25_gauge_with_a_valid_year(page, runtime):
    """A year of valid daily means at the reference stations: the gauge draws the mean against the marks."""
    today = datetime.now(CHINA_TZ).date()
    rows = [
        {"station_id": station_id, "day": today - timedelta(days=n), "pm25": 45.0 + 5 * math.sin(n / 9)}
        | {"hours": {"pm25": 24}, "computed_at": datetime.now(UTC)}
        for station_id in ("AQ-HEPING-01", "AQ-HEPING-02")
        for n in range(1, 400)
    ]
    with transaction(runtime.sessions) as session:
        upsert(session, AirDaily, rows, ["station_id", "day"])
        daily = daily_pm25(session, today - timedelta(days=400), today)
    settings = runtime.settings
    kpi = pm25_kpi(daily, today, today.year, Baseline(settings.air_pm25_baseline, settings.air_pm25_baseline_label))
    rolling = kpi["rolling_365"]
    assert rolling["valid"] and rolling["meets_target"] and not rolling["meets_annual_limit"]
    page.goto("/air")
    period = page.locator(".gauge-period").first
    expect(period.locator(".gauge-bar")).to_have_class("gauge-bar gauge-ok")
    expect(period.locator(".gauge-verdict")).to_contain_text(f"{rolling['mean']:.1f} µg/m³")
    expect(period.locator(".gauge-verdict")).to_contain_text("已达到目标")
    expect(period.locator(".gauge-verdict")).to_contain_text("超过二级限值")
    expect(period.locator(".gauge-limit")).to_contain_text("限值 30")
