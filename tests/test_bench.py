"""`sim bench`'s parts: what they measure must be what they say (the timings themselves are
not tested: speed is measured by the benchmark, never asserted by a test)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from sim.bench import _tree_pss_mb, write_performance
from sim.runner import iterate, local_pool
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
    assert "**not met**" in rows[0] and "180 s" in rows[0]
    assert "**not met**" in rows[1]
    assert "**met**" in rows[2]
    assert "**not met**" in rows[3] and "520 MB" in rows[3]
    write_performance(path, _result(thousand_s=55, ratio=0.3, speedup=1.7, mem_mb=400))
    rows = targets(path.read_text())
    assert "**met**" in rows[0] and "**met**" in rows[1] and "**met**" in rows[3]
    assert "**not met**" in rows[2]
    assert np.isclose(float(rows[1].split("ratio ")[1].split(" ")[0]), 0.30)
