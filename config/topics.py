"""The one catalogue of names: MQTT topics, Redis keys and channels, RQ queues, device kinds."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DeviceKind(StrEnum):
    PARKING_BERTH = "parking_berth"
    AIR_STATION = "air_station"


class EventKind(StrEnum):
    """Kinds of live events on the events channel (and the SSE stream's ``event:`` field)."""

    PARKING_BERTH = "parking_berth"
    PARKING_FACILITY = "parking_facility"  # a facility's counts changed
    AIR_STATION = "air_station"
    DEVICE_STATUS = "device_status"
    ALERT = "alert"  # an alert raised, updated, acknowledged, assigned or cleared (services/alerts)
    SERVICE_REQUEST = "service_request"  # a request submitted, changed or overdue (no personal data)
    FLEET = "fleet"  # the sensor fleet's online / stale / offline counts changed (services/fleet)
    PIPELINE = "pipeline"  # a pipeline health sample: message rates, queue depths, workers (ops console)
    KPI = "kpi"  # the plan's KPIs were recomputed (services/kpi)
    RESET = "reset"  # to a reconnecting client: events were missed beyond replay; reload the page's state


class Queues(StrEnum):
    """RQ queues, listed in the order a worker serves them."""

    INGEST = "ingest"
    DEFAULT = "default"


WORKER_QUEUES = (Queues.INGEST, Queues.DEFAULT)


@dataclass(frozen=True)
class Topics:
    """MQTT topics under the district prefix (ARCHITECTURE §3)."""

    district: str

    def parking_state(self, facility_id: str, berth_id: str) -> str:
        return f"{self.district}/parking/{facility_id}/{berth_id}/state"

    def air_reading(self, station_id: str) -> str:
        return f"{self.district}/air/{station_id}/reading"

    def device_status(self, device_id: str) -> str:
        return f"{self.district}/devices/{device_id}/status"

    @property
    def subscriptions(self) -> tuple[str, ...]:
        """Filters the bridge subscribes to (before any ``$share/`` group is added).

        The whole district tree, not just the known shapes: a message on a wrong topic must reach the
        dead-letter store with its reason instead of vanishing unseen.
        """
        return (f"{self.district}/#",)


def shared(topic_filter: str, group: str) -> str:
    """Wrap a filter in a shared subscription so N bridges split the messages."""
    return f"$share/{group}/{topic_filter}" if group else topic_filter


def device_address(kind: DeviceKind, *parts: str) -> str:
    """Key of a device in the registry: what its topic names, e.g. ``parking/F01/F01-001``."""
    prefix = "parking" if kind is DeviceKind.PARKING_BERTH else "air"
    return "/".join((prefix, *parts))


@dataclass(frozen=True)
class RedisKeys:
    """Redis keys and pub/sub channels, all under the district prefix."""

    district: str

    def _k(self, *parts: str) -> str:
        return ":".join(("civic", self.district, *parts))

    @property
    def registry(self) -> str:
        """Hash: device address -> device JSON; what the bridge validates topics against."""
        return self._k("registry")

    @property
    def last_seen(self) -> str:
        """Hash: device id -> epoch seconds of its latest accepted message."""
        return self._k("last_seen")

    @property
    def device_status(self) -> str:
        """Hash: device id -> last status the device (or its last will) published."""
        return self._k("device_status")

    @property
    def device_vitals(self) -> str:
        """Hash: device id -> JSON of its latest battery (%) and signal (RSSI, dBm) where it reports them."""
        return self._k("device_vitals")

    @property
    def fleet_counts(self) -> str:
        """String: JSON of the fleet's counts at the last fleet sweep; a ``fleet`` event goes out when they change."""
        return self._k("fleet", "counts")

    @property
    def rate_limits(self) -> str:
        """Prefix of Flask-Limiter's counters (login attempts, public submissions) per client and window."""
        return self._k("ratelimit")

    @property
    def api_keys(self) -> str:
        """Hash: SHA-256 of a live API key -> its id; lets Open311 POST check keys while the database is away."""
        return self._k("api_keys")

    def open311_token(self, token: str) -> str:
        """String: an Open311 submission accepted while the database was away, not stored yet (expires)."""
        return self._k("open311_token", token)

    @property
    def events_stream(self) -> str:
        """Stream of live events, one JSON event per state change; capped at EVENTS_REPLAY_LENGTH for replay."""
        return self._k("events")

    @property
    def bridge_holding(self) -> str:
        """String with a short TTL, renewed while a bridge holds a batch back at BRIDGE_MAX_BACKLOG."""
        return self._k("bridge_holding")

    @property
    def counters(self) -> str:
        """Hash of pipeline counters shared by all bridges and workers (read by /metrics)."""
        return self._k("counters")

    @property
    def histograms(self) -> str:
        """Hash of histogram buckets, sums and counts (read by /metrics)."""
        return self._k("histograms")

    @property
    def pipeline_sample(self) -> str:
        """String: JSON of the last pipeline health sample (counter totals, failed jobs, time), for rates."""
        return self._k("pipeline", "sample")

    @property
    def parking_geo(self) -> str:
        """GEO set of parking facility ids at their WGS-84 positions (nearby search)."""
        return self._k("parking", "geo")

    @property
    def parking_facilities(self) -> str:
        """Hash: facility id -> JSON of its descriptive fields (what a list or nearby answer shows)."""
        return self._k("parking", "facilities")

    @property
    def parking_counts(self) -> str:
        """Hash: facility id -> JSON counts by status and category, always recomputed from the database."""
        return self._k("parking", "counts")

    @property
    def parking_counts_lock(self) -> str:
        """Lock held while counts are read from the database and written here, so a stale read never wins."""
        return self._k("parking", "counts", "lock")

    def heartbeat(self, role: str, name: str) -> str:
        """Key with a TTL, refreshed while a bridge or worker is alive."""
        return self._k("heartbeat", role, name)

    def heartbeat_pattern(self, role: str) -> str:
        return self._k("heartbeat", role, "*")
