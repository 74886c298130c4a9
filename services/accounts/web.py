"""Login and logout pages (server-rendered form, CSRF-protected)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from services.accounts.store import authenticate
from services.extensions import db

bp = Blueprint("accounts", __name__, template_folder="templates")


class LoginForm(FlaskForm):
    username = StringField("用户名 Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("密码 Password", validators=[DataRequired(), Length(max=200)])


def safe_next(target: str | None) -> str:
    """Where to go after login: a path on this site only (never another host)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; on a valid name and password start the session and go on."""
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        session = db()
        user = authenticate(session, form.username.data.strip(), form.password.data)
        if user is not None:
            session.commit()
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
        failed = True
    status = 401 if failed else 200
    return render_template("accounts/login.html", form=form, failed=failed), status


@bp.post("/logout")
def logout():
    """End the session (POST, so a link on another site cannot log anyone out)."""
    logout_user()
    return redirect("/login")
