"""GET /api/v1/air/aqi: the public AQI calculator (no database, no Redis)."""

from __future__ import annotations

import pytest

from services.air_quality.aqi import standard_for
from services.app import create_app

URL = "/api/v1/air/aqi"


@pytest.fixture
def db_file(tmp_path):
    return tmp_path / "x.db"


@pytest.fixture
def client(db_file):
    # Port 6379 db 15 need not be running: the calculator must touch neither Redis nor the database.
    app = create_app({"DATABASE_URL": f"sqlite:///{db_file}", "REDIS_URL": "redis://127.0.0.1:6379/15"})
    yield app.test_client()
    assert not db_file.exists()


def get(client, query: str, status: int = 200) -> dict:
    response = client.get(f"{URL}?{query}")
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_hj633_2026_daily(client):
    body = get(client, "standard=HJ633-2026&period=day&pm25=75&pm10=150&so2=10&no2=30&o3_8h=100&co=2.2")
    assert body["standard"] == "HJ633-2026"
    assert body["aqi"] == 114
    assert body["iaqi"] == {"pm25": 114, "pm10": 112, "so2": 10, "no2": 38, "o3_8h": 50, "co": 55}
    assert body["primary_pollutants"] == ["pm25"]
    assert body["category"] == {"level": 3, "zh": "轻度污染", "en": "Lightly polluted", "color": "#FF7E00"}
    assert body["advice"]["measures"]["zh"].startswith("青少年儿童")
    assert [g["pollutants"] for g in body["advice"]["sensitive_groups"]] == [["pm25", "pm10"]]
    assert body["beyond_index"] == []


def test_hj633_2012_daily_and_hourly(client):
    day = get(client, "standard=HJ633-2012&period=day&pm25=75&pm10=150&o3=200")
    assert (day["aqi"], day["primary_pollutants"]) == (100, ["pm25", "pm10", "o3"])
    assert day["category"]["zh"] == "良"
    hour = get(client, "standard=HJ633-2012&period=hour&so2=801&so2_24h=100&no2=250")
    assert hour["iaqi"] == {"so2": 75, "no2": 105}


def test_epa_tad_example(client):
    body = get(client, "standard=EPA-2024&o3_8h=0.07853333&pm25=35.9&co=8.4")
    assert (body["aqi"], body["iaqi"], body["primary_pollutants"]) == (
        126,
        {"pm25": 102, "o3_8h": 126, "co": 90},
        ["o3_8h"],
    )
    assert body["category"]["en"] == "Unhealthy for Sensitive Groups"


def test_epa_beyond_the_index(client):
    body = get(client, "standard=EPA-2024&pm25=350.0")
    assert (body["aqi"], body["beyond_index"], body["category"]["color"]) == (549, ["pm25"], "#7E0023")


def test_defaults_standard_in_force_today_and_hourly_period(client):
    body = get(client, "so2=600")
    assert body["standard"] == str(standard_for())
    assert body["iaqi"] == {"so2": 134}  # 1-hour table; the daily one would give 170
    assert get(client, "period=day&so2=600")["iaqi"] == {"so2": 170}


@pytest.mark.parametrize(
    "query",
    ["", "standard=HJ633-2012", "standard=EPA-2024&o3=0.1", "pm25=&pm10="],  # EPA disregards 1-h O3 < 0.125
)
def test_nothing_rated_gives_null_aqi(client, query):
    body = get(client, query)
    assert body == {
        "standard": body["standard"],
        "aqi": None,
        "iaqi": {},
        "primary_pollutants": [],
        "category": None,
        "advice": {},
        "beyond_index": [],
    }


def test_empty_fields_are_not_measured(client):
    assert get(client, "standard=HJ633-2026&pm25=&pm10=50")["iaqi"] == {"pm10": 50}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("pm25=-1", "pm25"),
        ("pm25=abc", "pm25"),
        ("pm25=NaN", "pm25"),
        ("co=Infinity", "co"),
        ("pm25=1e-99999999", "pm25"),
        ("standard=HJ633-2020&pm25=10", "standard"),
        ("period=week&pm25=10", "period"),
        ("pm2_5=10", "pm2_5"),  # a typo is not silently ignored
        ("standard=HJ633-2026&period=day&o3=100", "o3"),  # 2026 daily report has no 1-hour O3
        ("standard=HJ633-2026&period=hour&o3_8h=100", "o3_8h"),
        ("standard=HJ633-2012&period=hour&so2=801", "so2_24h"),  # needed for the 2012 fallback
        ("standard=EPA-2024&so2=400", "so2_24h"),
        ("standard=EPA-2024&o3_8h=0.3", "o3"),
    ],
)
def test_bad_input_is_422_in_the_one_error_shape(client, query, field):
    body = get(client, query, status=422)
    assert body["code"] == 422 and body["status"] == "Unprocessable Entity"
    assert list(body["errors"]["query"]) == [field]
    assert all(isinstance(m, str) for m in body["errors"]["query"][field])


def test_documented_in_openapi(client):
    spec = client.get("/api/openapi.json").get_json()
    operation = spec["paths"][URL]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert set(params) == {"standard", "period", "pm25", "pm10", "so2", "no2", "o3", "o3_8h", "co", "so2_24h"}
    assert params["standard"]["schema"]["enum"] == ["HJ633-2026", "HJ633-2012", "EPA-2024"]
    assert params["pm25"]["schema"] == {"type": "number", "minimum": 0}
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    props = spec["components"]["schemas"][schema]["properties"]
    assert {"aqi", "iaqi", "primary_pollutants", "category", "advice"} <= set(props)
