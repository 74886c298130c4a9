"""Where the machine's CPU went during a run: every process's user + system time from /proc, grouped.

Two snapshots (first publish, last row stored) of every process on the machine; the difference per process
is grouped into the bench's own processes, PostgreSQL (backends of the bench database / the rest), Redis,
kernel threads and everything else. What no live process accounts for (processes that exited within the
window, interrupt time) is ``unattributed``. Linux only: elsewhere the figures are None.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

CLK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class ProcSample:
    comm: str
    ppid: int
    title: str  # command line, read only for PostgreSQL processes (their title names the database)
    cpu: float  # seconds, user + system
    start: int = 0  # start time in clock ticks after boot: with the pid, names one process (pids are reused)


def proc_cpu(pid: int | None) -> float | None:
    """User + system CPU seconds of a live process, None when unknown."""
    if not pid:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLK


def census() -> dict[int, ProcSample]:
    """Every live process's CPU seconds so far."""
    found: dict[int, ProcSample] = {}
    with os.scandir("/proc") as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
                comm = stat[stat.index("(") + 1 : stat.rindex(")")]
                fields = stat.rsplit(")", 1)[1].split()
                title = ""
                if comm == "postgres":
                    title = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, ValueError, IndexError):
                continue
            spent = (int(fields[11]) + int(fields[12])) / CLK
            found[int(entry.name)] = ProcSample(comm, int(fields[1]), title.strip(), spent, int(fields[19]))
    return found


def machine_times() -> dict[str, float] | None:
    """Machine-wide CPU seconds since boot: busy (user, nice, system, irq, softirq), softirq, steal."""
    try:
        v = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = v
    return {"busy": (user + nice + system + irq + softirq) / CLK, "softirq": softirq / CLK, "steal": steal / CLK}


def attribute(
    before: Mapping[int, ProcSample],
    after: Mapping[int, ProcSample],
    ours: Mapping[int, str],
    dbname: str,
    busy: float | None,
    extra: Mapping[str, float] | None = None,
    ignore: frozenset[int] = frozenset(),
) -> dict:
    """Group per-process CPU deltas. ``ours`` names the bench's processes by pid; ``extra`` adds figures
    measured elsewhere, for processes in ``ignore`` (the publisher reports its own CPU: it may have exited
    by the second snapshot)."""
    groups: dict[str, float] = defaultdict(float)
    others: dict[str, float] = defaultdict(float)
    total = 0.0
    for pid, now in after.items():
        if pid in ignore:
            continue
        then = before.get(pid)
        spent = now.cpu - then.cpu if then is not None and then.start == now.start else now.cpu
        if spent <= 0:
            continue
        total += spent
        if pid in ours:
            groups[ours[pid]] += spent
        elif now.comm == "postgres":
            mine = f" {dbname} " in f"{now.title} " and "autovacuum" not in now.title
            groups["postgres_backends" if mine else "postgres_other"] += spent
        elif now.comm == "redis-server":
            groups["redis_server"] += spent
        elif now.ppid == 2 or pid == 2:
            groups["kernel_threads"] += spent
        else:
            others[now.comm] += spent
    for name, spent in (extra or {}).items():
        groups[name] += spent
        total += spent
    result = {k: round(v, 2) for k, v in groups.items()}
    result["other_processes"] = round(sum(others.values()), 2)
    result["other_top"] = [[c, round(s, 2)] for c, s in sorted(others.items(), key=lambda kv: -kv[1])[:5]]
    result["unattributed"] = round(busy - total, 2) if busy is not None else None
    return result
