"""The web foundation: languages (zh-CN default, English switch remembered), catalogues complete."""

from __future__ import annotations

import pytest
from flask import Flask, render_template_string

from config.settings import Settings
from web import catalogs, init_web

PAGE = '{% extends "base.html" %}{% block title %}{{ _("Smart Heping") }}{% endblock %}'


@pytest.fixture
def client():
    app = Flask(__name__, static_folder=None)
    app.config["SECRET_KEY"] = "test"
    init_web(app, Settings.from_env({}))
    app.add_url_rule("/page", "page", lambda: render_template_string(PAGE))
    return app.test_client()


def test_chinese_is_the_default(client):
    html = client.get("/page").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "智慧和平" in html
    assert 'href="/page?lang=en"' in html


def test_english_switch_is_remembered(client):
    first = client.get("/page?lang=en")
    assert '<html lang="en">' in first.get_data(as_text=True)
    assert "Smart Heping" in first.get_data(as_text=True)
    assert "lang=en" in first.headers["Set-Cookie"]
    # Later pages, without the parameter, stay in English until switched back.
    again = client.get("/page").get_data(as_text=True)
    assert '<html lang="en">' in again
    back = client.get("/page?lang=zh").get_data(as_text=True)
    assert "智慧和平" in back


def test_unknown_language_falls_back_to_chinese(client):
    assert '<html lang="zh-CN">' in client.get("/page?lang=fr").get_data(as_text=True)


def test_every_catalogue_is_complete_and_compiled():
    found = [p for d in catalogs.translation_directories() for p in catalogs.problems(d)]
    assert not found, "\n".join(found) + "\n(run: python -m web.catalogs update, translate, compile)"
