"""Error pages for people: a browser asking for a page gets HTML in its language, never the API's JSON."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l

# Paths whose clients are programs: they keep the JSON error shape (or their spec's, Open311).
MACHINE_PREFIXES = ("/api/", "/open311/", "/ngsi-ld/", "/metrics", "/healthz", "/readyz")

PAGES = {
    400: (_l("Something in the request was wrong"), _l("Go back, check what you entered and try again.")),
    403: (
        _l("This page is not for your account"),
        _l("Your account may not open this page. Log in with an account that may, or go back to the home page."),
    ),
    404: (_l("Page not found"), _l("There is no page at this address. Check the link, or start from the home page.")),
    405: (_l("This page cannot do that"), _l("Start again from the home page.")),
    429: (_l("Too many attempts"), _l("Please wait a minute and try again.")),
    500: (_l("Something went wrong on our side"), _l("It has been logged. Please try again in a moment.")),
}


def wants_page() -> bool:
    """A browser asking for a page (HTML preferred to JSON), not a program calling an API."""
    if request.path.startswith(MACHINE_PREFIXES) or not request.headers.get("Accept"):
        return False
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def render_error_page(code: int):
    title, explanation = PAGES.get(code, PAGES[500] if code >= 500 else PAGES[400])
    return render_template("errors/page.html", code=code, title=title, explanation=explanation), code


def init_error_pages(app: Flask) -> None:
    """Offer the error page to services/errors.py, which decides between it and the JSON shape."""
    app.extensions["civic_error_page"] = lambda code: render_error_page(code) if wants_page() else None
