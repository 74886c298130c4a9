"""Message identity and ordering: (device, boot, seq), where boot counts device restarts."""

from __future__ import annotations


def is_newer(boot: int, seq: int, than_boot: int | None, than_seq: int | None) -> bool:
    """Whether (boot, seq) comes after the current position; a device without one accepts anything."""
    if than_boot is None or than_seq is None:
        return True
    return (boot, seq) > (than_boot, than_seq)


def newest_by(rows: list[dict], key: str) -> dict[str, dict]:
    """The newest row per ``row[key]`` by (boot, seq): what the current state should become."""
    newest: dict[str, dict] = {}
    for row in rows:
        current = newest.get(row[key])
        if current is None or (row["boot"], row["seq"]) > (current["boot"], current["seq"]):
            newest[row[key]] = row
    return newest
