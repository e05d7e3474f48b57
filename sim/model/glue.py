"""Compiled glue of the day (Numba): the small-array arithmetic around the grid kernels.

A day was mostly Python and numpy per-call overhead on arrays of some 40 units and
150 contact cells (docs/PERFORMANCE.md, "Glue kernels"). The kernels here do that
arithmetic in one compiled call each, and give the same numbers, bit for bit, as the
numpy expressions they replace (quoted in each docstring; tests/test_glue.py checks
them on random inputs):

* operations are done in numpy's order: elementwise products and quotients as
  written, sums along a row as numpy's pairwise summation (:func:`pairwise_sum`),
  sums down the columns one row after the other, as numpy reduces them;
* transcendental functions (``exp``, ``log``, ``power``) stay in numpy: numpy
  vectorises them (SIMD) and rounds differently from the C library Numba calls, so
  a kernel stops before them and the next one starts after them. ``hypot`` and
  ``sqrt`` are correctly rounded in both.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _block_sum(a: np.ndarray, lo: int, n: int) -> float:
    """numpy's sum of at most 128 numbers: in order below 8, else eight running sums combined as a tree."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    whole = n - n % 8
    while i < whole:
        j = lo + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(cache=True)
def _pairwise(a: np.ndarray, lo: int, n: int) -> float:
    """numpy's pairwise summation of ``a[lo:lo + n]`` (numpy/_core/src/umath/loops_utils.h): blocks of at
    most 128, halves split at a multiple of 8. Iterative (Numba's cache cannot reload a recursive kernel)."""
    if n <= 128:
        return _block_sum(a, lo, n)
    todo = np.empty((128, 3), np.int64)    # (start, length, halves already queued); depth ~log2(n / 128)
    sums = np.empty(128)
    top, done = 0, 0
    todo[0, 0], todo[0, 1], todo[0, 2] = lo, n, 0
    top = 1
    while top > 0:
        top -= 1
        start, length, split = todo[top, 0], todo[top, 1], todo[top, 2]
        if length <= 128:
            sums[done] = _block_sum(a, start, length)
            done += 1
        elif split:
            done -= 1
            sums[done - 1] = sums[done - 1] + sums[done]
        else:
            half = length // 2
            half -= half % 8
            todo[top, 2] = 1
            todo[top + 1, 0], todo[top + 1, 1], todo[top + 1, 2] = start + half, length - half, 0
            todo[top + 2, 0], todo[top + 2, 1], todo[top + 2, 2] = start, half, 0
            top += 3
    return sums[0]


@njit(cache=True)
def pairwise_sum(a: np.ndarray) -> float:
    """``a.sum()`` of a 1-d float array, to the bit (numpy adds its pairwise sum to the identity 0.0)."""
    return 0.0 + _pairwise(a, 0, a.shape[0])


@njit(cache=True)
def masked_sum(values: np.ndarray, mask: np.ndarray) -> float:
    """``values[mask].sum()``, to the bit: numpy's pairwise sum of the gathered values."""
    taken = np.empty(values.shape[0])
    n = 0
    for i in range(values.shape[0]):
        if mask[i]:
            taken[n] = values[i]
            n += 1
    return pairwise_sum(taken[:n])


@njit(cache=True)
def side_tallies(side: np.ndarray, present: np.ndarray, in_pocket: np.ndarray, personnel: np.ndarray,
                 casualties: np.ndarray, supply: np.ndarray, defender: int, attacker: int, cut_off_peak: np.ndarray):
    """The day's sums over the units, each as numpy gives it, to the bit (``dmask = present & (side == defender)``,
    ``amask = present & (side == attacker)``):

    ``(personnel[dmask].sum(), personnel[amask].sum(), casualties[side == defender].sum(),
    casualties[side == attacker].sum(), (supply[dmask] * personnel[dmask]).sum(), personnel[dmask & in_pocket].sum())``;
    and ``np.maximum(cut_off_peak, np.where(dmask & in_pocket, personnel, 0.0), out=cut_off_peak)``.
    """
    n = side.shape[0]
    dmask = np.empty(n, np.bool_)
    amask = np.empty(n, np.bool_)
    weighted = np.empty(n)
    for i in range(n):
        dmask[i] = present[i] and side[i] == defender
        amask[i] = present[i] and side[i] == attacker
        weighted[i] = supply[i] * personnel[i]
        cut = personnel[i] if dmask[i] and in_pocket[i] else 0.0
        cut_off_peak[i] = max(cut_off_peak[i], cut)
    return (masked_sum(personnel, dmask), masked_sum(personnel, amask), masked_sum(casualties, side == defender),
            masked_sum(casualties, side == attacker), masked_sum(weighted, dmask), masked_sum(personnel, dmask & in_pocket))


@njit(cache=True)
def front_distance(ux: np.ndarray, uy: np.ndarray, cxy: np.ndarray) -> np.ndarray:
    """``np.sqrt(((ux[:, None] - cxy[:, 0]) ** 2 + (uy[:, None] - cxy[:, 1]) ** 2).min(axis=1))`` (squares as
    ``dx * dx``): each unit's distance to the nearest of the cells (at least one cell)."""
    out = np.empty(ux.shape[0])
    for i in range(ux.shape[0]):
        best = np.inf
        for k in range(cxy.shape[0]):
            dx = ux[i] - cxy[k, 0]
            dy = uy[i] - cxy[k, 1]
            d = dx * dx + dy * dy
            if d < best:
                best = d
        out[i] = np.sqrt(best)
    return out


@njit(cache=True)
def _minimum(a: float, b: float) -> float:
    """``np.minimum`` of two numbers (a nan in either gives nan)."""
    return a if (a <= b or a != a) else b


@njit(cache=True)
def book_losses(units: np.ndarray, losses: np.ndarray, cap_share: float, personnel: np.ndarray,
                casualties: np.ndarray, side: np.ndarray, losses_today: np.ndarray) -> None:
    """In place, unit by unit in order (the units are distinct): with ``losses = np.minimum(losses, cap_share *
    personnel[units])`` when ``cap_share > 0``, then ``losses = np.minimum(losses, personnel[units])``:
    ``personnel[units] -= losses``, ``casualties[units] += losses`` and
    ``np.add.at(losses_today, side[units], losses)``."""
    for k in range(units.shape[0]):
        i = units[k]
        lost = losses[k]
        if cap_share > 0:
            lost = _minimum(lost, cap_share * personnel[i])
        lost = _minimum(lost, personnel[i])
        personnel[i] -= lost
        casualties[i] += lost
        losses_today[side[i]] += lost


@njit(cache=True)
def replacements(units: np.ndarray, start: np.ndarray, personnel: np.ndarray, budget: float):
    """A side's replacements, in place: ``(given_any, given_total)``. With ``deficit = np.clip(start[units] -
    personnel[units], 0.0, None)`` and ``need = deficit.sum()``: nothing when ``need <= 0``; else ``given =
    deficit * min(1.0, budget / need)``, ``personnel[units] += given`` and ``given_total = given.sum()``."""
    n = units.shape[0]
    deficit = np.empty(n)
    for k in range(n):
        d = start[units[k]] - personnel[units[k]]
        deficit[k] = d if (d >= 0.0 or d != d) else 0.0   # np.maximum(d, 0.0)
    need = pairwise_sum(deficit)
    if need <= 0:
        return False, 0.0
    share = budget / need
    share = share if share < 1.0 else 1.0   # Python's min(1.0, share)
    given = np.empty(n)
    for k in range(n):
        given[k] = deficit[k] * share
        personnel[units[k]] += given[k]
    return True, pairwise_sum(given)


@njit(cache=True)
def contact_hazards(hazard: np.ndarray, strangled: np.ndarray, intensity: np.ndarray, infiltrators: np.ndarray,
                    urban: np.ndarray, urban_bonus: float, gap: np.ndarray, infiltration: float, foliage: float,
                    gap_floor: float, counter_max: float, counter_hill: np.ndarray, boost: np.ndarray,
                    cells: np.ndarray, counter_kill_zone: float):
    """The contact cells' three hazards, each product in numpy's order (``combat._contact_result``):

    ``h_attack = hazard * strangled * intensity``; ``h_inf = infiltration * infiltrators *
    np.where(urban, urban_bonus, 1.0) * strangled * foliage * (gap_floor + (1 - gap_floor) * gap)``;
    ``h_counter = counter_max * counter_hill * boost[cells] * (counter_kill_zone / strangled)``.
    """
    n = hazard.shape[0]
    h_attack, h_inf, h_counter = np.empty(n), np.empty(n), np.empty(n)
    for k in range(n):
        h_attack[k] = hazard[k] * strangled[k] * intensity[k]
        bonus = urban_bonus if urban[k] else 1.0
        h_inf[k] = infiltration * infiltrators[k] * bonus * strangled[k] * foliage * (gap_floor + (1 - gap_floor) * gap[k])
        h_counter[k] = (counter_max * counter_hill[k] * boost[cells[k, 0], cells[k, 1]]
                        * (counter_kill_zone / strangled[k]))
    return h_attack, h_inf, h_counter


@njit(cache=True)
def attack_powers(units: np.ndarray, kind_attack: np.ndarray, kind: np.ndarray, cohesion: np.ndarray,
                  supply: np.ndarray, floor: float, attack: float) -> np.ndarray:
    """``kind_attack[kind[units]] * cohesion[units] * (floor + (1 - floor) * supply[units]) * attack``."""
    out = np.empty(units.shape[0])
    for k in range(units.shape[0]):
        i = units[k]
        out[k] = kind_attack[kind[i]] * cohesion[i] * (floor + (1 - floor) * supply[i]) * attack
    return out


@njit(cache=True)
def defence_powers(units: np.ndarray, kind_defence: np.ndarray, kind: np.ndarray, posture: np.ndarray,
                   cohesion: np.ndarray, supply: np.ndarray, floor: float) -> np.ndarray:
    """``kind_defence[kind[units]] * posture * cohesion[units] * (floor + (1 - floor) * supply[units])``
    (``posture`` one factor per unit)."""
    out = np.empty(units.shape[0])
    for k in range(units.shape[0]):
        i = units[k]
        out[k] = kind_defence[kind[i]] * posture[k] * cohesion[i] * (floor + (1 - floor) * supply[i])
    return out


@njit(cache=True)
def cohesion_day(present: np.ndarray, supply: np.ndarray, cohesion: np.ndarray, in_pocket: np.ndarray,
                 recovery: float, loss: float, rotation: float) -> None:
    """The day's cohesion of the present units, in place (``doctrine.cohesion_and_surrender``): with
    ``short = np.clip((0.5 - supply) / 0.5, 0.0, 1.0)``, ``c = cohesion + np.where(supply >= 0.5, recovery, 0.0)
    - loss * short``, then ``c + np.where(in_pocket, 0.0, rotation * (1.0 - c))`` (mechanism 5), clipped to 0..1."""
    for i in range(present.shape[0]):
        if not present[i]:
            continue
        s = supply[i]
        short = min(max((0.5 - s) / 0.5, 0.0), 1.0)
        c = cohesion[i] + (recovery if s >= 0.5 else 0.0) - loss * short
        c = c + (0.0 if in_pocket[i] else rotation * (1.0 - c))
        cohesion[i] = min(max(c, 0.0), 1.0)


def warm_up() -> None:
    """Compile (or load from the cache) every kernel of this module on tiny inputs."""
    one = np.ones(1)
    pairwise_sum(one)
    masked_sum(one, np.ones(1, np.bool_))
    yes, code = np.ones(1, np.bool_), np.zeros(1, np.int8)
    side_tallies(code, yes, yes, one, one, one, 0, 1, np.zeros(1))
    front_distance(one, one, np.ones((1, 2)))
    book_losses(np.zeros(1, np.int64), one, 0.5, one.copy(), one.copy(), code, np.zeros(2))
    replacements(np.zeros(1, np.int64), one, one.copy(), 1.0)
    cohesion_day(yes, one, one.copy(), yes, 0.1, 0.1, 0.1)
    frozen = np.ones((1, 1))
    frozen.flags.writeable = False  # the defender's boost may be the World's (read-only) layer
    table = np.ones(1)
    table.flags.writeable = False   # the World's tables by kind
    attack_powers(np.zeros(1, np.int64), table, code, one, one, 0.5, 1.0)
    defence_powers(np.zeros(1, np.int64), table, code, one, one, one, 0.5)
    for boost in (np.ones((1, 1)), frozen):
        contact_hazards(one, one, one, one, yes, 1.0, one, 1.0, 1.0, 0.5, 1.0, one, boost, np.zeros((1, 2), np.int64), 1.0)
