"""The day's compiled glue gives the numbers of the numpy and scipy expressions it replaces, to the bit.

Seeded results must not change with the kernels (docs/PERFORMANCE.md, "Glue kernels"): each
kernel is compared with its numpy or scipy form on random inputs, with exact equality.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from sim.model import assault, glue, kernels
from sim.model.combat import engagement, line_kernel

shapes = st.tuples(st.integers(1, 30), st.integers(1, 30))
controls = arrays(np.int8, shapes, elements=st.integers(0, 2))


def numpy_touches(mask):
    out = np.zeros_like(mask)
    out[1:, :] |= mask[:-1, :]
    out[:-1, :] |= mask[1:, :]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    return out


@settings(max_examples=200, deadline=None)
@given(arrays(bool, shapes))
def test_touches_is_the_shifted_or(mask):
    assert np.array_equal(kernels.touches(mask), numpy_touches(mask))


@settings(max_examples=200, deadline=None)
@given(controls, st.data())
def test_border_cells_are_the_argwhere_of_the_masks(control, data):
    active = data.draw(arrays(bool, control.shape))
    own, other, always = data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2)), data.draw(st.integers(-1, 2))
    other_is = data.draw(st.booleans())
    want = np.argwhere(active & ((control == always) | ((control == own) & numpy_touches((control == other) == other_is))))
    got = kernels.border_cells(control, active, own, other, other_is, always)
    assert got.dtype == want.dtype and np.array_equal(got, want)


@settings(max_examples=200, deadline=None)
@given(arrays(bool, shapes), st.integers(1, 8))
def test_box_mean_is_scipys_uniform_filter_to_the_bit(mask, radius):
    want = ndimage.uniform_filter(mask.astype(float), size=2 * radius + 1, mode="nearest")
    assert np.array_equal(kernels.box_mean(mask, radius), want)


@settings(max_examples=100, deadline=None)
@given(controls, st.data())
def test_cells_between_is_the_argwhere_of_the_band(control, data):
    mask = data.draw(arrays(bool, control.shape))
    dist = data.draw(arrays(float, control.shape, elements=st.floats(0, 10)))
    want = np.argwhere(mask & (control == 0) & (dist > 1.0) & (dist <= 4.0))
    assert np.array_equal(kernels.cells_between(mask, control, 0, dist, 1.0, 4.0), want)


@settings(max_examples=100, deadline=None)
@given(arrays(bool, shapes).filter(lambda m: not m.all()), st.sampled_from([0.5, 1.0, 2.0]))
def test_edt_km_is_scipys_distance_in_km(mask, cell_km):
    assert np.array_equal(kernels.edt_km(mask, cell_km), ndimage.distance_transform_edt(mask) * cell_km)


def test_pairwise_sum_is_numpys_sum_for_every_length():
    rng = np.random.default_rng(0)
    for n in list(range(0, 300)) + [511, 1024, 1031, 5000]:
        a = rng.standard_normal(n) * 10.0 ** rng.integers(-4, 6, n)
        assert glue.pairwise_sum(a) == a.sum(), n


def test_engagement_is_the_line_kernel_with_rows_capped():
    rng = np.random.default_rng(1)
    capped = 0
    for _ in range(50):
        units, cells = int(rng.integers(1, 50)), int(rng.integers(1, 200))
        uxy = rng.random((units, 2)) * 40
        cxy = rng.random((cells, 2)) * rng.choice([5, 40])
        personnel = rng.random(units) * 3000
        sigma = rng.choice([0.5, 1.5, 3.0], units)
        d = np.hypot(uxy[:, None, 0] - cxy[None, :, 0], uxy[:, None, 1] - cxy[None, :, 1])
        want = line_kernel(d, sigma[:, None]) * 1.0 * personnel[:, None]
        total = want.sum(axis=1)
        over = total > personnel
        want[over] *= (personnel[over] / total[over])[:, None]
        capped += over.sum()
        np.testing.assert_allclose(engagement(uxy, personnel, sigma, cxy, 1.0), want, rtol=1e-13)
    assert 0 < capped  # both branches: rows within the units' personnel and rows scaled down to it


@settings(max_examples=100, deadline=None)
@given(arrays(np.int64, st.tuples(st.integers(0, 40), st.just(2)), elements=st.integers(0, 200)),
       st.sampled_from([0.5, 1.0, 1.3]))
def test_cell_centres_are_the_column_stack(cells, cell_km):
    want = np.column_stack([(cells[:, 1] + 0.5) * cell_km, (cells[:, 0] + 0.5) * cell_km])
    assert np.array_equal(kernels.cell_centres(cells, cell_km), want.reshape(-1, 2))


# ----------------------------------------------------------------- the record, movement and placement
def test_masked_sums_and_side_tallies_are_numpys_sums():
    rng = np.random.default_rng(2)
    for n in list(range(0, 40)) + [64, 127, 128, 129, 300]:
        side = rng.integers(0, 2, n).astype(np.int8)
        present, pocket = rng.random(n) < 0.8, rng.random(n) < 0.3
        personnel, casualties, supply = rng.random(n) * 3000, rng.random(n) * 900, rng.random(n)
        peak = rng.random(n) * 2000
        want_peak = peak.copy()
        dmask, amask = present & (side == 0), present & (side == 1)
        np.maximum(want_peak, np.where(dmask & pocket, personnel, 0.0), out=want_peak)
        want = (personnel[dmask].sum(), personnel[amask].sum(), casualties[side == 0].sum(),
                casualties[side == 1].sum(), (supply[dmask] * personnel[dmask]).sum(), personnel[dmask & pocket].sum())
        got = glue.side_tallies(side, present, pocket, personnel, casualties, supply, 0, 1, peak)
        assert got == want and np.array_equal(peak, want_peak), n
        assert glue.masked_sum(personnel, present) == personnel[present].sum()


@settings(max_examples=100, deadline=None)
@given(arrays(float, st.tuples(st.integers(1, 30), st.just(2)), elements=st.floats(0, 100)),
       arrays(float, st.tuples(st.integers(1, 50), st.just(2)), elements=st.floats(0, 100)))
def test_front_distance_is_the_root_of_the_least_square(units, cells):
    dx = units[:, 0, None] - cells[None, :, 0]
    dy = units[:, 1, None] - cells[None, :, 1]
    want = np.sqrt((dx * dx + dy * dy).min(axis=1))
    assert np.array_equal(glue.front_distance(units[:, 0].copy(), units[:, 1].copy(), cells), want)


@settings(max_examples=200, deadline=None)
@given(controls, st.data())
def test_control_tally_is_the_records_numpy(control, data):
    city = data.draw(arrays(bool, control.shape))
    advance = data.draw(arrays(float, control.shape, elements=st.floats(0, 50)))
    line = data.draw(arrays(bool, control.shape))
    held, counts, share, advance_km, hit = kernels.control_tally(control, 1, 0, city, advance, line)
    assert np.array_equal(held, control == 1)
    assert np.array_equal(counts, np.bincount(control.ravel(), minlength=3))
    with np.errstate(invalid="ignore", divide="ignore"):
        want_share = (control[city] == 0).mean() if city.any() else np.nan
    assert share == want_share or (np.isnan(share) and np.isnan(want_share))
    assert advance_km == (advance[held].max() if held.any() else -np.inf)
    assert hit == (held & line).any()


@settings(max_examples=200, deadline=None)
@given(arrays(bool, shapes), st.data())
def test_new_ground_is_the_masks_and_their_box(held, data):
    past, active = data.draw(arrays(bool, held.shape)), data.draw(arrays(bool, held.shape))
    new, r0, r1, c0, c1 = kernels.new_ground(held, past, active)
    want = held & ~past & active
    assert np.array_equal(new, want)
    if not want.any():
        assert r0 == -1
    else:
        rows, cols = np.flatnonzero(want.any(axis=1)), np.flatnonzero(want.any(axis=0))
        assert (r0, r1, c0, c1) == (rows[0], rows[-1], cols[0], cols[-1])


@settings(max_examples=200, deadline=None)
@given(controls)
def test_collapse_isolated_is_the_masked_assignment(control):
    want = control.copy()
    held = control == 0
    fall = (control == 2) & ~(held | numpy_touches(held))
    want[fall] = 1
    got = control.copy()
    assert kernels.collapse_isolated(got, 2, 0, 1) == fall.sum()
    assert np.array_equal(got, want)


def test_floor_index_is_the_clamped_floor_division():
    rng = np.random.default_rng(3)
    v = np.concatenate([rng.uniform(-5, 200, 20000), np.arange(-3, 130, 0.25), [0.0, -0.0, 1e-300, 126.99999999999999]])
    for cell_km in (1.0, 0.5, 2.0, 0.3, 1.7):
        want = np.minimum(np.maximum((v // cell_km).astype(int), 0), 126)
        assert [kernels.floor_index(float(a), cell_km, 127) for a in v] == list(want)
        r, c = kernels.cells_at_xy(v[::-1].copy(), v, cell_km, 127, 115)
        assert np.array_equal(r, want) and np.array_equal(c, np.minimum(np.maximum((v[::-1] // cell_km).astype(int), 0), 114))
        assert r.dtype == want.dtype


def numpy_nearest_cell_xy(x, y, mask, cell_km, avoid=(), min_sep=0.0):
    """PokrovskModel.nearest_cell_xy as it was in numpy (before sim/model/kernels.py's nearest_cell)."""
    rows, cols = mask.shape
    r0, c0 = min(max(int(y // cell_km), 0), rows - 1), min(max(int(x // cell_km), 0), cols - 1)
    for radius in (2, 5, 12, 30, max(rows, cols)):
        r1, r2 = max(r0 - radius, 0), min(r0 + radius + 1, rows)
        c1, c2 = max(c0 - radius, 0), min(c0 + radius + 1, cols)
        cells = np.argwhere(mask[r1:r2, c1:c2])
        if len(cells) == 0:
            continue
        cx = (cells[:, 1] + c1 + 0.5) * cell_km
        cy = (cells[:, 0] + r1 + 0.5) * cell_km
        d = np.hypot(cx - x, cy - y)
        if avoid and min_sep > 0:
            pts = np.array(avoid, dtype=float)
            sep = np.hypot(cx[:, None] - pts[None, :, 0], cy[:, None] - pts[None, :, 1]).min(axis=1)
            d = d + np.where(sep < min_sep, 1e3, 0.0)
        j = int(np.argmin(d))
        if d[j] >= 1e3 and radius < max(rows, cols):
            continue
        return float(cx[j]), float(cy[j])
    return None, None


def test_nearest_cell_is_the_numpy_search():
    rng = np.random.default_rng(4)
    for trial in range(400):
        shape = (int(rng.integers(1, 80)), int(rng.integers(1, 80)))
        mask = rng.random(shape) < rng.choice([0.001, 0.02, 0.3, 0.9])
        cell_km = float(rng.choice([0.5, 1.0, 2.0]))
        x, y = rng.uniform(-2, shape[1] * cell_km + 2), rng.uniform(-2, shape[0] * cell_km + 2)
        avoid = [tuple(p) for p in rng.uniform(0, 40, (int(rng.integers(0, 8)), 2))]
        min_sep = float(rng.choice([0.0, 1.0, 3.0]))
        want = numpy_nearest_cell_xy(x, y, mask, cell_km, avoid, min_sep)
        found, cx, cy = kernels.nearest_cell(x, y, mask, cell_km, np.array(avoid, float).reshape(-1, 2), min_sep)
        assert (cx, cy) == want if found else want == (None, None), trial


def numpy_move(x, y, tx, ty, moving, attacking, control, road, speed, cell_km):
    """movement.move_toward_targets as it was in numpy (before sim/model/kernels.py's move_units)."""
    idx = np.flatnonzero(moving)
    rows, cols = control.shape

    def cells_at(px, py):
        return (np.minimum(np.maximum((py // cell_km).astype(int), 0), rows - 1),
                np.minimum(np.maximum((px // cell_km).astype(int), 0), cols - 1))

    r, c = cells_at(x[idx], y[idx])
    step = np.where(road[r, c] > 0, 2 * speed, speed)
    dx, dy = tx[idx] - x[idx], ty[idx] - y[idx]
    dist = np.hypot(dx, dy)
    frac = np.where(dist > 0, np.minimum(1.0, step / np.maximum(dist, 1e-9)), 0.0)
    nx, ny = x[idx] + frac * dx, y[idx] + frac * dy
    own_att, own_def = control == 1, control == 0
    rr, cc = cells_at(nx, ny)
    ok = np.where(attacking[idx], own_att[rr, cc], own_def[rr, cc])
    x[idx[ok]], y[idx[ok]] = nx[ok], ny[ok]
    for j in np.flatnonzero(~ok):
        px, py = numpy_nearest_cell_xy(nx[j], ny[j], own_att if attacking[idx[j]] else own_def, cell_km)
        if px is not None:
            x[idx[j]], y[idx[j]] = px, py
    arrived = dist <= step
    tx[idx[arrived]] = np.nan
    ty[idx[arrived]] = np.nan


def test_move_units_is_the_numpy_movement():
    rng = np.random.default_rng(5)
    for trial in range(300):
        shape = (int(rng.integers(2, 60)), int(rng.integers(2, 60)))
        control = rng.integers(0, 3, shape).astype(np.int8)
        road = (rng.random(shape) < 0.2).astype(np.int8)
        cell_km = float(rng.choice([0.5, 1.0, 2.0]))
        n = int(rng.integers(0, 50))
        x, y = rng.uniform(0, shape[1] * cell_km, n), rng.uniform(0, shape[0] * cell_km, n)
        tx, ty = rng.uniform(-3, shape[1] * cell_km + 3, n), rng.uniform(-3, shape[0] * cell_km + 3, n)
        same = rng.random(n) < 0.1
        tx[same], ty[same] = x[same], y[same]
        moving, attacking = rng.random(n) < 0.8, rng.random(n) < 0.5
        speed = float(rng.choice([0.5, 2.0, 7.0]))
        want = [a.copy() for a in (x, y, tx, ty)]
        numpy_move(*want, moving, attacking, control, road, speed, cell_km)
        got = [a.copy() for a in (x, y, tx, ty)]
        kernels.move_units(*got, moving, attacking, control, 1, 0, road, speed, cell_km)
        for g, w in zip(got, want):
            assert np.array_equal(g, w, equal_nan=True), trial


def test_book_losses_is_the_numpy_booking():
    rng = np.random.default_rng(6)
    for trial in range(300):
        n = int(rng.integers(1, 50))
        personnel, casualties = rng.random(n) * 1000 * (rng.random(n) < 0.9), rng.random(n) * 300
        side = rng.integers(0, 2, n).astype(np.int8)
        units = np.flatnonzero(rng.random(n) < 0.6)
        losses = rng.random(units.size) * rng.choice([10.0, 1000.0, 3000.0])
        today = rng.random(2) * 100
        cap = float(rng.choice([0.0, 0.5]))
        want = [a.copy() for a in (personnel, casualties, today)]
        capped = np.minimum(losses, cap * want[0][units]) if cap > 0 else losses
        capped = np.minimum(capped, want[0][units])
        want[0][units] -= capped
        want[1][units] += capped
        np.add.at(want[2], side[units].astype(int), capped)
        glue.book_losses(units, losses, cap, personnel, casualties, side, today)
        for g, w in zip((personnel, casualties, today), want):
            assert np.array_equal(g, w), trial


def numpy_defender_supply(units, x, y, in_pocket, supply, control, pocket, bottleneck, half, road_served, cell_km,
                          rng_km, interdiction, relief, offroad, loss, resupply):
    """logistics._defender_supply as it was in numpy (before kernels.defender_supply)."""
    rows, cols = control.shape
    r = np.minimum(np.maximum((y[units] // cell_km).astype(int), 0), rows - 1)
    c = np.minimum(np.maximum((x[units] // cell_km).astype(int), 0), cols - 1)
    cut = pocket[r, c] | (control[r, c] == 1)
    in_pocket[units] = cut
    b = ndimage.maximum_filter(bottleneck, size=2 * half + 1, mode="constant", cval=-np.inf)[r, c]
    exposure = np.clip(1.0 - b / rng_km, 0.0, 1.0)
    target = np.clip(np.where(road_served[r, c], 1.0, offroad) * (1.0 - interdiction * exposure * (1.0 - relief)), 0.0, 1.0)
    s = supply[units]
    s = np.where(cut, np.maximum(s - loss, 0.0), s + resupply * (target - s))
    supply[units] = np.clip(s, 0.0, 1.0)


def test_defender_supply_is_the_numpy_supply():
    rng = np.random.default_rng(7)
    for trial in range(300):
        shape = (int(rng.integers(2, 40)), int(rng.integers(2, 40)))
        control = rng.integers(0, 3, shape).astype(np.int8)
        pocket, served = rng.random(shape) < 0.2, rng.random(shape) < 0.6
        bottleneck = rng.choice([0.0, 0.5, 1.0, 2.5, 6.0, 15.0], shape)
        cell_km = float(rng.choice([0.5, 1.0, 2.0]))
        n = int(rng.integers(1, 40))
        x, y = rng.uniform(0, shape[1] * cell_km, n), rng.uniform(0, shape[0] * cell_km, n)
        units = np.flatnonzero(rng.random(n) < 0.7)
        supply, in_pocket = rng.random(n), rng.random(n) < 0.3
        args = (int(rng.integers(0, 4)), served, cell_km, float(rng.choice([3.0, 10.0])), float(rng.random()),
                float(rng.random()), float(rng.random()), float(rng.random() * 0.2), float(rng.random() * 0.5))
        want_supply, want_pocket = supply.copy(), in_pocket.copy()
        numpy_defender_supply(units, x, y, want_pocket, want_supply, control, pocket, bottleneck, *args)
        kernels.defender_supply(units, x, y, in_pocket, supply, control, 1, pocket, bottleneck, *args)
        assert np.array_equal(supply, want_supply) and np.array_equal(in_pocket, want_pocket), trial


@settings(max_examples=200, deadline=None)
@given(controls, st.integers(1, 6), st.data())
def test_box_mean_at_reads_the_box_mean(control, radius, data):
    cells = np.argwhere(data.draw(arrays(bool, control.shape)))
    r, c = cells[:, 0].copy(), cells[:, 1].copy()
    want = kernels.box_mean(control == 1, radius)[r, c]
    assert np.array_equal(kernels.box_mean_at(control, 1, radius, r, c), want)
    shuffled = data.draw(st.permutations(range(len(r))))  # any order: a row asked for again is run again
    assert np.array_equal(kernels.box_mean_at(control, 1, radius, r[shuffled], c[shuffled]), want[shuffled])


@settings(max_examples=200, deadline=None)
@given(controls, st.data())
def test_contact_captures_and_retakes_are_the_masked_assignments(control, data):
    cells = np.argwhere(data.draw(arrays(bool, control.shape)))
    n = len(cells)
    u = data.draw(arrays(float, (2, n), elements=st.floats(0, 1, exclude_max=True)))
    p_won, p_ret = (data.draw(arrays(float, n, elements=st.floats(0, 1))) for _ in range(2))
    r, c = cells[:, 0], cells[:, 1]
    want = control.copy()
    won = u[0] < p_won
    was = want[r, c].copy()
    retaken = (was == 2) & ~won & (u[1] < p_ret)
    want[r[won & (was == 0)], c[won & (was == 0)]] = 2
    want[r[won & (was == 2)], c[won & (was == 2)]] = 1
    want[r[retaken], c[retaken]] = 0
    got = control.copy()
    assert kernels.contact_captures(got, cells, u, p_won, p_ret, 0, 2, 1) == won.sum() + retaken.sum()
    assert np.array_equal(got, want)
    hit = u[1] < p_ret
    want = control.copy()
    want[r[hit & (was == 1)], c[hit & (was == 1)]] = 2
    want[r[hit & (was == 2)], c[hit & (was == 2)]] = 0
    got = control.copy()
    assert kernels.retake_cells(got, cells, u[1].copy(), p_ret, 1, 2, 0) == hit.sum()
    assert np.array_equal(got, want)


def test_schema_numbers_read_as_python_numbers():
    """schema.num() types its fields float (int with integer=True), so the model reads them without casts."""
    from pathlib import Path
    from typing import get_args

    from sim.schema import Day, Probability
    from sim.scenario import Scenario, sample
    from sim.theater import load_scenario

    assert get_args(Probability)[0] is float and get_args(Day)[0] is int
    assert Scenario.model_fields["combat"].annotation.model_fields["advance_max_per_day"].annotation is float
    doc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "hold_pokrovsk.yaml")
    concrete, drawn = sample(doc.scenario, np.random.SeedSequence(1))
    assert "weather.fog_frequency" in drawn  # an uncertain input, drawn to a float
    assert type(concrete.combat.advance_max_per_day) is float and type(concrete.weather.fog_frequency) is float


def test_front_choices_with_the_hypot_bound_are_the_full_searches():
    """kernels.spread_along_front and nearest_front skip a cell whose bound already loses; on grids
    full of ties (units on cell centres too) they still choose what the numpy searches choose."""
    from tests.test_kernels import spread_by_numpy

    rng = np.random.default_rng(8)
    for trial in range(300):
        cell_km = float(rng.choice([0.5, 1.0, 2.0]))
        fxy = (np.unique(rng.integers(0, 60, (int(rng.integers(1, 250)), 2)), axis=0) + 0.5) * cell_km
        units = (rng.integers(0, 60, (int(rng.integers(1, 30)), 2)) + rng.choice([0.5, 0.0, 0.37])) * cell_km
        objective = tuple((rng.integers(0, 60, 2) + 0.5) * cell_km)
        spacing = float(rng.choice([0.0, 0.5, 1.0, 2.5, 10.0])) * cell_km
        fx, fy = fxy[:, 0].copy(), fxy[:, 1].copy()
        got = kernels.spread_along_front(fx, fy, units[:, 0].copy(), units[:, 1].copy(), *objective, spacing)
        assert list(got) == spread_by_numpy(fxy, units, objective, spacing), trial
        want = [int(np.argmin(np.hypot(fx - x, fy - y))) for x, y in units]
        assert list(kernels.nearest_front(fx, fy, units[:, 0].copy(), units[:, 1].copy())) == want, trial


@settings(max_examples=300, deadline=None)
@given(arrays(bool, shapes), st.data(), st.sampled_from([0.5, 1.0, 2.0]))
def test_distance_to_nearest_reads_the_distance_transform_of_the_box(mask, data, cell_km):
    rows, cols = mask.shape
    r_lo, c_lo = data.draw(st.integers(0, rows - 1)), data.draw(st.integers(0, cols - 1))
    r_hi, c_hi = data.draw(st.integers(r_lo + 1, rows)), data.draw(st.integers(c_lo + 1, cols))
    box = mask[r_lo:r_hi, c_lo:c_hi]
    if not box.any() or box.all():
        return
    cells = np.argwhere(~box) + [r_lo, c_lo]
    want = kernels.edt_km(~box, cell_km)[cells[:, 0] - r_lo, cells[:, 1] - c_lo]
    assert np.array_equal(want, ndimage.distance_transform_edt(~box)[cells[:, 0] - r_lo, cells[:, 1] - c_lo] * cell_km)
    assert np.array_equal(kernels.distance_to_nearest(cells, mask, r_lo, r_hi, c_lo, c_hi, cell_km), want)


def test_breakthrough_probe_finds_what_the_whole_box_transform_found():
    """BreakthroughProbe reads the new cells' distances only (kernels.distance_to_nearest); the probe as it
    was (the distance transform of the whole box) finds the same events, days, depths and wedges."""
    from sim.outcomes import BREAKTHROUGH_KM, WEDGE_BEYOND_KM, BreakthroughProbe

    class WholeBox(BreakthroughProbe):
        def _check(self, day, past, held):
            new = held & ~past
            if self.active is not None:
                new &= self.active
            if not new.any():
                return
            rows, cols = np.flatnonzero(new.any(axis=1)), np.flatnonzero(new.any(axis=0))
            m = int(np.ceil(BREAKTHROUGH_KM / self.cell_km)) + 2
            box = (slice(max(rows[0] - m, 0), rows[-1] + m + 1), slice(max(cols[0] - m, 0), cols[-1] + m + 1))
            if not past[box].any():
                return
            dist = kernels.edt_km(~past[box], self.cell_km)
            depth = float(dist[new[box]].max())
            if depth < BREAKTHROUGH_KM:
                return
            beyond = np.zeros_like(new)
            beyond[box] = new[box] & (dist >= WEDGE_BEYOND_KM)
            if not (self._last_event_day is not None and day - self._last_event_day <= 14):
                self.events += 1
            if self.events == 1:
                if self.first_day is None:
                    self.first_day, self.wedge = day, np.zeros_like(held)
                self.depth_km = max(self.depth_km, depth)
                self.wedge |= beyond
            self._last_event_day = day

    rng = np.random.default_rng(9)
    events = 0
    for trial in range(40):
        shape = (int(rng.integers(20, 70)), int(rng.integers(20, 70)))
        active = rng.random(shape) < 0.97 if trial % 2 else None
        probes = [cls(float(rng.choice([0.5, 1.0])) if trial % 3 else 1.0, active) for cls in (BreakthroughProbe, WholeBox)]
        probes[1].cell_km = probes[0].cell_km
        held = np.zeros(shape, bool)
        held[:, : shape[1] // 4] = True
        for day in range(60):
            held = held.copy()
            r, c = rng.integers(0, shape[0]), rng.integers(0, shape[1])
            held[max(r - 1, 0): r + 2, : c if rng.random() < 0.2 else min(c, shape[1] // 4 + day // 3)] = True
            held[rng.random(shape) < 0.01] = rng.random() < 0.5
            for p in probes:
                p.feed(day, held)
        a, b = probes
        assert (a.events, a.first_day, a.depth_km) == (b.events, b.first_day, b.depth_km)
        share_a, share_b = a.retaken(held), b.retaken(held)
        assert share_a == share_b or (np.isnan(share_a) and np.isnan(share_b))
        assert (a.wedge is None and b.wedge is None) or np.array_equal(a.wedge, b.wedge)
        events += a.events
    assert events > 0


def test_replacements_are_the_numpy_replacements():
    rng = np.random.default_rng(10)
    for trial in range(300):
        n = int(rng.integers(1, 60))
        start = rng.random(n) * 3000
        personnel = start * rng.choice([0.5, 1.0, 1.2], n) * rng.random(n)
        units = np.flatnonzero(rng.random(n) < 0.7)
        budget = float(rng.choice([1.0, 50.0, 1e6]))
        want = personnel.copy()
        deficit = np.clip(start[units] - want[units], 0.0, None)
        need = deficit.sum()
        got_any, got_total = glue.replacements(units, start, personnel, budget)
        if need <= 0:
            assert not got_any and np.array_equal(personnel, want)
            continue
        given = deficit * min(1.0, budget / need)
        want[units] += given
        assert got_any and got_total == given.sum() and np.array_equal(personnel, want), trial


@settings(max_examples=200, deadline=None)
@given(controls, st.data())
def test_same_cells_is_array_equal(control, data):
    other = control.copy()
    if data.draw(st.booleans()):
        r, c = data.draw(st.integers(0, control.shape[0] - 1)), data.draw(st.integers(0, control.shape[1] - 1))
        other[r, c] = data.draw(st.integers(0, 2))
    assert kernels.same_cells(control, other) == np.array_equal(control, other)


@settings(max_examples=300, deadline=None)
@given(controls, st.data())
def test_clear_unmanned_is_the_labelled_pockets(control, data):
    pocket = data.draw(arrays(bool, control.shape))
    manned = np.argwhere(data.draw(arrays(bool, control.shape)) & data.draw(arrays(bool, control.shape)))  # sparse
    labels, n = ndimage.label(pocket & (control != 1), structure=ndimage.generate_binary_structure(2, 1))
    under = np.unique(labels[manned[:, 0], manned[:, 1]]) if len(manned) else np.zeros(0, int)
    empty = (labels > 0) & ~np.isin(labels, under[under > 0])
    want = control.copy()
    want[empty] = 1
    got = control.copy()
    assert kernels.clear_unmanned(pocket, got, 1, manned.astype(np.int64)) == empty.sum()
    assert np.array_equal(got, want)


def test_contact_hazards_are_the_numpy_products():
    rng = np.random.default_rng(11)
    for trial in range(200):
        n = int(rng.integers(1, 200))
        hazard, strangled, intensity = rng.random(n), 1 + rng.random(n) * 12, rng.random(n)
        infiltrators, gap, hill_ = rng.random(n) * 2, rng.random(n), rng.random(n)
        urban = rng.random(n) < 0.4
        cells = np.argwhere(np.ones((20, 20), bool))[rng.permutation(400)[:n]]  # distinct cells of a 20 x 20 grid
        boost = rng.random((20, 20)) * 2
        bonus, ipd, cover, foliage, floor_, cmax, kz = (float(v) for v in rng.random(7) * 3)
        want_attack = hazard * strangled
        want_attack *= intensity
        want_inf = (ipd * cover * infiltrators * np.where(urban, bonus, 1.0) * strangled * foliage
                    * (floor_ + (1 - floor_) * gap))
        want_counter = cmax * hill_ * boost[cells[:, 0], cells[:, 1]]
        want_counter *= kz / strangled
        got = glue.contact_hazards(hazard, strangled, intensity, infiltrators, urban, bonus, gap, ipd * cover, foliage,
                                   floor_, cmax, hill_, boost, cells, kz)
        for g, w in zip(got, (want_attack, want_inf, want_counter)):
            assert np.array_equal(g, w), trial


def test_unit_powers_and_line_posture_are_the_numpy_forms():
    rng = np.random.default_rng(12)
    for _ in range(200):
        n = int(rng.integers(1, 60))
        kind, posture = rng.integers(0, 5, n).astype(np.int8), rng.integers(0, 6, n).astype(np.int8)
        table, by_posture = rng.random(5) * 2, rng.random(6) * 2
        cohesion, supply = rng.random(n), rng.random(n)
        units = np.flatnonzero(rng.random(n) < 0.7)
        floor_, attack = float(rng.random()), float(rng.random() * 2)
        sf = floor_ + (1 - floor_) * supply[units]
        assert np.array_equal(glue.attack_powers(units, table, kind, cohesion, supply, floor_, attack),
                              table[kind[units]] * cohesion[units] * sf * attack)
        factor = rng.random(units.size)
        assert np.array_equal(glue.defence_powers(units, table, kind, factor, cohesion, supply, floor_),
                              table[kind[units]] * factor * cohesion[units] * sf)
        fort = rng.integers(0, 4, (30, 30)).astype(np.float32)
        cell_km = float(rng.choice([0.5, 1.0, 2.0]))
        x, y = rng.uniform(-1, 30 * cell_km + 1, n), rng.uniform(-1, 30 * cell_km + 1, n)
        r = np.minimum(np.maximum((y[units] // cell_km).astype(int), 0), 29)
        c = np.minimum(np.maximum((x[units] // cell_km).astype(int), 0), 29)
        want = np.where((posture[units] == 1) & (fort[r, c] >= 2), 1.7, by_posture[posture[units]])
        assert np.array_equal(kernels.line_posture(units, posture, x, y, fort, cell_km, 1, 1.7, by_posture), want)


def test_warm_up_compiles_every_type_the_model_passes():
    """A worker forked after kernels.warm_up() compiles nothing and loads nothing mid-run: every kernel
    already has the signature the model calls it with (read-only World layers, strided columns...)."""
    from pathlib import Path

    from sim.model.model import PokrovskModel
    from sim.theater import load_scenario, theater_of

    kernels.warm_up()
    compiled = [getattr(m, name) for m in (kernels, glue, assault) for name in dir(m) if hasattr(getattr(m, name), "signatures")]
    before = {k: len(k.signatures) for k in compiled}
    for name in ("hold_pokrovsk", "withdraw_kramatorsk_sloviansk"):
        doc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / f"{name}.yaml", ["days=40"])
        PokrovskModel(doc.scenario, 1, theater_of(doc)).run()
    assert {k.__name__: len(k.signatures) for k in compiled if len(k.signatures) != before[k]} == {}


def test_within_reach_is_the_any_of_the_distances():
    rng = np.random.default_rng(13)
    for trial in range(300):
        units, cells = int(rng.integers(1, 20)), int(rng.integers(1, 200))
        cell_km = float(rng.choice([0.5, 1.0]))
        ux, uy = ((rng.integers(0, 40, (2, units)) + rng.choice([0.5, 0.0, 0.3])) * cell_km)
        cxy = (rng.integers(0, 40, (cells, 2)) + 0.5) * cell_km
        reach = 3 * rng.choice([0.5, 1.0, 1.5, 2.5], units)
        want = (np.hypot(ux[:, None] - cxy[None, :, 0], uy[:, None] - cxy[None, :, 1]) < reach[:, None]).any(axis=0)
        assert np.array_equal(kernels.within_reach(ux, uy, reach, cxy), want), trial


def test_deep_infiltration_is_the_hazard_at_the_nearest_contact_cell():
    """movement._deep_infiltration's kernel: the nearest contact cell by brute force (the first of equally near
    ones, as np.argmin gives it), the hazard with exp, the capture (the C library's exp: to 1e-12)."""
    rng = np.random.default_rng(21)
    for trial in range(100):
        control = rng.integers(0, 3, (20, 20)).astype(np.int8)
        cand = np.argwhere(control == 0).astype(np.int64)[: int(rng.integers(0, 40))]
        contact_xy = (rng.integers(0, 20, (int(rng.integers(1, 30)), 2)) + 0.5) * 1.0   # ties on a grid
        infiltrators, dist = rng.random(len(contact_xy)), rng.uniform(0, 5, (20, 20))
        u = rng.random(len(cand))
        xy = kernels.cell_centres(cand, 1.0)
        d2 = (xy[:, None, 0] - contact_xy[None, :, 0]) ** 2 + (xy[:, None, 1] - contact_xy[None, :, 1]) ** 2
        nearest = d2.argmin(axis=1) if len(cand) else np.zeros(0, np.int64)
        hazard = 0.3 * infiltrators[nearest] * 0.4 * np.exp(-dist[cand[:, 0], cand[:, 1]] / 3.0)
        hit = u < 1.0 - np.exp(-hazard)
        want = control.copy()
        want[cand[hit, 0], cand[hit, 1]] = 2
        got = control.copy()
        assert kernels.deep_infiltration(got, cand, dist, contact_xy, infiltrators, u, 0.3, 0.4, 3.0, 1.0, 2) == hit.sum()
        assert np.array_equal(got, want), trial


def test_cohesion_day_is_the_numpy_update_to_the_bit():
    from sim.model import mechanisms

    rng = np.random.default_rng(22)
    for _ in range(100):
        n = int(rng.integers(1, 50))
        present, in_pocket = rng.random(n) < 0.8, rng.random(n) < 0.3
        supply, cohesion = rng.random(n), rng.random(n)
        p = np.flatnonzero(present)
        s = supply[p]
        short = np.clip((0.5 - s) / 0.5, 0.0, 1.0)
        c = cohesion[p] + np.where(s >= 0.5, 0.03, 0.0) - 0.05 * short
        c = c + np.where(in_pocket[p], 0.0, mechanisms.rotation_recovery(c, 0.02))
        want = cohesion.copy()
        want[p] = np.clip(c, 0.0, 1.0)
        glue.cohesion_day(present, supply, cohesion, in_pocket, 0.03, 0.05, 0.02)
        assert np.array_equal(cohesion, want)
