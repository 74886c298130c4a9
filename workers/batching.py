"""Per-kind batches that close on size or age (pure: the caller supplies the clock)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Batch:
    items: list = field(default_factory=list)
    acks: list = field(default_factory=list)  # (connection generation, mid) to acknowledge after hand-off
    opened_at: float = 0.0  # monotonic time of the first item
    first_received: float = 0.0  # wall-clock time of the first item, for end-to-end latency


class Batcher:
    def __init__(self, max_items: int, max_age_s: float):
        self.max_items, self.max_age_s = max_items, max_age_s
        self._open: dict[str, Batch] = {}

    def add(self, kind: str, item, ack, now: float, wall: float) -> bool:
        """Add an item; True when its batch is now full and should be flushed."""
        batch = self._open.get(kind)
        if batch is None:
            batch = self._open[kind] = Batch(opened_at=now, first_received=wall)
        batch.items.append(item)
        if ack is not None:
            batch.acks.append(ack)
        return len(batch.items) >= self.max_items

    def due(self, now: float) -> list[str]:
        """Kinds whose oldest item has waited ``max_age_s`` or longer."""
        return [k for k, b in self._open.items() if now - b.opened_at >= self.max_age_s]

    def take(self, kind: str) -> Batch | None:
        return self._open.pop(kind, None)

    def kinds(self) -> list[str]:
        return list(self._open)

    def pending(self) -> int:
        return sum(len(b.items) for b in self._open.values())
