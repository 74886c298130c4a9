"""Login sessions (Flask-Login), CSRF protection (Flask-WTF) and the role checks views use.

CSRF: every state-changing request is checked (form field ``csrf_token`` or the ``X-CSRFToken``
header), including the session-authenticated JSON API the pages call. Only API blueprints that do not
authenticate with the session cookie are exempt (they are passed to ``init_auth``): a forged
cross-site request cannot borrow a login they never look at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps

from flask import Flask, request
from flask_login import LoginManager, current_user
from flask_smorest import abort
from flask_wtf.csrf import CSRFProtect

from config.settings import Settings
from services.accounts.models import User
from services.accounts.roles import PUBLIC, Actor, Role
from services.extensions import db

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = None  # the login page says what to do; no flashed message needed


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    user = db().get(User, int(user_id))
    return user if user is not None and user.active else None


def init_auth(app: Flask, settings: Settings, csrf_exempt: Iterable = ()) -> None:
    """Bind login sessions and CSRF protection to the app; harden the session cookie."""
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.session_cookie_secure,
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session's life: a desk page stays open all day
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    for blueprint in csrf_exempt:
        csrf.exempt(blueprint)

    from services.accounts.web import bp

    app.register_blueprint(bp)


def current_actor() -> Actor:
    """Who is making this request: the logged-in account, or the public."""
    if current_user.is_authenticated:
        return current_user.actor()
    return PUBLIC


def _is_api() -> bool:
    return request.path.startswith("/api/")


def require_role(*roles: Role) -> Callable:
    """Decorate a view: only logged-in accounts with one of ``roles`` get in.

    Not logged in: 401 in the JSON error shape for /api/ paths, a redirect to /login for pages.
    Logged in with another role: 403.
    """

    def decorate(view):
        @wraps(view)
        def checked(*args, **kwargs):
            if not current_user.is_authenticated:
                if _is_api():
                    abort(401, message="log in first (POST /login)")
                return login_manager.unauthorized()
            if Role(current_user.role) not in roles:
                abort(403, message=f"this needs one of the roles: {', '.join(roles)}")
            return view(*args, **kwargs)

        return checked

    return decorate


operators_only = require_role(Role.OPERATOR, Role.ADMIN)  # the command centre: every community, every device
admins_only = require_role(Role.ADMIN)
