"""`sim bench`'s parts: what they measure must be what they say (the timings themselves are
not tested: speed is measured by the benchmark, never asserted by a test)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from sim.bench import _tree_pss_mb, write_performance
from sim.experiment.replication import iterate, local_pool
from sim.theater import load_scenario
from sim.theater import theater_of

ROOT = Path(__file__).resolve().parents[1]


def test_a_reused_pool_gives_the_replications_a_fresh_run_gives():
    doc = load_scenario(ROOT / "tests" / "data" / "mini_scenario.yaml")
    theater = theater_of(doc)
    serial = {r.index: r.row for r in iterate(doc.scenario, theater, 3, [0, 1, 2, 3])}
    with local_pool(doc.scenario, theater, 3, 2) as pool:
        first = {r.index: r.row for r in iterate(doc.scenario, theater, 3, [0, 1], 2, pool=pool)}
        second = {r.index: r.row for r in iterate(doc.scenario, theater, 3, [2, 3], 2, pool=pool)}
    pooled = {**first, **second}
    assert pooled.keys() == serial.keys()
    for i in serial:
        assert json.dumps(pooled[i], default=str) == json.dumps(serial[i], default=str)


def test_process_tree_memory_counts_the_children():
    import subprocess
    import sys
    import time

    alone, own = _tree_pss_mb(os.getpid())
    assert 0 < own <= alone
    child = subprocess.Popen([sys.executable, "-c", "import numpy, time; a = numpy.ones(40_000_000); time.sleep(30)"])
    try:
        for _ in range(100):  # until the child has its 320 MB array
            time.sleep(0.1)
            total, own_now = _tree_pss_mb(os.getpid())
            if total - own_now > 300:
                break
        assert total - own_now > 300
    finally:
        child.kill()
        child.wait()


def _result(thousand_s, ratio, speedup, mem_mb):
    phases = {"logistics.update": 0.7, "combat.fight": 0.5}
    return {"date": "2026-11-21", "machine": "test machine", "version": "0",
            "model": {"first_build_s": 0.1, "build_s": 0.02, "step_per_replication_s": 0.3, "step_per_day_ms": 2.5,
                      "agent_steps_per_replication": 5000, "agent_step_us": 60.0, "days": 120,
                      "replications": 4},
            "phases": phases, "wolf_sheep": {"build_s": 0.3, "steps": 20, "step_s": 0.6, "agent_steps": 25000,
                                             "agent_step_us": 60.0 / ratio},
            "throughput": {"serial_runs": 10, "pool_runs": 20, "workers": 2, "rate_1": 3.0, "rate_pool": 3.0 * speedup,
                           "startup_s": 2.0, "speedup": speedup, "thousand_s": thousand_s},
            "ratio": ratio,
            "memory": {"runs": 10_000, "workers": 2, "seconds": 1800, "peak_tree_mb": mem_mb, "peak_parent_mb": 150,
                       "date": "2026-11-21"},
            "history": [{"change": "first", "replication_s": 0.8}], "thousand_s": None, "machine_scaling": 1.9}


def targets(text):
    rows = text.split("## Targets")[1].split("\n## ")[0]
    return [line for line in rows.splitlines() if line.startswith("| ") and "target" not in line]


def test_the_report_says_met_only_for_targets_met(tmp_path):
    path = tmp_path / "PERFORMANCE.md"
    write_performance(path, _result(thousand_s=180, ratio=3.0, speedup=1.9, mem_mb=520))
    rows = targets(path.read_text())
    thousand, campaign, ratio, speedup, memory = rows[:5]
    assert "**not met**" in thousand and "180 s" in thousand and "6.0x too slow" in thousand
    # 20,000 runs of 300 days at 3.0 x 1.9 runs of 120 days a second: 146 minutes
    assert "**not met**" in campaign and "146 minutes" in campaign
    assert "**not met**" in ratio
    assert "**met**" in speedup
    assert "**not met**" in memory and "520 MB" in memory
    write_performance(path, _result(thousand_s=25, ratio=0.3, speedup=1.7, mem_mb=400))
    thousand, campaign, ratio, speedup, memory = targets(path.read_text())[:5]
    assert "**met**" in thousand and "**met**" in ratio and "**met**" in memory
    assert "**not met**" in speedup
    assert np.isclose(float(ratio.split("ratio ")[1].split(" ")[0]), 0.30)


def test_the_wolf_sheep_reference_is_the_median_of_interleaved_rounds(monkeypatch):
    import sim.bench as bench

    calls = []
    ours = iter([50.0, 40.0, 90.0, 45.0, 60.0])
    wolves = iter([25.0, 10.0, 30.0, 15.0, 20.0])
    monkeypatch.setattr(bench, "bench_model", lambda replications: calls.append("ours") or {"agent_step_us": next(ours)})
    monkeypatch.setattr(bench, "bench_wolf_sheep", lambda: calls.append("wolf") or {"agent_step_us": next(wolves),
                                                                                     "step_s": 0.5})
    ref = bench.bench_against_wolf_sheep(rounds=5)
    assert calls == ["ours", "wolf"] * 5
    assert [round(x["ratio"], 6) for x in ref["rounds"]] == [2.0, 4.0, 3.0, 3.0, 3.0]
    assert ref["ratio"] == 3.0 and ref["ours_us"] == 50.0 and ref["wolf_sheep_us"] == 20.0
    assert ref["wolf_sheep"]["agent_step_us"] == 20.0  # the reported WolfSheep figure is the median too


def _row_number(text: str, label: str) -> float:
    """The first number in the measured cell of the table row that starts with ``label``."""
    row = next(line for line in text.splitlines() if line.startswith(f"| {label}"))
    return float(row.split("|")[2].split()[0].replace(",", ""))


def test_sim_bench_at_a_tiny_size_writes_the_measured_rows(tmp_path):
    """The whole `sim bench` command, as a user runs it, at a tiny size: a broken bench fails here."""
    import subprocess
    import sys

    out = tmp_path / "p.md"
    done = subprocess.run([sys.executable, "-m", "sim", "bench", "--serial-runs", "2", "--pool-runs", "4",
                           "--out", str(out)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"written to {out}" in done.stdout
    text = out.read_text()
    assert _row_number(text, "1 worker (in process), 2 replications") > 0
    assert _row_number(text, "2 workers (warm pool), 4 replications") > 0
    assert _row_number(text, "per simulated day") > 0
    assert _row_number(text, "per agent-step") > 0
    # the whole-grid kernels, each timed apart (no timing compared here: the machine is shared)
    for kernel in ("distance transform", "flood fill", "widest path", "road service", "the supply network in one call",
                   "step 3b's network as the model calls it"):
        assert _row_number(text, kernel) > 0, kernel
    rounds = [line for line in text.splitlines() if line.split("|")[1:2] and line.split("|")[1].strip().isdigit()]
    assert len(rounds) == 5
    ratios = sorted(float(line.split("|")[4]) for line in rounds)
    median = next(line for line in text.splitlines() if line.startswith("| **median**"))
    assert float(median.split("|")[4]) == ratios[2] > 0
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["throughput"]["serial_runs"] == 2 and data["throughput"]["pool_runs"] == 4
    assert data["ratio"] == data["reference"]["ratio"] == np.median([r["ratio"] for r in data["reference"]["rounds"]])
