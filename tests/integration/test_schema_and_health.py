"""Migrations match the models; /readyz names the dependency that is down."""

from alembic import command

from services.app import create_app
from services.migrate import alembic_config
from tests.support.services import free_port


def test_models_and_migrations_agree(postgres_url):
    from config.settings import Settings

    # Raises if autogenerate would find any difference between the models and the migrated schema.
    command.check(alembic_config(Settings.from_env({"DATABASE_URL": postgres_url}).database_url))


def readyz(env: dict):
    response = create_app(env).test_client().get("/readyz")
    return response.status_code, response.json


def test_readyz_is_ready_when_everything_answers(env, mosquitto):
    status, body = readyz(env | {"MQTT_URL": mosquitto.url()})
    assert (status, body["down"]) == (200, [])


def test_readyz_names_each_dependency_that_is_down(env, mosquitto):
    closed = free_port()
    status, body = readyz(env | {"MQTT_URL": f"mqtt://127.0.0.1:{closed}"})
    assert (status, body["down"]) == (503, ["broker"])
    status, body = readyz(env | {"MQTT_URL": mosquitto.url(), "REDIS_URL": f"redis://127.0.0.1:{closed}/0"})
    assert (status, body["down"]) == (503, ["redis"])
    assert "Connection" in body["checks"]["redis"]["error"]
    status, body = readyz(
        env | {"MQTT_URL": mosquitto.url(), "DATABASE_URL": f"postgresql://127.0.0.1:{closed}/nothing"}
    )
    assert (status, body["down"]) == (503, ["database"])
