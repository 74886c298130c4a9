"""Rate limits (Flask-Limiter) counted in the platform's Redis, so every web process shares the counts.

Two decorators: ``login_rate_limit`` (failed logins per client address and per username) and
``submission_rate_limit`` (public POSTs per client address, for Open311 submissions). A breach answers
429: the one JSON error shape on /api/ paths, the login form with a readable message on /login.

One Limiter per process (like the CSRF and login extensions): it keeps the storage of the last app
bound to it, which is the only app in a deployed process.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, jsonify, render_template, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many

from services.errors import error_body
from services.runtime import Runtime

LOGIN_LIMIT = "LOGIN_RATE_LIMIT"  # app.config keys, from Settings
SUBMISSION_LIMIT = "SUBMISSION_RATE_LIMIT"


def client_ip() -> str:
    """The client's address (the proxy's X-Forwarded-For when TRUSTED_PROXIES says to believe it)."""
    return request.remote_addr or "unknown"


def login_name() -> str:
    """The username being tried, as the accounts table would match it."""
    return "user:" + request.form.get("username", "").strip().lower()[:64]


def _configured(key: str) -> Callable[[], str]:
    return lambda: current_app.config[key]


def _failed_login(response) -> bool:
    return response.status_code == 401


limiter = Limiter(
    key_func=client_ip, strategy="moving-window", headers_enabled=True, swallow_errors=True, retry_after="delta-seconds"
)


def login_rate_limit(view: Callable) -> Callable:
    """At most LOGIN_RATE_LIMIT failed logins per client address and per username; then 429 until the window passes.

    Only failures count, so staff who log in often are never slowed; once over, even the right password waits.
    """
    per_ip = limiter.limit(
        _configured(LOGIN_LIMIT), key_func=client_ip, methods=["POST"], scope="login-ip", deduct_when=_failed_login
    )
    per_name = limiter.limit(
        _configured(LOGIN_LIMIT), key_func=login_name, methods=["POST"], scope="login-user", deduct_when=_failed_login
    )
    return per_ip(per_name(view))


def submission_rate_limit(view: Callable) -> Callable:
    """At most SUBMISSION_RATE_LIMIT POSTs per client address: for public write endpoints (Open311 POST)."""
    return limiter.limit(_configured(SUBMISSION_LIMIT), key_func=client_ip, methods=["POST"], scope="submission")(view)


def _too_many(exc: RateLimitExceeded):
    message = "too many requests; wait and try again"
    if request.endpoint == "accounts.login":
        from services.accounts.web import LoginForm

        return render_template("accounts/login.html", form=LoginForm(), too_many=True), 429
    if request.path.startswith("/open311/"):
        from services.open311.errors import handle_http_error

        return handle_http_error(429, f"{message} (limit: {exc.description})")
    return jsonify(error_body(429, f"{message} (limit: {exc.description})")), 429


def init_rate_limits(app: Flask, rt: Runtime) -> None:
    """Count in the Runtime's Redis (the embedded one too: REDIS_URL names its socket); in memory without Redis."""
    settings = rt.settings
    for key, value in ((LOGIN_LIMIT, settings.login_rate_limit), (SUBMISSION_LIMIT, settings.submission_rate_limit)):
        parse_many(value)  # a malformed limit stops start-up, not the first login
        app.config[key] = value
    app.config["RATELIMIT_KEY_PREFIX"] = rt.keys.rate_limits
    if settings.redis_url:
        app.config["RATELIMIT_STORAGE_URI"] = "redis://"  # the scheme picks Redis; the pool says where
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {"connection_pool": rt.redis.connection_pool}
    else:
        app.config["RATELIMIT_STORAGE_URI"] = "memory://"  # apps built without Redis (unit tests)
    limiter.init_app(app)
    app.register_error_handler(429, _too_many)
