"""Breakthroughs (sim/outcomes.py, BreakthroughProbe): the Dobropillia pattern of the record, measured
the same way on the model's fronts and on DeepState's (docs/CALIBRATION.md section 12)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sim.outcomes import BREAKTHROUGH_KM, BreakthroughProbe


def _front(rows=40, cols=40, depth=10) -> np.ndarray:
    held = np.zeros((rows, cols), bool)
    held[:depth] = True          # the attacker holds the top rows: a straight front
    return held


def test_a_fast_wedge_is_one_breakthrough_and_its_retaking_is_measured():
    probe = BreakthroughProbe(1.0)
    held = _front()
    for day in range(5):
        probe.feed(day, held.copy())
    for day in range(5, 8):       # 12 km deep, two cells wide, in three days
        held[10:10 + 4 * (day - 4), 20:22] = True
        probe.feed(day, held.copy())
    assert probe.events == 1 and probe.first_day == 6    # 8 km deep on its second day
    assert probe.depth_km >= BREAKTHROUGH_KM
    held[16:22, 20:22] = False     # the tip of the wedge retaken
    for day in range(8, 90):
        probe.feed(day, held.copy())
    row = probe.row(held)
    assert row["breakthroughs"] == 1
    assert row["breakthrough_retaken_share"] == pytest.approx(12 / 22)   # 6 of the 11 rows beyond 2 km


def test_a_creeping_front_is_no_breakthrough():
    probe = BreakthroughProbe(1.0)
    held = _front()
    for day in range(30):         # a km a day along the whole front: deep in a month, never 8 km in a week
        held[:10 + day] = True
        probe.feed(day, held.copy())
    assert probe.events == 0
    assert np.isnan(probe.row(held)["breakthrough_depth_km"])


def test_the_record_has_the_dobropillia_breakthrough_on_12_august_2025():
    from sim.hindcast import record_breakthroughs
    from sim.theater import build_grid, load_theater

    grid = build_grid(load_theater("pokrovsk"), 1.0)
    row = record_breakthroughs(dt.date(2025, 8, 5), 10, grid)
    assert row["breakthroughs"] == 1
    assert dt.date(2025, 8, 5) + dt.timedelta(days=row["breakthrough_day"]) == dt.date(2025, 8, 12)
    assert row["breakthrough_depth_km"] >= 10      # at least 10 km (SOURCES.md s.9)
