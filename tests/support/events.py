"""Read the live event stream in tests, from the moment a test starts listening."""

from __future__ import annotations

from services.events import bus


class EventLog:
    """Events appended to the district's stream after this object was made (all producers write synchronously)."""

    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self.start = bus.latest_id(runtime.redis, runtime.keys)

    def read(self, kind: str | None = None) -> list[dict]:
        """Every event since the start, oldest first; only those of ``kind`` when given."""
        events = bus.read_after(self.runtime.redis, self.runtime.keys, self.start, block_ms=None, count=100_000)
        return [e for _, e in events if kind is None or e.get("kind") == kind]
