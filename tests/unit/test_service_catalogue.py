"""The service catalogue file: it loads, it is checked on load, search and attribute answers."""

import copy

import pytest
import yaml

from services.service_requests.attributes import validate_attributes
from services.service_requests.catalogue import (
    DATATYPES,
    CatalogueError,
    catalogue_path,
    district_catalogue,
    parse_catalogue,
)
from tests.conftest import DISTRICT_FILE


@pytest.fixture(scope="module")
def catalogue():
    return district_catalogue(DISTRICT_FILE)


@pytest.fixture
def raw():
    return yaml.safe_load(catalogue_path(DISTRICT_FILE).read_text(encoding="utf-8"))


def test_heping_catalogue_has_nine_categories_of_sample_services(catalogue):
    assert catalogue.sample_data and catalogue.id_prefix == "HP"
    assert len(catalogue.categories) == 9
    assert 30 <= len(catalogue.services) <= 40
    assert all(len(c.service_codes) >= 3 for c in catalogue.categories)
    used = {a.datatype for s in catalogue.services.values() for a in s.attributes}
    assert used == set(DATATYPES)  # the sample exercises every Open311 datatype


def test_elderly_care_and_social_assistance_are_private(catalogue):
    for category in ("elderly_care", "social_assistance"):
        assert all(catalogue.service(code).private for code in catalogue.category(category).service_codes)
    assert not catalogue.service("EN-STREETLIGHT").private


def test_every_service_has_an_sla_and_an_agency(catalogue):
    for s in catalogue.services.values():
        assert 0 < s.sla.response_hours <= s.sla.resolution_hours, s.code
        assert s.agency_zh and s.agency_en and s.name_zh and s.name_en


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("路灯", "EN-STREETLIGHT"), ("养老", "EC-HOME-CARE"), ("低保", "SA-MINIMUM-LIVING"), ("noise", "EN-NOISE"),
     ("Lift", "HS-ELEVATOR-RETROFIT"), ("社保", "SS-SOCIAL-CARD")],
)  # fmt: skip
def test_two_characters_find_the_service(catalogue, typed, expected):
    assert expected in [s.code for s in catalogue.search(typed)]


def test_name_matches_come_before_keyword_matches(catalogue):
    found = catalogue.search("老人")
    by_name = ["老人" in s.name_zh for s in found]
    assert by_name == sorted(by_name, reverse=True) and True in by_name and False in by_name


def test_search_within_a_category(catalogue):
    assert {s.category for s in catalogue.search("", category="housing")} == {"housing"}


def _first_attribute(raw, service_code):
    for cat in raw["categories"]:
        for service in cat["services"]:
            if service["code"] == service_code:
                return service, service["attributes"][0]
    raise AssertionError(service_code)


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (lambda r: _first_attribute(r, "SS-SOCIAL-CARD")[1].update(datatype="dropdown"), "unknown datatype 'dropdown'"),
        (lambda r: _first_attribute(r, "SS-SOCIAL-CARD")[1].pop("values"), "needs at least one entry in `values`"),
        (lambda r: _first_attribute(r, "SS-MEDICAL-ENROL")[1].update(values=[{"key": "a"}]), "only list datatypes"),
        (lambda r: r["categories"][1]["services"][0].update(code="SS-PENSION-CERT"), "duplicate service code"),
        (lambda r: r["categories"][1].update(code="social_security"), "duplicate category code"),
        (lambda r: _first_attribute(r, "EN-NOISE")[0]["attributes"][1].update(order=1), "orders must be unique"),
        (lambda r: _first_attribute(r, "EN-NOISE")[0]["attributes"][1].update(code="observed_at"), "codes must be"),
        (lambda r: _first_attribute(r, "EN-NOISE")[0]["sla"].update(resolution_hours=-1), "positive number of hours"),
        (lambda r: _first_attribute(r, "EN-NOISE")[0].pop("sla"), "`sla` is missing"),
        (lambda r: _first_attribute(r, "EN-NOISE")[1].update(order=0), "positive integer"),
        (lambda r: r["categories"][0]["services"][0].pop("name_zh"), "`name_zh` is missing"),
        (lambda r: r.pop("categories"), "no `categories`"),
    ],
)
def test_a_broken_catalogue_is_refused_with_a_clear_error(raw, break_it, message):
    broken = copy.deepcopy(raw)
    break_it(broken)
    with pytest.raises(CatalogueError, match=message.replace("(", r"\(").replace("`", "`")):
        parse_catalogue(broken)


def test_the_error_names_the_service_and_attribute(raw):
    _first_attribute(raw, "SS-SOCIAL-CARD")[1]["datatype"] = "dropdown"
    with pytest.raises(CatalogueError, match="service SS-SOCIAL-CARD attribute reason"):
        parse_catalogue(raw)


# -- answers to a service's attributes ------------------------------------------------------------------
def test_valid_answers_are_cleaned(catalogue):
    clean, errors = validate_attributes(
        catalogue.service("EC-HOME-CARE"), {"age": "82", "care_needs": ["meals", "bathing"]}
    )
    assert errors == {} and clean == {"age": 82, "care_needs": ["meals", "bathing"]}
    clean, errors = validate_attributes(
        catalogue.service("EN-NOISE"), {"observed_at": "2026-05-04T22:10:00Z", "details": "装修\n电钻"}
    )
    assert errors == {} and clean["observed_at"] == "2026-05-04T22:10:00+00:00"


@pytest.mark.parametrize(
    ("service", "answers", "code", "message"),
    [
        ("EC-HOME-CARE", {"care_needs": ["meals"]}, "age", "is required"),
        ("EC-HOME-CARE", {"age": "old", "care_needs": ["meals"]}, "age", "must be a number"),
        ("EC-HOME-CARE", {"age": True, "care_needs": ["meals"]}, "age", "must be a number"),
        ("EC-HOME-CARE", {"age": 80, "care_needs": ["meals", "flying"]}, "care_needs", "must be one of"),
        ("EC-HOME-CARE", {"age": 80, "care_needs": ["meals", "meals"]}, "care_needs", "twice"),
        ("EC-HOME-CARE", {"age": 80, "care_needs": []}, "care_needs", "is required"),
        ("SS-SOCIAL-CARD", {"reason": "stolen"}, "reason", "must be one of new, lost, damaged"),
        ("EN-NOISE", {"observed_at": "2026-05-04 22:10"}, "observed_at", "time zone"),
        ("EN-NOISE", {"observed_at": "yesterday"}, "observed_at", "ISO-8601"),
        ("EN-STREETLIGHT", {"pole_number": "a\nb"}, "pole_number", "single line"),
        ("EN-STREETLIGHT", {"pole_number": "x" * 201}, "pole_number", "at most 200"),
        ("EN-STREETLIGHT", {"colour": "red"}, "colour", "not an attribute"),
    ],
)
def test_answers_that_do_not_fit_are_named(catalogue, service, answers, code, message):
    _, errors = validate_attributes(catalogue.service(service), answers)
    assert message in errors[code][0]
