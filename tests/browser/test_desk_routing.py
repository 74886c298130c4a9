"""An operator sends a request that came in over Open311 without a community to a community centre."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from services.accounts.api_keys import create_key
from services.accounts.roles import Role
from services.accounts.store import create_user
from services.db import transaction
from tests.browser.conftest import screenshot
from tests.browser.test_desk_page import PASSWORD, log_in

pytestmark = pytest.mark.browser


def test_an_operator_routes_an_open311_request(page, live_server, runtime, app):
    with transaction(runtime.sessions) as session:
        create_user(session, "city-ops", Role.OPERATOR, PASSWORD, display_name="王芳")
        _, key = create_key(session, "wechat-app", Role.PUBLIC)
    filed = app.test_client().post(
        "/open311/v2/requests.json",
        data={"api_key": key, "service_code": "EN-STREETLIGHT", "lat": "39.1175", "long": "117.2045",
              "description": "成都道与南京路口路灯不亮", "phone": "13800001234"},
    )  # fmt: skip
    request_id = filed.json[0]["service_request_id"]

    log_in(page, "city-ops")
    page.goto(f"/desk/requests/{request_id}")
    routing = page.locator("section.routing")
    expect(routing).to_contain_text("尚未分派社区")
    routing.get_by_label("社区").select_option(label="睦南道社区")
    routing.get_by_label("备注").fill("就近由睦南道社区办理")
    screenshot(page, "desk-route-laptop")
    routing.get_by_role("button", name="转派").click()
    expect(page.locator(".flash")).to_contain_text("已转派至睦南道社区")
    expect(page.locator("table.history")).to_contain_text("已转派社区")
    expect(page.locator("section.routing")).to_contain_text("睦南道社区")
