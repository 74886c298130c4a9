"""Languages: zh-CN by default, English a switch away (``?lang=en``), remembered in a cookie.

Each page package keeps its own catalogue (``web/<page>/translations``) so pages can be translated and
reviewed independently; Flask-Babel merges all the directories listed here.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, g, request
from flask_babel import Babel, get_locale

WEB = Path(__file__).resolve().parent
LANGUAGES = {"zh": "zh_CN", "en": "en"}  # ?lang= value -> Babel locale
DEFAULT_LANG = "zh"
LANG_COOKIE = "lang"
TIMEZONE = "Asia/Shanghai"  # show local time; the database keeps UTC


def translation_directories() -> list[Path]:
    """The core catalogue plus one per page package that has one."""
    return [WEB / "translations", *sorted(p for p in WEB.glob("*/translations") if p.is_dir())]


def _chosen_lang() -> str:
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        g.lang_switched = asked
        return asked
    remembered = request.cookies.get(LANG_COOKIE)
    return remembered if remembered in LANGUAGES else DEFAULT_LANG


def current_lang() -> str:
    """``zh`` or ``en``: the language of this request (for templates, JSON for scripts, html lang)."""
    return "en" if str(get_locale()).startswith("en") else "zh"


def _remember_switch(response: Response) -> Response:
    lang = g.get("lang_switched")
    if lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def init_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LANGUAGES[DEFAULT_LANG])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", TIMEZONE)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(p) for p in translation_directories())
    Babel(app, locale_selector=lambda: LANGUAGES[_chosen_lang()])
    app.after_request(_remember_switch)
    app.jinja_env.globals["current_lang"] = current_lang
