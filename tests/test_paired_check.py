"""The statistics of experiments/paired_check.py, the equivalence check of two source trees:
samples from one distribution pass, clearly shifted ones are caught."""

import importlib.util
from pathlib import Path

import numpy as np

_spec = importlib.util.spec_from_file_location(
    "paired_check", Path(__file__).resolve().parents[1] / "experiments" / "paired_check.py")
pc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pc)


def _sample(rng, n=200, p_enc=0.3, fall_scale=40.0, casualties=20000.0, horizon=120):
    fall = rng.exponential(fall_scale, n).round()
    return {
        "replication": np.arange(n, dtype=float),
        "encircled": rng.random(n) < p_enc,
        "pokrovsk_fall_day": np.where(fall < horizon, fall, np.nan),
        "defender_casualties": rng.normal(casualties, 3000.0, n),
        "attacker_casualties": rng.normal(40000.0, 5000.0, n),
        "territory_lost_km2": rng.gamma(4.0, 100.0, n),
    }


def test_identical_samples_are_the_same():
    before = _sample(np.random.default_rng(1))
    rows = pc.compare(before, before, 120)
    assert pc.verdict(rows)
    assert all(r["p"] == 1.0 for r in rows)


def test_two_draws_of_one_distribution_are_not_told_apart():
    rows = pc.compare(_sample(np.random.default_rng(10)), _sample(np.random.default_rng(11)), 120)
    assert pc.verdict(rows)


def test_clear_shifts_are_caught_each_by_its_test():
    rng = np.random.default_rng(4)
    base = _sample(rng)
    for shifted, outcome in ((_sample(rng, p_enc=0.6), "P(encirclement)"),
                             (_sample(rng, fall_scale=90.0), "fall day (censored)"),
                             (_sample(rng, casualties=24000.0), "defender casualties")):
        rows = pc.compare(base, shifted, 120)
        assert not pc.verdict(rows)
        assert {r["outcome"] for r in rows if r["distinguishable"]} == {outcome}


def test_holm_is_step_down():
    assert pc.holm([0.01, 0.04, 0.03, 0.5]) == [0.04, 0.09, 0.09, 0.5]


def test_logrank_sees_censoring():
    """Same event days, but one sample censored at the horizon half the time: a different survival."""
    t = np.arange(1.0, 101.0)
    assert pc.logrank_p(t, np.ones(100, bool), t, np.ones(100, bool)) == 1.0
    late = np.where(np.arange(100) % 2 == 0, t, 120.0)
    assert pc.logrank_p(t, np.ones(100, bool), late, late < 120) < 0.01
