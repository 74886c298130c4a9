"""Login and logout pages (server-rendered form, CSRF-protected)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from services.accounts.models import User
from services.accounts.store import authenticate
from services.audit.store import AuditAction, record
from services.extensions import db
from services.ratelimit import login_rate_limit

bp = Blueprint("accounts", __name__, template_folder="templates")


class LoginForm(FlaskForm):
    username = StringField("用户名 Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("密码 Password", validators=[DataRequired(), Length(max=200)])


def safe_next(target: str | None) -> str:
    """Where to go after login: a path on this site only (never another host)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _record_failure(username: str) -> None:
    """Audit a failed login under the account's name, or "(unknown)": a mistyped password is never stored."""
    dbs = db()
    known = dbs.scalar(select(User.username).where(User.username == username))
    record(dbs, known or "(unknown)", AuditAction.LOGIN_FAILED, "user", known, outcome="denied")
    dbs.commit()


@bp.route("/login", methods=["GET", "POST"])
@login_rate_limit
def login():
    """Show the login form; on a valid name and password start the session and go on (failures are rate-limited)."""
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        dbs = db()
        username = form.username.data.strip()
        user = authenticate(dbs, username, form.password.data)
        if user is not None:
            record(dbs, user.actor(), AuditAction.LOGIN, "user", user.username)
            dbs.commit()
            session.clear()  # a fresh session (and CSRF token) for the logged-in account
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
        _record_failure(username)
        failed = True
    status = 401 if failed else 200
    return render_template("accounts/login.html", form=form, failed=failed), status


@bp.post("/logout")
def logout():
    """End the session (POST, so a link on another site cannot log anyone out)."""
    if current_user.is_authenticated:
        dbs = db()
        record(dbs, current_user.actor(), AuditAction.LOGOUT, "user", current_user.username)
        dbs.commit()
    logout_user()
    session.clear()
    return redirect("/login")
