"""Resident memory of process trees, and what a series of samples says: start, end, peak, drift.

Pure except :func:`tree_rss_mib`, which reads /proc (Linux only: elsewhere every figure is None).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

DRIFT_WINDOW_S = 600.0  # drift is reported per 10 minutes, the soak's length


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (gunicorn's workers under its master), children first."""
    return [c for child in _children(pid) for c in (child, *descendants(child))]


def _proc_kib(pid: int, file: str, field: str) -> int | None:
    """``field`` (kB) of /proc/<pid>/<file>; None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/{file}").read_text()
    except OSError:
        return None
    return next((int(ln.split()[1]) for ln in text.splitlines() if ln.startswith(field)), 0)


def _tree_mib(pid: int, file: str, field: str) -> tuple[float | None, int]:
    total, count, todo, seen = 0, 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        kib = _proc_kib(p, file, field)
        if kib is None:
            continue
        total, count = total + kib, count + 1
        todo.extend(_children(p))
    return (round(total / 1024, 1) if count else None), count


def tree_rss_mib(pid: int) -> tuple[float | None, int]:
    """RSS of a process and all its descendants (gunicorn's master and workers), MiB; and how many processes.

    Shared pages (a forked worker's copy-on-write memory, the shared libraries every interpreter maps) count
    once per process, as `ps` shows them: an upper bound of what the tree costs.
    """
    return _tree_mib(pid, "status", "VmRSS:")


def tree_pss_mib(pid: int) -> tuple[float | None, int]:
    """PSS of the same tree: each shared page divided among the processes sharing it (machine-wide), so the
    platform's processes' PSS add up to what they cost the machine together."""
    return _tree_mib(pid, "smaps_rollup", "Pss:")


def slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of ys against xs; None with fewer than two distinct xs."""
    n = len(xs)
    if n != len(ys) or n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def summarise_series(
    samples: Sequence[Mapping], names: Sequence[str], warmup_s: float, key: str = "rss_mib"
) -> dict[str, dict]:
    """Per name (and ``total``): RSS at the first post-warm-up sample, at the last, the peak over the whole
    run, and the drift (least-squares slope over the post-warm-up samples) in MiB per 10 minutes.

    Each sample is ``{"t": seconds since start, key: {name: MiB or None}}``; a None (process gone) is left
    out of that name's figures.
    """
    result = {}
    for name in (*names, "total"):
        points = [(s["t"], s[key].get(name)) for s in samples if key in s]
        points = [(t, v) for t, v in points if v is not None]
        steady = [(t, v) for t, v in points if t >= warmup_s]
        per_s = slope([t for t, _ in steady], [v for _, v in steady])
        result[name] = {
            "start": steady[0][1] if steady else None,
            "end": steady[-1][1] if steady else None,
            "max": max((v for _, v in points), default=None),
            "drift_per_10min": None if per_s is None else round(per_s * DRIFT_WINDOW_S, 1),
            "samples": len(steady),
        }
    return result


def sample_total(rss: Mapping[str, float | None]) -> float | None:
    """Sum of the processes' RSS; None when any is unknown (a total missing a process would flatter it)."""
    values = list(rss.values())
    if not values or any(v is None for v in values):
        return None
    return round(sum(values), 1)
