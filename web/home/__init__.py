"""The landing page: leads a resident, a centre's clerk and the city's staff each to their own pages."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("home", __name__, template_folder="templates")


@bp.get("/")
def index():
    return render_template("home/index.html")
