"""The resident parking page on a phone: nearest car parks with free berths, live counts, each car park's day.

Berth states are put in place through the real write path (store.record_berth_events + actions.announce);
the live change the list must show arrives through the whole pipeline: MQTT -> bridge -> RQ -> worker ->
Redis counts -> parking_facility event -> SSE -> the page, with no reload.
"""

from __future__ import annotations

import json
import math
import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from services.district.loader import berth_id, sensor_id
from tests.browser.conftest import SCREENS, screenshot
from tests.support.services import publish

pytestmark = pytest.mark.browser


@pytest.fixture
def screen() -> str:
    """A resident's phone (../shared/UI.md: 390×844)."""
    return "phone"


# facility -> (free, occupied) among its sensor-equipped berths; the rest stay unknown.
STATES = {
    "P-ZIYANGLI": (30, 100),
    "P-BINJIANG-G": (3, 100),
    "P-JINWAN-G": (0, 90),
    "P-XIAOBAILOU-G": (84, 150),
    "P-MINYUAN-G": (40, 50),
    "P-XIKAI": (6, 24),
    "P-NANSHI": (25, 35),
    "P-GUIZHOULU": (2, 38),
    "P-OS-CHENGDUDAO": (5, 19),
    "P-OS-HAERBINDAO": (4, 26),
    "P-OS-NANJINGLU": (9, 27),
    "P-OS-DUOLUNDAO": (0, 18),
}
BOOT = 1  # the setup's events; the live event the test publishes comes from the device's next boot


def put_states(runtime, states: dict[str, tuple[int, int]]) -> None:
    """Berth states as sensors would have reported them, stored and counted by the real write path."""
    from services.db import transaction
    from services.parking import actions, store

    now = time.time()
    rows = []
    for facility_id, (free, occupied) in states.items():
        for n in range(1, free + occupied + 1):
            bid = berth_id(facility_id, n)
            rows.append(
                {
                    "device_id": sensor_id(bid),
                    "boot": BOOT,
                    "seq": 1,
                    "berth_id": bid,
                    "facility_id": facility_id,
                    "occupied": n > free,
                    "observed_at": now,
                    "received_at": now,
                }
            )
    with transaction(runtime.sessions) as session:
        _, changes = store.record_berth_events(session, rows)
    actions.announce(runtime, changes, states)


def card(page, facility_id: str):
    return page.locator(f'#park-list [data-facility="{facility_id}"]')


def test_phone_list_shows_counts_nearest_first_and_updates_live(page, runtime, pipeline):
    put_states(runtime, STATES)
    page.goto("/parking?near=binjiangdao")

    # Server-rendered: nearest first from the chosen landmark, free counts written with their level.
    ids = page.locator("#park-list > li").evaluate_all("els => els.map(e => e.dataset.facility)")
    assert ids[0] == "P-BINJIANG-G" and len(ids) == len(runtime_facilities(runtime))
    ziyangli = card(page, "P-ZIYANGLI")
    expect(ziyangli.locator('[data-role="free"]')).to_have_text("30")
    expect(ziyangli.locator('[data-role="level"]')).to_have_text("充足")
    expect(card(page, "P-BINJIANG-G").locator('[data-role="level"]')).to_have_text("紧张")
    expect(card(page, "P-JINWAN-G").locator('[data-role="level"]')).to_have_text("已满")
    expect(card(page, "P-HEPINGLU-G").locator('[data-role="level"]')).to_have_text("无实时数据")
    assert "avail-few" in card(page, "P-BINJIANG-G").locator('[data-role="badge"]').get_attribute("class")
    # A way to go there: Amap with GCJ-02 coordinates, and a geo: URI with the WGS-84 ones.
    go = ziyangli.locator("a.nav-go")
    assert go.get_attribute("href").startswith("https://uri.amap.com/navigation?")
    assert ziyangli.locator("a.nav-other").get_attribute("href").startswith("geo:39.130200,117.191200")
    # The map drew a pin per car park, the number written on it.
    expect(page.locator(".pin")).to_have_count(len(ids))
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    page.evaluate("window.__notReloaded = true")

    # One car leaves Ziyangli: a berth sensor's message through the real pipeline.
    message = {"boot": BOOT + 1, "seq": 1, "ts": datetime.now(UTC).isoformat(), "occupied": False}
    topic = f"heping/parking/P-ZIYANGLI/{berth_id('P-ZIYANGLI', 100)}/state"
    assert publish(pipeline["mqtt_url"], [(topic, json.dumps(message).encode())]) == 1

    expect(ziyangli.locator('[data-role="free"]')).to_have_text("31", timeout=20_000)
    expect(page.locator(".pin", has_text="31")).to_have_count(1)  # the map's pin too
    assert page.evaluate("window.__notReloaded") is True
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(page.locator("#counts-at")).to_contain_text("数据更新于")
    screenshot(page, "parking-phone")


def runtime_facilities(runtime) -> list[str]:
    from sqlalchemy import select

    from services.parking.models import ParkingFacility

    with runtime.sessions() as session:
        return list(session.scalars(select(ParkingFacility.id)))


def test_landmark_form_works_without_javascript(browser, live_server, runtime, screen):
    put_states(runtime, STATES)
    context = browser.new_context(
        base_url=live_server.url, viewport=SCREENS[screen], locale="zh-CN", java_script_enabled=False
    )
    page = context.new_page()
    page.goto("/parking")
    assert not page.locator("#locate").is_visible()  # needs JavaScript, so it is not offered without
    page.select_option("#near", "nanshi")
    page.check("input[name=free]")
    page.click("button.apply")
    assert "near=nanshi" in page.url and "free=1" in page.url
    first = page.locator("#park-list > li").first
    assert first.get_attribute("data-facility") == "P-NANSHI"
    # Only car parks with a free berth: the full one and those without live data are left out.
    assert page.locator('#park-list [data-facility="P-JINWAN-G"]').count() == 0
    assert page.locator('#park-list [data-level="unknown"]').count() == 0
    context.close()


def test_category_filter_counts_only_those_berths(page, runtime):
    put_states(runtime, STATES)
    page.goto("/parking")
    page.select_option("#category", "ev_charging")  # submits itself
    expect(page).to_have_url(re.compile(r"category=ev_charging"))
    # Xiaobailou's 30 charging berths (numbered after its 6 for disabled drivers) are all among the free ones.
    expect(card(page, "P-XIAOBAILOU-G").locator('[data-role="free"]')).to_have_text("30")
    expect(card(page, "P-MACHANGDAO")).to_have_count(0)  # no charging berths there


def test_english_switch(page, runtime):
    put_states(runtime, STATES)
    page.goto("/parking")
    page.click("a.lang-switch")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Parking nearby")
    ziyangli = card(page, "P-ZIYANGLI")
    expect(ziyangli.locator(".park-name")).to_have_text("Ziyangli Car Park")
    expect(ziyangli.locator('[data-role="level"]')).to_have_text("Plenty")
    expect(page.locator("#sorted-from")).to_contain_text("Heping district centre")
    expect(page.locator(".pin")).not_to_have_count(0)
    screenshot(page, "parking-phone-en")


def test_facility_detail_with_today_curve(page, runtime):
    put_states(runtime, STATES)
    add_todays_snapshots(runtime, "P-XIAOBAILOU-G")
    page.goto("/parking")
    card(page, "P-XIAOBAILOU-G").locator(".park-name").click()
    expect(page).to_have_url(re.compile(r"/parking/P-XIAOBAILOU-G$"))
    expect(page.locator("h1")).to_have_text("小白楼商务区地下停车库")
    now = page.locator(".facility-now")
    expect(now.locator('[data-role="free"]')).to_have_text("84")
    expect(now.locator('[data-role="occupied"]')).to_have_text("150")
    # Counts by vehicle category, opening hours, tariff.
    expect(page.locator('.category-table tr[data-category="ev_charging"] th')).to_have_text("充电桩")
    expect(page.locator('.category-table tr[data-category="disabled"]')).to_be_visible()
    expect(page.locator(".facility-info")).to_contain_text("24 小时开放")
    expect(page.locator(".facility-info")).to_contain_text("首小时8元")
    # Today's occupancy curve from the history endpoint; the empty state gives way to it.
    expect(page.locator("#occupancy-chart canvas")).to_be_visible()
    expect(page.locator("#occupancy-empty")).to_be_hidden()

    # Live here too: an operator closes a free charging berth (the operator action, which announces it).
    from services.parking import actions

    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    assert actions.set_closed(runtime, berth_id("P-XIAOBAILOU-G", 7), closed=True)
    expect(now.locator('[data-role="closed"]')).to_have_text("1")
    expect(now.locator('[data-role="free"]')).to_have_text("83")
    expect(page.locator('tr[data-category="ev_charging"] [data-role="category-free"]')).to_have_text("29")
    screenshot(page, "parking-facility-phone")


def test_facility_detail_without_history_says_what_to_expect(page, runtime):
    page.goto("/parking/P-XIKAI")
    expect(page.locator("#occupancy-empty")).to_be_visible()
    expect(page.locator("#occupancy-empty")).to_contain_text("每隔几分钟记录一次")
    expect(page.locator("#occupancy-chart canvas")).to_have_count(0)


def test_unknown_facility_is_404(page, runtime):
    response = page.request.get("/parking/P-NOWHERE")
    assert response.status == 404


def add_todays_snapshots(runtime, facility_id: str) -> None:
    """Snapshots every 15 minutes since local midnight on a weekday curve: busy at the office hours."""
    from services.db import transaction
    from services.parking.models import OccupancySnapshot

    local = ZoneInfo("Asia/Shanghai")
    now = datetime.now(local)
    at = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = []
    while at <= now:
        hour = at.hour + at.minute / 60
        busy = 0.25 + 0.65 * math.exp(-(((hour - 11) / 4) ** 2))  # morning arrivals, slow afternoon leaving
        occupied = round(234 * busy)
        rows.append(
            OccupancySnapshot(
                facility_id=facility_id,
                taken_at=at.astimezone(UTC),
                total=260,
                free=234 - occupied,
                occupied=occupied,
                closed=0,
                unknown=26,
            )
        )
        at += timedelta(minutes=15)
    with transaction(runtime.sessions) as session:
        session.add_all(rows)


def test_browser_position_resorts_the_list(page, runtime):
    put_states(runtime, STATES)
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 39.1343, "longitude": 117.1873})  # Nanshi Food Street
    page.goto("/parking")  # no place chosen: the page asks the browser where it is
    expect(page.locator("#sorted-from")).to_have_text("按距您当前位置的距离排序")
    expect(page.locator("#park-list > li").first).to_have_attribute("data-facility", "P-NANSHI")
