"""Each formula of the combat, weather and fire models pinned to its source's numbers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sim.model.combat import (
    advance_hazard, capture_probability, daily_casualty_rate, engagement, hill, lanchester_square, line_kernel,
    opposition_factor,
)
from sim.model.weather import FOG, PRECIP, drone_availability, long_run_shares, month_of_days, rescale, stationary


def test_dupuy_opposition_factor_points():
    """SOURCES.md s.7: about 1.0 at 0.9, 0.75 at 2.0, 0.65 at 3.0, 0.4 at 6.0."""
    assert opposition_factor([0.9, 2.0, 3.0, 6.0]) == pytest.approx([1.0, 0.75, 0.65, 0.4])
    assert opposition_factor(0.3) == pytest.approx(1.0)
    assert opposition_factor(12.0) == pytest.approx(0.4)
    assert 0.65 < opposition_factor(2.5) < 0.75


def test_dupuy_standard_rates_and_factors():
    """Attacker 2.8%, defender 1.5% a day at equal strength, scaled by terrain and weather factors."""
    assert daily_casualty_rate(0.028, 1.0, 0.9) == pytest.approx(0.028)
    assert daily_casualty_rate(0.015, 1.0, 0.9) == pytest.approx(0.015)
    # an attacker at 3:1 loses 0.65 of the standard rate; urban (0.5) and wet-light weather (0.7) multiply
    assert daily_casualty_rate(0.028, 0.35, 3.0, terrain=0.5, weather=0.7) == pytest.approx(0.028 * 0.35 * 0.65 * 0.35)


def test_hill_hazard_is_half_at_the_half_ratio_and_monotone():
    r = np.array([0.5, 1.0, 2.0, 3.0, 4.0, 6.0])
    h = advance_hazard(r, 0.5, 3.0, 3.0)
    assert h[3] == pytest.approx(0.25)
    assert np.all(np.diff(h) > 0)
    assert hill(0.0, 3.0, 3.0) == 0.0
    assert advance_hazard(3.0, 0.5, 3.0, 3.0, mobility=0.4) == pytest.approx(0.1)
    assert capture_probability(0.25) == pytest.approx(1 - np.exp(-0.25))


def test_line_kernel_spreads_a_unit_along_a_straight_front():
    """A unit on a straight front engages all its personnel; far behind it, almost none."""
    xs = np.arange(-40, 40.5, 1.0)
    front = np.column_stack([xs, np.zeros_like(xs)])
    on = engagement(np.array([[0.0, 0.5]]), np.array([3000.0]), np.array([6.0]), front, 1.0)
    assert on.sum() == pytest.approx(3000.0, rel=0.02)
    behind = engagement(np.array([[0.0, 18.0]]), np.array([3000.0]), np.array([6.0]), front, 1.0)
    assert behind.sum() < 0.02 * 3000
    assert line_kernel(0.0, 1.0) == pytest.approx(1 / np.sqrt(2 * np.pi))
    # a unit inside a ring of contact cells never engages more than it has
    ring = np.column_stack([3 * np.cos(np.linspace(0, 2 * np.pi, 60)), 3 * np.sin(np.linspace(0, 2 * np.pi, 60))])
    inside = engagement(np.array([[0.0, 0.0]]), np.array([1000.0]), np.array([6.0]), ring, 1.0)
    assert inside.sum() == pytest.approx(1000.0)


def test_lanchester_square_law_reproduces_engel_iwo_jima():
    """Engel (1954), SOURCES.md s.7: US 54,000 on day 0-1, 6,000 on day 2-3, 13,000 on day 5-6; Japanese 21,500."""

    def arrivals(t0, t1):
        def rate(t):
            if t < 1:
                return 54000.0
            if 2 <= t < 3:
                return 6000.0
            if 5 <= t < 6:
                return 13000.0
            return 0.0
        return rate(t0) * (t1 - t0)

    t, us, jp = lanchester_square(0.0, 21500.0, 0.0106, 0.0544, 36, dt=0.001, a_arrivals=arrivals)
    expected = {1: (52835, 21220), 6: (66453, 18275), 20: (56062, 9269), 36: (51984, 217)}
    for day, (a, b) in expected.items():
        assert us[day] == pytest.approx(a, rel=0.005), day
        assert jp[day] == pytest.approx(b, rel=0.02, abs=60), day


def test_weather_rescaling_hits_the_requested_long_run_shares():
    months = month_of_days(dt.date(2025, 11, 11), 120)
    base = {m: np.full((4, 4), 0.25) for m in range(1, 13)}
    scaled = rescale(base, months, fog=0.3, precip=0.1)
    shares = long_run_shares(scaled, months)
    assert shares[FOG] == pytest.approx(0.3, abs=1e-4)
    assert shares[PRECIP] == pytest.approx(0.1, abs=1e-4)
    for P in scaled.values():
        assert np.allclose(P.sum(axis=1), 1.0)
    assert stationary(np.array([[0.9, 0.1], [0.5, 0.5]])) == pytest.approx([5 / 6, 1 / 6])


def test_drone_availability_by_weather():
    class Effect:
        def __init__(self, a):
            self.drone_availability = a

    # rain grounds common drones; weather-resistant ones fly (Gao et al. 2021)
    assert drone_availability(Effect(0.0), PRECIP, 0.15) == pytest.approx(0.15)
    # fog blinds both kinds
    assert drone_availability(Effect(0.15), FOG, 0.15) == pytest.approx(0.15)
    assert drone_availability(Effect(1.0), 0, 0.15) == pytest.approx(1.0)


def test_force_ratio_success_of_the_standard_engagement():
    """The model's standard engagement (validate-model) rises with the ratio and passes 0.5 near 3:1."""
    from pathlib import Path

    from sim.analysis.validation import dupuy_ratios, dupuy_table, engagement_success
    from sim.experiment.engagements import standard_engagement
    from sim.theater import load_scenario

    spec = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "base.yaml").scenario
    s = engagement_success(standard_engagement(spec, [0.5, 1.0, 2.0, 3.0, 4.0, 6.0]), days=10)
    assert np.all(np.diff(s["p_win"]) > 0)
    assert s["p_win"].iloc[0] < 0.05 and s["p_win"].iloc[-1] > 0.8
    crossing = np.interp(0.5, s["p_win"], s["ratio"])
    assert 2.0 < crossing < 3.5
    table = dupuy_table(engagement_success(standard_engagement(spec, dupuy_ratios())))
    assert len(table) == 10 and table["dupuy_attacker_wins"].iloc[0] == 0.22  # SOURCES.md s.7, first row
