"""The compiled grid kernels compute exactly what the scipy expressions they replace compute.

The model's results must not change with the kernels (docs/PERFORMANCE.md): every
kernel is checked cell for cell against the scipy/numpy expression quoted in its
docstring, on random grids of every shape hypothesis finds.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from sim.model import kernels
from sim.model.logistics import HALF_WIDTHS_KM, distance_to_enemy_km, network

FOUR = ndimage.generate_binary_structure(2, 1)
shapes = st.tuples(st.integers(1, 24), st.integers(1, 24))


def labelled_reach(mask, sources):
    labels, n = ndimage.label(mask, structure=FOUR)
    hit = np.zeros(n + 1, bool)
    hit[labels[sources[:, 0], sources[:, 1]]] = True
    hit[0] = False
    return hit[labels]


@st.composite
def grid_and_sources(draw, dtype=bool, elements=None):
    shape = draw(shapes)
    grid = draw(arrays(dtype, shape, elements=elements))
    n = draw(st.integers(0, 4))
    src = np.array([[draw(st.integers(0, shape[0] - 1)), draw(st.integers(0, shape[1] - 1))] for _ in range(n)],
                   dtype=np.int64).reshape(-1, 2)
    return grid, src


@settings(max_examples=200, deadline=None)
@given(grid_and_sources())
def test_reach_is_the_labelled_components_holding_a_source(case):
    mask, src = case
    assert np.array_equal(kernels.reach(mask, src), labelled_reach(mask, src))


@settings(max_examples=200, deadline=None)
@given(grid_and_sources(dtype=np.int64, elements=st.integers(0, 5)))
def test_widest_level_equals_a_probe_at_every_level(case):
    level, src = case
    widest = kernels.widest_level(level, src, 5)
    for k in range(1, 6):
        assert np.array_equal(widest >= k, labelled_reach(level >= k, src)), k


@settings(max_examples=200, deadline=None)
@given(arrays(bool, shapes), st.integers(1, 4))
def test_within_steps_is_the_dilation_by_the_cross(mask, steps):
    assert np.array_equal(kernels.within_steps(mask, steps), ndimage.binary_dilation(mask, iterations=steps))


@settings(max_examples=200, deadline=None)
@given(arrays(bool, shapes))
def test_distance_transform_is_scipys_to_the_bit(mask):
    got = distance_to_enemy_km(mask, 0.5)
    want = ndimage.distance_transform_edt(mask) * 0.5
    assert got.tobytes() == want.tobytes()


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, shapes, elements=st.floats(0, 10)), st.integers(0, 3), st.data())
def test_window_max_at_reads_the_maximum_filter(field, half, data):
    r = np.array(data.draw(st.lists(st.integers(0, field.shape[0] - 1), min_size=1, max_size=5)), dtype=np.int64)
    c = np.array(data.draw(st.lists(st.integers(0, field.shape[1] - 1), min_size=len(r), max_size=len(r))),
                 dtype=np.int64)
    want = ndimage.maximum_filter(field, size=2 * half + 1)[r, c]
    assert np.array_equal(kernels.window_max_at(field, r, c, half), want)


def probed_network(control_def, passable, dist_km, sources, zone_mask, cell_km):
    """The corridor probes as first written: label the ground at each half-width in turn."""
    connected = labelled_reach(passable, sources)
    zone = zone_mask & passable
    bottleneck = np.zeros(control_def.shape)
    corridor_half = cell_km / 2 if (zone.any() and connected[zone].any()) else 0.0
    bottleneck[connected] = cell_km / 2
    for t in HALF_WIDTHS_KM:
        if t < cell_km:
            continue
        reach = labelled_reach((control_def & (dist_km >= t)) | zone, sources)
        if not reach.any():
            break
        bottleneck[reach] = t
        if zone.any() and reach[zone].any():
            corridor_half = t
    return connected, bottleneck, corridor_half


@settings(max_examples=150, deadline=None)
@given(st.data(), st.sampled_from([0.5, 1.0, 2.0]))
def test_network_bottleneck_equals_the_labelled_probes(data, cell_km):
    shape = data.draw(st.tuples(st.integers(3, 30), st.integers(3, 30)))
    control = data.draw(arrays(np.int8, shape, elements=st.sampled_from([0, 1, 2])))  # defender, contested, attacker
    control_def = control == 0
    passable = control != 2
    zone = np.zeros(shape, bool)
    zone[shape[0] // 3: shape[0] // 2 + 1, shape[1] // 3: shape[1] // 2 + 1] = True
    src = np.argwhere(control_def)[:2].astype(np.int64)
    dist_km = ndimage.distance_transform_edt(control_def) * cell_km
    pocket, bottleneck, corridor_km, _, _ = network(control_def, passable, dist_km, src, zone,
                                                    np.zeros(shape, np.int8), cell_km)
    connected, want, half = probed_network(control_def, passable, dist_km, src, zone, cell_km)
    assert np.array_equal(pocket, passable & ~connected)
    assert np.array_equal(bottleneck, want)
    assert corridor_km == (cell_km if half == cell_km / 2 else max(0.0, 2 * half - cell_km) if half > 0 else 0.0)


def spread_by_numpy(fxy, units_xy, objective, spacing):
    """The attacker commander's spreading of an arm as first written, in numpy."""
    d_obj = np.hypot(fxy[:, 0] - objective[0], fxy[:, 1] - objective[1])
    taken = np.zeros(len(fxy), bool)
    out = []
    for ux, uy in units_xy:
        score = d_obj + 0.3 * np.hypot(fxy[:, 0] - ux, fxy[:, 1] - uy) + np.where(taken, 1e6, 0.0)
        j = int(np.argmin(score))
        out.append(j)
        taken |= np.hypot(fxy[:, 0] - fxy[j, 0], fxy[:, 1] - fxy[j, 1]) < spacing
        if taken.all():
            taken[:] = False
    return out


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_front_assignment_matches_numpy(data):
    cells = data.draw(arrays(np.int64, st.tuples(st.integers(1, 40), st.just(2)), elements=st.integers(0, 30)))
    fxy = (cells + 0.5) * 1.0
    units = data.draw(arrays(np.float64, st.tuples(st.integers(1, 12), st.just(2)), elements=st.floats(0, 31)))
    objective = data.draw(st.tuples(st.floats(0, 31), st.floats(0, 31)))
    spacing = data.draw(st.sampled_from([0.0, 0.5, 1.0, 2.5, 10.0]))
    got = kernels.spread_along_front(fxy[:, 0].copy(), fxy[:, 1].copy(), units[:, 0].copy(), units[:, 1].copy(),
                                     objective[0], objective[1], spacing)
    assert list(got) == spread_by_numpy(fxy, units, objective, spacing)
    nearest = kernels.nearest_front(fxy[:, 0].copy(), fxy[:, 1].copy(), units[:, 0].copy(), units[:, 1].copy())
    want = [int(np.argmin(np.hypot(fxy[:, 0] - x, fxy[:, 1] - y))) for x, y in units]
    assert list(nearest) == want
