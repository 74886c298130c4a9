import pytest

from config.settings import VARIABLES, Settings, markdown_table, parse_mqtt_url


def test_plain_postgresql_url_uses_psycopg3():
    s = Settings.from_env({"DATABASE_URL": "postgresql://u:p@db:5432/civic"})
    assert s.database_url == "postgresql+psycopg://u:p@db:5432/civic"


def test_unset_database_means_a_sqlite_file_in_the_data_dir(tmp_path):
    s = Settings.from_env({"CIVIC_DATA_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path}/civicpulse.sqlite3"
    assert s.redis_url == "" and s.mqtt_url == ""


def test_mqtt_url_with_credentials():
    t = parse_mqtt_url("mqtt://bridge:s%40cret@broker:1884")
    assert (t.host, t.port, t.username, t.password) == ("broker", 1884, "bridge", "s@cret")
    assert parse_mqtt_url("mqtt://localhost").port == 1883
    with pytest.raises(ValueError):
        parse_mqtt_url("http://x")


def test_integers_are_checked_with_the_variable_named():
    with pytest.raises(ValueError, match="BRIDGE_BATCH_SIZE"):
        Settings.from_env({"BRIDGE_BATCH_SIZE": "lots"})


def test_every_variable_is_in_the_table():
    table = markdown_table()
    assert all(f"`{v.name}`" in table for v in VARIABLES)


def test_readme_lists_every_variable_as_civic_config_prints_it():
    """The README's table is `civic config`'s output: a new setting cannot go undocumented."""
    from config.settings import markdown_table
    from tests.support.services import ROOT

    assert markdown_table().strip() in (ROOT / "README.md").read_text()


def test_mqtts_url_means_tls_verified_with_mqtt_ca_file():
    t = Settings.from_env({"MQTT_URL": "mqtts://dev:pw@mqtt.example.cn", "MQTT_CA_FILE": "/etc/civic/ca.crt"}).mqtt
    assert (t.host, t.port, t.tls, t.ca_file) == ("mqtt.example.cn", 8883, True, "/etc/civic/ca.crt")
    assert parse_mqtt_url("mqtts://h:9883").port == 9883 and parse_mqtt_url("mqtts://h").ca_file is None
    plain = Settings.from_env({"MQTT_URL": "mqtt://h", "MQTT_CA_FILE": "/etc/civic/ca.crt"}).mqtt
    assert not plain.tls and plain.ca_file is None
