"""The compiled combat (sim/model/assault.py) computes the formulas of sim/model/combat.py and
sim/model/mechanisms.py: each kernel against the numpy formula it replaces, on random inputs, to
1e-12 relative (the kernels use the C library's exp and log and sum in loop order, so the last bits
may differ; experiments/paired_check.py shows that the outcome distributions do not)."""

import numpy as np

from sim.model import assault as kernel, mechanisms
from sim.model.combat import advance_hazard, daily_casualty_rate, engagement, hill, opposition_factor

RTOL = 1e-12


def test_opposition_factor_and_hill_are_the_formulas():
    ratios = np.concatenate([np.geomspace(1e-12, 1e8, 4001), [0.0, 0.9, 2.0, 3.0, 6.0]])
    got = np.array([kernel.opposition_factor(r) for r in ratios])
    np.testing.assert_allclose(got, opposition_factor(ratios), rtol=RTOL, atol=1e-15)
    for half, steep in ((3.0, 2.0), (1.5, 3.7), (2.5, 0.8)):
        got = np.array([kernel.hill(r, half, steep) for r in ratios])
        np.testing.assert_allclose(got, hill(ratios, half, steep), rtol=RTOL, atol=1e-300)


def test_engagement_is_the_gaussian_along_the_front_with_rows_capped():
    rng = np.random.default_rng(5)
    for _ in range(50):
        n, m = int(rng.integers(1, 30)), int(rng.integers(1, 200))
        x, y = rng.uniform(0, 100, n), rng.uniform(0, 100, n)
        personnel, sigma = rng.uniform(0, 3000, n), rng.choice([1.0, 2.0, 6.0], n)
        cxy = rng.uniform(0, 100, (m, 2))
        units = rng.permutation(n).astype(np.int64)
        want = engagement(np.c_[x, y][units], personnel[units], sigma, cxy, 1.0)
        got = kernel.engagement(units, x, y, personnel, sigma, cxy, 1.0)
        # below exp(-40) of a unit's peak the kernel gives 0: within 1e-17 of the unit's personnel
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-16 * max(personnel.max(), 1.0))


def test_the_assault_kernel_is_the_numpy_assault():
    rng = np.random.default_rng(8)
    for _ in range(30):
        na, nd, m = int(rng.integers(1, 20)), int(rng.integers(1, 20)), int(rng.integers(1, 150))
        ea, ed = rng.uniform(0, 300, (na, m)) * (rng.random((na, m)) < 0.7), rng.uniform(0, 300, (nd, m))
        pa, pd, fa, fd = rng.uniform(0.5, 2, na), rng.uniform(0.5, 3, nd), rng.uniform(0.5, 2, m), rng.uniform(0.5, 4, m)
        cells = np.c_[rng.integers(0, 10, m), rng.integers(0, 10, m)].astype(np.int64)
        mob, cas = rng.uniform(0.3, 1, (10, 10)), rng.uniform(0.5, 1.5, (10, 10))
        rule = (0.2, 3.0, 2.0, 0.5, 300.0, 0.4)
        personnel = rng.uniform(500, 3000, na + nd)
        side = np.r_[np.ones(na), np.zeros(nd)].astype(np.int8)
        att, dfd = np.arange(na, dtype=np.int64), np.arange(na, na + nd, dtype=np.int64)
        got = kernel.assault(att, ea, pa, fa, 10.0, 0.028, dfd, ed, pd, fd, 5.0, 0.015, cells, mob, 0.9, cas, 1.1,
                             rule, personnel.copy(), np.zeros(na + nd), side, np.zeros(2))
        A, D = (pa @ ea) * fa + 10.0, (pd @ ed) * fd + 5.0
        ratio = A / np.maximum(D, 1e-6)
        at = ea.sum(axis=0)
        massing = mechanisms.massing_divisor(at, 300.0, 1.0, 0.4)
        presence = np.clip(at / 300.0, 0, 1)
        r, c = cells[:, 0], cells[:, 1]
        hazard = advance_hazard(ratio / massing, 0.2, 3.0, 2.0, mob[r, c] * 0.9) * presence
        terrain = cas[r, c] * 1.1
        loss_a = ea @ daily_casualty_rate(0.028, 0.5, ratio, terrain)
        loss_d = ed @ daily_casualty_rate(0.015, 0.5, 1.0 / np.maximum(ratio, 1e-9), terrain)
        for g, w in zip(got, (A, D, ratio, hazard, presence, loss_a, loss_d, at)):
            np.testing.assert_allclose(g, w, rtol=RTOL, atol=1e-300)


def test_tempo_spread_and_strangulation_are_the_mechanisms():
    rng = np.random.default_rng(9)
    phase, arm = rng.uniform(0, 30, 4), rng.integers(0, 4, 25).astype(np.int8)
    units = rng.permutation(25).astype(np.int64)
    for day in range(0, 60, 7):
        want = mechanisms.tempo_factor(day, phase[arm[units]], 30.0, 0.6, 0.3)
        assert np.array_equal(kernel.tempo(day, phase, units, arm, 30.0, 0.6, 0.3), want)
    presence, mix = rng.random(40), rng.random(40)
    np.testing.assert_allclose(kernel.spread_infiltrators(presence, mix, 0.3),
                               mechanisms.spread_along_line(presence * mix, 0.3), rtol=RTOL)
    terrain = rng.integers(0, 3, (12, 12)).astype(np.int8)
    bottleneck = rng.uniform(0, 4, (12, 12))
    cells = np.c_[rng.integers(0, 12, 30), rng.integers(0, 12, 30)].astype(np.int64)
    got = kernel.urban_strangulation(cells, terrain, 2, bottleneck, 2, 5.0, 1.5)
    from scipy.ndimage import maximum_filter

    width = 2.0 * maximum_filter(bottleneck, size=5, mode="constant", cval=-np.inf)[cells[:, 0], cells[:, 1]]
    want = np.where(terrain[cells[:, 0], cells[:, 1]] == 2, mechanisms.strangulation_factor(width, 5.0, 1.5), 1.0)
    np.testing.assert_allclose(got, want, rtol=RTOL)


def test_fire_losses_share_the_kills_by_personnel_and_nearness():
    """fires.fire's kernel against its numpy form: weights personnel x exp(-distance to the front / range),
    losses at most half a unit, booked on the units and the side's day."""
    rng = np.random.default_rng(12)
    for _ in range(50):
        n, m = 30, int(rng.integers(0, 40))
        x, y, personnel = rng.uniform(0, 50, n), rng.uniform(0, 50, n), rng.uniform(0, 3000, n)
        cxy = rng.uniform(0, 50, (m, 2))
        targets = np.sort(rng.choice(n, int(rng.integers(1, n)), replace=False)).astype(np.int64)
        d = (np.sqrt(((x[targets, None] - cxy[:, 0]) ** 2 + (y[targets, None] - cxy[:, 1]) ** 2).min(axis=1))
             if m else np.full(len(targets), 50.0))
        weight = personnel[targets] * np.exp(-d / 15.0)
        kills = float(rng.uniform(0, 5000))
        want = np.minimum(kills * weight / weight.sum(), 0.5 * personnel[targets])
        got_personnel, casualties, today = personnel.copy(), np.zeros(n), np.zeros(2)
        lost = kernel.fire_losses(targets, x, y, got_personnel, casualties, np.zeros(n, np.int8), today, cxy, 15.0, kills)
        np.testing.assert_allclose(casualties[targets], want, rtol=RTOL)
        np.testing.assert_allclose(got_personnel[targets], personnel[targets] - want, rtol=RTOL)
        np.testing.assert_allclose([lost, today[0]], [want.sum()] * 2, rtol=RTOL)
