"""The day's compiled glue gives the numbers of the numpy and scipy expressions it replaces, to the bit.

Seeded results must not change with the kernels (docs/PERFORMANCE.md, "Glue kernels"): each
kernel is compared with its numpy or scipy form on random inputs, with exact equality.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from sim.model import glue, kernels
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


def test_engagement_is_the_numpy_line_kernel_to_the_bit():
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
        assert np.array_equal(engagement(uxy, personnel, sigma, cxy, 1.0), want)
    assert 0 < capped  # both branches: rows within the units' personnel and rows scaled down to it


@settings(max_examples=100, deadline=None)
@given(arrays(np.int64, st.tuples(st.integers(0, 40), st.just(2)), elements=st.integers(0, 200)),
       st.sampled_from([0.5, 1.0, 1.3]))
def test_cell_centres_are_the_column_stack(cells, cell_km):
    want = np.column_stack([(cells[:, 1] + 0.5) * cell_km, (cells[:, 0] + 0.5) * cell_km])
    assert np.array_equal(kernels.cell_centres(cells, cell_km), want.reshape(-1, 2))
