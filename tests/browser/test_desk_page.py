"""The community-centre desk on a laptop, and the resident's lookup on a phone.

A clerk logs in through the login page, finds a service by typing two characters, fills its attributes,
logs the request and moves it to resolved with notes; a resident (not logged in, another browser
context) then sees the status and history and none of the personal data. Staff of another community
get a 404 on that request; the desk switches to English. Accounts and the queue's other requests are
put in place with the backend's own functions (services.accounts.store, services.service_requests.store).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from services.accounts.roles import Role
from services.accounts.store import create_user
from services.db import transaction
from services.service_requests import store
from services.service_requests.catalogue import district_catalogue
from services.service_requests.jobs import announce_change
from tests.browser.conftest import SCREENS, screenshot

pytestmark = pytest.mark.browser

PASSWORD = "desk-password-2026"
HOME = "wudadao-01"  # 睦南道社区
OTHER = "nanshi-01"  # 荣业社区
RESIDENT = {"name": "李秀英", "phone": "139 2233 4455", "address": "睦南道 47 号 2 门 301"}
NOTES = {
    "accepted": "已电话联系居民，确认夜间噪声来源",
    "assigned": "转交城管执法队",
    "resolved": "已上门劝导，施工已停止，居民确认",
}


def _catalogue(runtime):
    return district_catalogue(runtime.settings.district_file)


def log_request(runtime, actor, service_code: str, at: datetime, community: str = HOME, **extra):
    """A request logged through the store, as if at ``at`` (earlier: its clocks have run out)."""
    catalogue = _catalogue(runtime)
    submission = store.Submission(
        catalogue.service(service_code), resident_name="王建国", resident_phone="138 0000 0001",
        community_id=community, **extra,
    )  # fmt: skip
    with transaction(runtime.sessions) as session:
        request = store.submit(session, catalogue, actor, submission, at)
        public_id = request.public_id
    return public_id


@pytest.fixture
def clerks(runtime):
    """A clerk of 睦南道社区 and one of 荣业社区, made with the accounts module; plus actors for the store."""
    with transaction(runtime.sessions) as session:
        home = create_user(session, "munan-clerk", Role.STAFF, PASSWORD, HOME, display_name="张敏")
        other = create_user(session, "rongye-clerk", Role.STAFF, PASSWORD, OTHER, display_name="赵磊")
        actors = {"home": home.actor(), "other": other.actor()}
    return actors


@pytest.fixture
def operator(runtime):
    with transaction(runtime.sessions) as session:
        create_user(session, "city-ops", Role.OPERATOR, PASSWORD, display_name="城市运营")


@pytest.fixture
def queue_items(runtime, clerks):
    """The desk's queue before the clerk starts: one request long overdue, one recent."""
    now = datetime.now(UTC)
    overdue = log_request(runtime, clerks["home"], "EN-STREETLIGHT", now - timedelta(days=5), address="成都道 12 号")
    recent = log_request(runtime, clerks["home"], "SS-PENSION-CERT", now - timedelta(minutes=20))
    return {"overdue": overdue, "recent": recent}


def log_in(page, username: str) -> None:
    page.goto("/desk")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fdesk$"))
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/desk$"))


def new_page(browser, live_server, screen: str):
    """Another browser (no cookies) that fails the test on console errors as the ``page`` fixture does."""
    context = browser.new_context(
        base_url=live_server.url, viewport=SCREENS[screen], locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    return context, page


def expected_error_page(page, status: int) -> None:
    """Chromium logs a 4xx page load as a console error; take off the one this step expects, no others."""
    wanted = f"status of {status}"
    matching = [e for e in page.console_errors if wanted in e]
    assert len(matching) == 1, page.console_errors
    page.console_errors.remove(matching[0])


def move(page, button: str, note: str = "", **fields) -> None:
    page.get_by_label("备注").fill(note)
    for label, value in fields.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name=button, exact=True).click()


def test_clerk_logs_and_resolves_a_request_the_resident_then_tracks(
    page, browser, live_server, runtime, clerks, queue_items
):
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    screenshot(page, "login-laptop")
    log_in(page, "munan-clerk")

    # The queue: overdue first, with a written marker and local due times.
    rows = page.locator(".queue-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(queue_items["overdue"])
    expect(rows.first).to_contain_text("已超时")
    expect(rows.nth(1)).to_contain_text(queue_items["recent"])
    expect(rows.nth(1)).not_to_contain_text("已超时")

    # One character is not enough; the second filters the list.
    search = page.get_by_label("服务事项")
    expect(search).to_be_focused()
    search.press_sequentially("噪")
    expect(page.locator(".service-results")).to_have_count(0)
    search.press_sequentially("声")
    result = page.locator(".service-results a", has_text="噪声扰民投诉")
    expect(result).to_be_visible()
    result.click()

    # The service's attributes, rendered from its definition: the required one marked and required.
    when = page.get_by_label("发生时间")
    expect(when).to_have_attribute("type", "datetime-local")
    expect(when).to_have_attribute("required", "")
    expect(page.locator("label[for=attr-observed_at] .req")).to_be_visible()
    expect(page.get_by_label("情况说明")).not_to_have_attribute("required", "")
    when.fill("2026-11-25T22:30")
    page.get_by_label("情况说明").fill("楼下工地夜间施工，电锯声")
    page.get_by_label("居民反映的情况").fill("每晚十点以后仍在施工")
    page.get_by_label("地址").fill(RESIDENT["address"])
    page.get_by_label("姓名").fill(RESIDENT["name"])
    page.get_by_label("电话").fill(RESIDENT["phone"])
    screenshot(page, "desk-intake-laptop")
    page.get_by_role("button", name="登记申请").click()

    # The request page: id, status, contact (this clerk may see it), the answers.
    expect(page).to_have_url(re.compile(r"/desk/requests/HP-\d{4}-\d{6}-\w{4}$"))
    public_id = page.url.rsplit("/", 1)[1]
    expect(page.locator(".flash-success")).to_contain_text(public_id)
    expect(page.locator(".request-status")).to_contain_text("已登记")
    expect(page.locator(".contact-card")).to_contain_text(RESIDENT["phone"])
    expect(page.locator(".request-main .facts")).to_contain_text("发生时间2026-11-25 22:30")
    # Only the transitions the lifecycle allows from "submitted".
    buttons = page.locator(".transition-buttons button")
    expect(buttons).to_have_text(["受理", "不予受理", "标记为重复件"])

    move(page, "受理", NOTES["accepted"])
    expect(page.locator(".request-status")).to_contain_text("已受理")
    move(page, "派单", NOTES["assigned"], 派给="城管执法队 王队")
    expect(page.locator(".request-status")).to_contain_text("已派单")
    move(page, "开始办理")
    expect(page.locator(".request-status")).to_contain_text("办理中")
    # On hold needs a reason: refused with a message, nothing changes.
    move(page, "暂停办理")
    expect(page.locator(".actions .flash-error")).to_contain_text("原因")
    expected_error_page(page, 422)
    expect(page.locator(".request-status")).to_contain_text("办理中")
    move(page, "办结", NOTES["resolved"])
    expect(page.locator(".request-status")).to_contain_text("已办结")
    history = page.locator(".history tbody tr")
    expect(history).to_have_count(5)
    expect(history.nth(1)).to_contain_text(NOTES["accepted"])
    expect(history.nth(4)).to_contain_text("munan-clerk")
    screenshot(page, "desk-request-laptop")

    # Back at the desk: the resolved request waits there to be closed; a new one arrives live, no reload.
    page.get_by_role("link", name="返回受理台").click()
    expect(rows).to_have_count(3)
    expect(page.locator(f"tr[data-request-id='{public_id}']")).to_contain_text("已办结")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    page.evaluate("window.__same_page = true")
    arriving = _arrive(runtime, clerks["home"])
    expect(rows).to_have_count(4)
    expect(page.locator(".queue-table")).to_contain_text(arriving)
    assert page.evaluate("window.__same_page") is True
    expect(rows.first).to_contain_text(queue_items["overdue"])
    screenshot(page, "desk-queue-laptop")

    # The resident, on a phone, not logged in: status and history, and nothing personal.
    context, phone = new_page(browser, live_server, "phone")
    try:
        phone.goto("/track")
        phone.get_by_label("申请编号").fill(public_id.lower())
        phone.get_by_role("button", name="查询").click()
        result = phone.locator(".track-result")
        expect(result).to_contain_text(public_id)
        expect(result.locator(".track-status")).to_contain_text("已办结")
        expect(result.locator(".steps li")).to_have_count(5)
        text = phone.locator("main").inner_text()
        personal = (RESIDENT["name"], RESIDENT["phone"], RESIDENT["address"], "munan-clerk", "王队")
        for secret in (*personal, *NOTES.values()):
            assert secret not in text, f"{secret!r} shown in public"
        screenshot(phone, "track-phone")
        assert not phone.console_errors, phone.console_errors
    finally:
        context.close()


def _arrive(runtime, actor) -> str:
    """Another clerk's request at the same centre, stored and announced as the API does."""
    catalogue = _catalogue(runtime)
    with transaction(runtime.sessions) as session:
        request = store.submit(
            session, catalogue, actor,
            store.Submission(catalogue.service("EN-GARBAGE"), "陈红", "137 1111 2222", community_id=HOME),
            datetime.now(UTC),
        )  # fmt: skip
        public_id = request.public_id
    with runtime.sessions() as session:
        announce_change(runtime, store.find_public(session, public_id), "垃圾清运与分类投诉", "submitted")
    return public_id


def test_staff_of_another_community_get_a_404(page, queue_items):
    log_in(page, "rongye-clerk")
    expect(page.locator(".queue-table")).to_have_count(0)  # nothing of 睦南道 in 荣业's queue
    response = page.goto(f"/desk/requests/{queue_items['overdue']}")
    assert response.status == 404
    expected_error_page(page, 404)
    expect(page.locator("h1")).to_contain_text("找不到该申请")
    expect(page.locator("main")).not_to_contain_text("王建国")


def test_the_desk_switches_to_english(page, queue_items):
    log_in(page, "munan-clerk")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="New request")).to_be_visible()
    expect(page.locator(".queue-table tbody tr").first).to_contain_text("Overdue")
    page.get_by_label("Service", exact=False).first.press_sequentially("noise")
    page.locator(".service-results a", has_text="Noise complaint").click()
    expect(page.get_by_label("When it happened")).to_be_visible()
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_role("heading", name="登记新申请")).to_be_visible()


def test_an_operator_logs_a_request_without_javascript(browser, live_server, operator):
    """Plain HTML: the search is a GET form, a service is a link, the intake form POSTs with its CSRF token."""
    context = browser.new_context(
        base_url=live_server.url, viewport=SCREENS["laptop"], locale="zh-CN", java_script_enabled=False
    )
    try:
        page = context.new_page()
        log_in(page, "city-ops")
        page.get_by_label("服务事项").fill("社保卡")
        page.get_by_role("button", name="查找").click()
        expect(page).to_have_url(re.compile(r"/desk\?q="))
        page.locator(".service-results a", has_text="社会保障卡申领与补换").click()
        expect(page).to_have_url(re.compile(r"service=SS-SOCIAL-CARD"))
        page.get_by_label("遗失").check()
        page.get_by_label("社区", exact=True).select_option(OTHER)  # operators choose the community
        page.get_by_label("姓名").fill("周平")
        page.get_by_label("电话").fill("136 0000 7788")
        page.get_by_role("button", name="登记申请").click()
        expect(page.locator(".request-status")).to_contain_text("已登记")
        expect(page.locator(".request-main .facts")).to_contain_text("荣业社区")
        expect(page.locator(".request-main .facts")).to_contain_text("遗失")
    finally:
        context.close()
