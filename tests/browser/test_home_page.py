"""The landing page leads each kind of user to their pages, in both languages, with no console error."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("screen", ["laptop"], indirect=True)
def test_home_links_every_page(page):
    page.goto("/")
    for section, hrefs in {
        "#for-residents": ["/parking", "/air", "/track"],
        "#for-centres": ["/desk"],
        "#for-city": ["/ops", "/api/docs", "/metrics"],
    }.items():
        card = page.locator(f"section:has({section})")
        assert [card.locator(f'a[href="{h}"]').count() for h in hrefs] == [1] * len(hrefs), section
    assert page.locator("h1").inner_text() == "智慧和平 · 城市服务"
    screenshot(page, "home-laptop")
    page.click("text=English")
    assert page.locator("h1").inner_text() == "Smart Heping civic services"
