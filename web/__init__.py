"""Server-rendered pages (Jinja, enhanced by small scripts) for residents, centres and the city.

``init_web`` is called by the app factory: it sets up languages, the shared templates and static files
(``web/templates``, ``web/static``: vendored libraries, CSS, the live-update script) and every page
package listed in PAGES.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from urllib.parse import urlencode

from flask import Blueprint, Flask, current_app, request, url_for
from flask_babel import lazy_gettext as _l
from redis.exceptions import RedisError

from config.settings import Settings
from services.events import bus
from web.errors import init_error_pages
from web.i18n import init_i18n


@dataclass(frozen=True)
class Page:
    """A page package: ``module`` exposes ``bp`` (a Blueprint); ``endpoint`` is its entry in the nav."""

    module: str
    endpoint: str
    label: str  # lazy_gettext("English") so the core catalogue translates it


# Order is the navigation's order.
PAGES: tuple[Page, ...] = (
    Page("web.parking", "parking_page.index", _l("Parking")),
    Page("web.air", "air_page.index", _l("Air quality")),
    Page("web.desk.track", "track_page.index", _l("Track a request")),
    Page("web.desk", "desk_page.index", _l("Service desk")),
    Page("web.ops", "ops_page.index", _l("City operations")),
)

shared = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static")


def _switch_lang_url(lang: str) -> str:
    """This page's URL with ``?lang=`` replaced: the language switch keeps the visitor where they are."""
    args = {k: v for k, v in request.args.items() if k != "lang"}
    return f"{request.path}?{urlencode({**args, 'lang': lang})}"


def _events_position() -> str | None:
    """The live stream's newest event id as the page is rendered: the page's stream starts there, so an
    event between this render and the browser's connection is replayed, not lost. None if Redis is away."""
    rt = current_app.extensions.get("civic")  # a bare app (the page tests') has no platform behind it
    if rt is None:
        return None
    try:
        return bus.latest_id(rt.redis, rt.keys)
    except RedisError:
        return None


def _is_current(page: Page) -> bool:
    return request.blueprint == page.endpoint.partition(".")[0]


def init_web(app: Flask, settings: Settings) -> None:
    init_i18n(app)
    init_error_pages(app)
    app.config["MAP_TILE_URL"] = settings.map_tile_url
    app.register_blueprint(shared)
    app.register_blueprint(import_module("web.home").bp)
    for page in PAGES:
        app.register_blueprint(import_module(page.module).bp)

    @app.context_processor
    def navigation():
        return {
            "nav_pages": [(url_for(p.endpoint), p.label, _is_current(p)) for p in PAGES],
            "switch_lang_url": _switch_lang_url,
            "events_position": _events_position,
        }
