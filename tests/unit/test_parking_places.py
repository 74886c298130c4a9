"""The parking page's pure helpers: availability levels, landmarks, GCJ-02 navigation links, opening hours."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask_babel import Babel, force_locale

from services.district.loader import load_district
from tests.conftest import DISTRICT_FILE
from web.parking.places import (
    DEFAULT_LANDMARK,
    LANDMARKS,
    availability,
    landmark,
    navigation_links,
    opening_hours_text,
    wgs84_to_gcj02,
)


@pytest.mark.parametrize(
    ("free", "occupied", "level"),
    [
        (0, 0, "unknown"),  # nothing known: no sensors, or all silent
        (0, 30, "full"),
        (5, 25, "few"),  # at most 5 free is few in a small car park...
        (6, 24, "plenty"),
        (26, 234, "few"),  # ...and at most 10 % in a large one
        (27, 233, "plenty"),
        (4, 0, "plenty"),  # a small row with most berths free is not "few left"
        (2, 2, "few"),
    ],
)
def test_availability_levels(free, occupied, level):
    assert availability(free, occupied) == level


def test_landmarks_lie_inside_heping_and_unknown_ids_fall_back_to_the_centre():
    ids = [m.id for m in LANDMARKS]
    assert len(ids) == len(set(ids))
    for m in LANDMARKS:
        assert 39.100 <= m.lat <= 39.145 and 117.170 <= m.lon <= 117.225, m.id
    assert landmark("nanshi").id == "nanshi"
    assert landmark("nowhere") is DEFAULT_LANDMARK and landmark(None) is DEFAULT_LANDMARK


def test_every_facility_is_within_the_page_search_radius_of_every_landmark():
    from web.parking import SEARCH_RADIUS_M

    district = load_district(DISTRICT_FILE)
    # Degrees to metres at 39° N: generous bounds, the radius must cover the district's diagonal.
    lats = [f["lat"] for f in district.facilities] + [m.lat for m in LANDMARKS]
    lons = [f["lon"] for f in district.facilities] + [m.lon for m in LANDMARKS]
    diagonal = (((max(lats) - min(lats)) * 111_000) ** 2 + ((max(lons) - min(lons)) * 86_300) ** 2) ** 0.5
    assert diagonal < SEARCH_RADIUS_M


def test_gcj02_offset_in_tianjin_is_a_few_hundred_metres_north_east():
    lat, lon = wgs84_to_gcj02(39.1244, 117.1981)
    # The published transform moves central Tianjin by roughly +0.0013° lat and +0.0062° lon.
    assert 0.0005 < lat - 39.1244 < 0.0025
    assert 0.004 < lon - 117.1981 < 0.008


def test_navigation_links_use_gcj02_for_amap_and_wgs84_for_geo():
    links = navigation_links(39.1302, 117.1912, "紫阳里停车场")
    amap = urlsplit(links["amap"])
    query = parse_qs(amap.query)
    lon, lat, name = query["to"][0].split(",")
    assert (round(float(lat), 6), round(float(lon), 6)) == tuple(round(v, 6) for v in wgs84_to_gcj02(39.1302, 117.1912))
    assert name == "紫阳里停车场" and query["coordinate"] == ["gaode"] and query["mode"] == ["car"]
    assert amap.netloc == "uri.amap.com"
    assert links["geo"].startswith("geo:39.130200,117.191200?q=39.130200,117.191200(")


@pytest.fixture
def babel_app():
    app = Flask(__name__)
    Babel(app)
    with app.app_context():
        yield app


@pytest.mark.parametrize(
    ("value", "text"),
    [("24/7", "Open 24 hours"), ("Mo-Su 08:00-23:00", "Daily 08:00–23:00"), ("Mo-Fr 08:00-18:00", "Mo-Fr 08:00-18:00")],
)
def test_opening_hours_in_words(babel_app, value, text):
    with force_locale("en"):
        assert opening_hours_text(value) == text
