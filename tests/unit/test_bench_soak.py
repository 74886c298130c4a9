"""The soak bench's pure parts: the least-squares drift, the series summary, the markdown table."""

from __future__ import annotations

import os

import pytest

from bench.rss import sample_total, slope, summarise_series, tree_pss_mib, tree_rss_mib
from bench.soak import summary_table


def series(values_by_name: dict[str, list[float | None]], step: float = 10.0) -> list[dict]:
    n = len(next(iter(values_by_name.values())))
    samples = []
    for i in range(n):
        rss = {name: values[i] for name, values in values_by_name.items()}
        samples.append({"t": i * step, "rss_mib": {**rss, "total": sample_total(rss)}})
    return samples


def test_slope_of_a_line_is_its_gradient_whatever_the_offset():
    xs = [0.0, 10.0, 20.0, 30.0]
    assert slope(xs, [5 + 0.25 * x for x in xs]) == pytest.approx(0.25)
    assert slope(xs, [100.0] * 4) == pytest.approx(0.0)


def test_slope_fits_noise_by_least_squares():
    # y = 0, 2, 1, 3: mean x 1.5, mean y 1.5, sxy = 4, sxx = 5
    assert slope([0, 1, 2, 3], [0, 2, 1, 3]) == pytest.approx(0.8)


@pytest.mark.parametrize("xs, ys", [([], []), ([1.0], [2.0]), ([3.0, 3.0], [1.0, 2.0]), ([1.0, 2.0], [1.0])])
def test_slope_is_unknown_without_two_distinct_points(xs, ys):
    assert slope(xs, ys) is None


def test_summary_skips_the_warm_up_for_start_and_drift_but_not_for_the_peak():
    # web grows 1 MiB per 10 s sample after the warm-up (6 MiB/min = 60 MiB/10 min); its start-up peak is earlier
    web = [250.0, 100.0, 101.0, 102.0, 103.0]
    bridge = [60.0, 60.0, 60.0, 60.0, 60.0]
    summary = summarise_series(series({"web": web, "bridge": bridge}), ["web", "bridge"], warmup_s=10.0)
    assert summary["web"] == {"start": 100.0, "end": 103.0, "max": 250.0, "drift_per_10min": 60.0, "samples": 4}
    assert summary["bridge"]["drift_per_10min"] == 0.0
    assert summary["total"]["start"] == 160.0
    assert summary["total"]["drift_per_10min"] == 60.0


def test_a_sample_missing_a_process_has_no_total_and_is_left_out_of_that_process():
    samples = series({"web": [100.0, None, 100.0], "bridge": [50.0, 50.0, 50.0]})
    assert [s["rss_mib"]["total"] for s in samples] == [150.0, None, 150.0]
    summary = summarise_series(samples, ["web", "bridge"], warmup_s=0.0)
    assert summary["web"]["samples"] == 2
    assert summary["total"]["samples"] == 2
    assert summary["bridge"]["samples"] == 3


def result(web: list[float], bridge: list[float]) -> dict:
    samples = [
        s | {"pss_mib": {k: v and v / 2 for k, v in s["rss_mib"].items()}}
        for s in series({"web": web, "bridge": bridge})
    ]
    return {
        "summary": summarise_series(samples, ["web", "bridge"], warmup_s=0.0),
        "summary_pss": summarise_series(samples, ["web", "bridge"], warmup_s=0.0, key="pss_mib"),
        "target_mib": 400.0,
        "drift_tolerance_mib_per_10min": 5.0,
        "published": 1200,
        "acked": 1200,
        "stored": 1199,
        "lost": 1,
        "duplicates": 0,
        "http": {"200": 2400},
    }


def test_table_has_one_row_per_process_and_the_total_and_judges_the_target():
    table = summary_table(result([200.0, 200.0, 200.0], [150.0, 150.0, 150.0]))
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split("|")[1].strip() for row in rows] == ["process (RSS, MiB)", "web", "bridge", "**total**"]
    assert "| **total** | 350.0 | 350.0 | 350.0 | 0.0 |" in table
    assert "against the 400 MiB target: met" in table
    assert ": flat" in table
    assert "lost 1, duplicates 0" in table
    assert "200 × 2,400" in table
    assert "PSS (shared pages divided among their processes) total: after warm-up 175.0, peak 175.0 MiB" in table


def test_table_flags_a_total_over_the_target_and_an_upward_drift():
    table = summary_table(result([300.0, 310.0, 320.0], [150.0, 150.0, 150.0]))
    assert "NOT met" in table
    assert "DRIFTING" in table


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc")
def test_tree_rss_counts_this_process_and_nothing_for_a_missing_pid():
    mib, processes = tree_rss_mib(os.getpid())
    assert processes >= 1 and mib > 1.0
    assert tree_rss_mib(2**22 + 1) == (None, 0)
    pss, _ = tree_pss_mib(os.getpid())
    assert 0 < pss <= mib  # a page shared with other processes counts in part
    assert tree_pss_mib(2**22 + 1) == (None, 0)
