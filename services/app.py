"""Flask application factory."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import swagger_ui_bundle
from flask import Flask, send_from_directory
from flask_smorest import Api

from config.settings import Settings
from services import errors, extensions
from services.accounts.auth import init_auth
from services.ratelimit import init_rate_limits
from services.runtime import Runtime
from services.security import init_security

DOCS_ASSETS = "/api/docs/assets/"


def create_app(config: Mapping[str, str] | Settings | None = None) -> Flask:
    """Build the app; ``config`` is a Settings, an env-style mapping (tests), or None for os.environ."""
    settings = config if isinstance(config, Settings) else Settings.from_env(config)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = Flask(__name__, static_folder=None)  # web/static is served by the web blueprint
    app.config.update(
        SECRET_KEY=settings.secret_key,
        API_TITLE="CivicPulse 智慧和平 API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=DOCS_ASSETS,  # served below from the swagger-ui-bundle package: no CDN
    )
    app.config["MAX_CONTENT_LENGTH"] = 30 * 1024 * 1024  # five 5 MiB photos with an Open311 POST, and no more
    app.json.ensure_ascii = False  # Chinese names as text, not \u escapes
    app.json.sort_keys = False  # keep the order the schemas define
    rt = Runtime(settings)
    extensions.init_app(app, rt)
    init_security(app, settings)
    init_rate_limits(app, rt)

    api = Api(app)
    errors.register_error_handlers(app, api)

    from services.air_quality.api import blp as air_blp
    from services.air_quality.data_api import blp as air_data_blp
    from services.alerts.api import blp as alerts_blp
    from services.audit.api import blp as audit_blp
    from services.devices.api import blp as devices_blp
    from services.events.api import blp as events_blp
    from services.fleet.api import blp as fleet_blp
    from services.health import bp as health_bp
    from services.kpi.api import blp as kpi_blp
    from services.ngsi.api import blp as ngsi_blp
    from services.parking.api import blp as parking_blp
    from services.pipeline.api import blp as pipeline_blp
    from services.pipeline.health_api import blp as health_api_blp
    from services.service_requests.api import blp as requests_blp
    from services.service_requests.stats_api import blp as request_stats_blp

    # API blueprints that never authenticate with the session cookie: exempt from CSRF checks. All others
    # (operator and admin actions on devices, dead letters and berths included) need the X-CSRFToken header.
    not_session_authenticated = (air_blp, air_data_blp, events_blp, ngsi_blp, kpi_blp)
    blueprints = (devices_blp, parking_blp, air_blp, air_data_blp, pipeline_blp, health_api_blp, events_blp, ngsi_blp)
    for blp in (*blueprints, requests_blp, request_stats_blp, alerts_blp, audit_blp, fleet_blp, kpi_blp):
        api.register_blueprint(blp)
    from services.open311.api import bp as open311_bp

    app.register_blueprint(open311_bp)  # its own formats and errors: not part of the OpenAPI description
    init_auth(app, settings, csrf_exempt=(*not_session_authenticated, open311_bp))  # api_key, never the session
    app.register_blueprint(health_bp)

    from web import init_web

    init_web(app, settings)

    @app.get(DOCS_ASSETS + "<path:filename>")
    def docs_assets(filename: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    return app
