"""Swagger UI at /api/docs runs under its own CSP (its one inline script allowed by hash): no console errors."""

import pytest

pytestmark = pytest.mark.browser


def test_swagger_ui_loads_under_the_content_security_policy(page):
    # flask-smorest's page links no icon, so Chromium asks for /favicon.ico: not the CSP's business.
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    response = page.goto("/api/docs")
    assert "'sha256-" in response.headers["content-security-policy"]
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    assert "CivicPulse" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-tag", timeout=15000)  # the spec was fetched and rendered
