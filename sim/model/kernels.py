"""Compiled kernels (Numba) for the day's grid work: logistics, the front, control changes,
movement and the record's tallies.

Each kernel computes exactly what a short numpy/scipy expression computes (the
expression is quoted in its docstring, and tests/test_kernels.py and tests/test_glue.py
check the two agree exactly on random inputs), only without labelling the whole grid
a dozen times a day or a dozen numpy calls on small arrays. They were written after
profiling (docs/PERFORMANCE.md): ``scipy.ndimage.label`` in the corridor probes and the
distance transform took half of a simulated day, then the Python glue around them.

All kernels are integer or exact: a flood fill, a breadth-first search, a
bucket queue over integer levels and the exact squared Euclidean distance
transform (Felzenszwalb and Huttenlocher's lower envelope of parabolas, in
integers). So replacing the scipy calls changes no result of any seed.

Compiled code is cached beside the module (``cache=True``): the first run on a
new machine compiles for a few seconds, later processes load it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_INF = np.int64(1) << 40


@njit(cache=True)
def touches(mask: np.ndarray) -> np.ndarray:
    """Cells with a 4-neighbour in ``mask`` (``mask | touches(mask)`` is the dilation by the cross).

    The numpy form: ``out[1:] |= mask[:-1]; out[:-1] |= mask[1:]`` and the same along the columns.
    """
    rows, cols = mask.shape
    out = np.zeros((rows, cols), np.bool_)
    for r in range(rows):
        for c in range(cols):
            out[r, c] = ((r > 0 and mask[r - 1, c]) or (r < rows - 1 and mask[r + 1, c])
                         or (c > 0 and mask[r, c - 1]) or (c < cols - 1 and mask[r, c + 1]))
    return out


@njit(cache=True)
def border_cells(control: np.ndarray, active: np.ndarray, own: int, other: int, other_is: bool,
                 always: int) -> np.ndarray:
    """Cells ``(row, column)`` of the active sector, in ``np.argwhere`` order, that hold ``always``, or
    hold ``own`` and touch a cell whose ``control == other`` is ``other_is``.

    ``np.argwhere(active & ((control == always) | ((control == own) & touches((control == other) == other_is))))``:
    the front cells of a side without five passes over the grid (``always`` -1 for none).
    """
    rows, cols = control.shape
    out = np.empty((rows * cols, 2), np.int64)
    n = 0
    for r in range(rows):
        for c in range(cols):
            if not active[r, c]:
                continue
            v = control[r, c]
            hit = v == always
            if not hit and v == own:
                hit = ((r > 0 and (control[r - 1, c] == other) == other_is)
                       or (r < rows - 1 and (control[r + 1, c] == other) == other_is)
                       or (c > 0 and (control[r, c - 1] == other) == other_is)
                       or (c < cols - 1 and (control[r, c + 1] == other) == other_is))
            if hit:
                out[n, 0] = r
                out[n, 1] = c
                n += 1
    return out[:n].copy()


@njit(cache=True)
def reach(mask: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Cells of ``mask`` 4-connected to a source cell inside ``mask``.

    Same as labelling ``mask`` into 4-connected components and keeping the
    components that hold a source. (A depth-first flood fill over flat cell indices.)
    """
    rows, cols = mask.shape
    m = mask.ravel()
    out = np.zeros(rows * cols, np.bool_)
    stack = np.empty(rows * cols, np.int64)
    top = 0
    for k in range(sources.shape[0]):
        v = sources[k, 0] * cols + sources[k, 1]
        if m[v] and not out[v]:
            out[v] = True
            stack[top] = v
            top += 1
    last_row = (rows - 1) * cols
    while top > 0:
        top -= 1
        v = stack[top]
        c = v % cols
        for u, ok in ((v - cols, v >= cols), (v + cols, v < last_row), (v - 1, c > 0), (v + 1, c < cols - 1)):
            if ok and m[u] and not out[u]:
                out[u] = True
                stack[top] = u
                top += 1
    return out.reshape(rows, cols)


@njit(cache=True)
def widest_level(level: np.ndarray, sources: np.ndarray, levels: int) -> np.ndarray:
    """For each cell, the highest ``k`` such that a 4-connected path of cells of level >= ``k``
    joins it to a source (0 when none): the bottleneck of the widest path, in levels.

    Same as, for each ``k`` in 1..``levels``, labelling ``level >= k`` and keeping the
    components that hold a source (the corridor probes), but in one pass: a bucket
    queue over the integer levels, highest first (a max-min Dijkstra).
    """
    rows, cols = level.shape
    n = rows * cols
    lev = level.ravel()
    best = np.zeros(n, np.int64)
    # one stack per level; a cell is pushed at most once per level
    stacks = np.empty((levels + 1, n), np.int64)
    tops = np.zeros(levels + 1, np.int64)
    for k in range(sources.shape[0]):
        v = sources[k, 0] * cols + sources[k, 1]
        w = lev[v]
        if w > best[v]:
            best[v] = w
            stacks[w, tops[w]] = v
            tops[w] += 1
    last_row = (rows - 1) * cols
    for q in range(levels, 0, -1):
        while tops[q] > 0:
            tops[q] -= 1
            v = stacks[q, tops[q]]
            if best[v] != q:
                continue  # reached at a higher level since
            c = v % cols
            for u, ok in ((v - cols, v >= cols), (v + cols, v < last_row), (v - 1, c > 0), (v + 1, c < cols - 1)):
                if ok:
                    w = min(q, lev[u])
                    if w > best[u]:
                        best[u] = w
                        stacks[w, tops[w]] = u
                        tops[w] += 1
    return best.reshape(rows, cols)


@njit(cache=True)
def within_steps(mask: np.ndarray, steps: int) -> np.ndarray:
    """Cells within ``steps`` 4-neighbour steps of a cell of ``mask``.

    Same as ``scipy.ndimage.binary_dilation(mask, iterations=steps)`` with the
    4-neighbour cross (a Manhattan ball; nothing outside the grid).
    """
    rows, cols = mask.shape
    n = rows * cols
    m = mask.ravel()
    dist = np.full(n, steps + 1, np.int64)
    queue = np.empty(n, np.int64)
    head, tail = 0, 0
    for v in range(n):
        if m[v]:
            dist[v] = 0
            queue[tail] = v
            tail += 1
    last_row = (rows - 1) * cols
    while head < tail:  # breadth first: cells leave the queue in order of distance
        v = queue[head]
        head += 1
        d = dist[v] + 1
        if d > steps:
            break
        c = v % cols
        for u, ok in ((v - cols, v >= cols), (v + cols, v < last_row), (v - 1, c > 0), (v + 1, c < cols - 1)):
            if ok and dist[u] > d:
                dist[u] = d
                queue[tail] = u
                tail += 1
    return (dist <= steps).reshape(rows, cols)


@njit(cache=True)
def _envelope_1d(f: np.ndarray, out: np.ndarray, v: np.ndarray, z: np.ndarray) -> None:
    """out[q] = min_p f[p] + (q - p)^2 over p with finite f (integers; Felzenszwalb and Huttenlocher 2012)."""
    n = f.shape[0]
    k = -1
    for q in range(n):
        if f[q] >= _INF:
            continue
        if k < 0:  # the first finite parabola
            k = 0
            v[0] = q
            z[0] = -1e300
            z[1] = 1e300
            continue
        s = 0.0
        while True:  # z[0] is -infinity, so k never falls below 0
            p = v[k]
            s = ((f[q] + q * q) - (f[p] + p * p)) / (2.0 * (q - p))
            if s > z[k]:
                break
            k -= 1
        k += 1
        v[k] = q
        z[k] = s
        z[k + 1] = 1e300
    if k < 0:
        for q in range(n):
            out[q] = _INF
        return
    j = 0
    for q in range(n):
        while z[j + 1] < q:
            j += 1
        p = v[j]
        out[q] = f[p] + (q - p) * (q - p)


@njit(cache=True)
def squared_edt(mask: np.ndarray) -> np.ndarray:
    """Squared Euclidean distance (in cells, exact integers) from every cell of ``mask`` to the
    nearest cell outside it; 0 outside. ``np.sqrt`` of it is
    ``scipy.ndimage.distance_transform_edt(mask)`` whenever ``mask`` has a cell outside it.
    """
    rows, cols = mask.shape
    g = np.empty((rows, cols), np.int64)
    run = np.full(cols, _INF, np.int64)
    for r in range(rows):  # down the columns (row by row, in memory order): nearest background above
        for c in range(cols):
            if not mask[r, c]:
                run[c] = 0
            elif run[c] < _INF:
                run[c] += 1
            g[r, c] = run[c]
    run[:] = _INF
    for r in range(rows - 1, -1, -1):  # and below
        for c in range(cols):
            if not mask[r, c]:
                run[c] = 0
            elif run[c] < _INF:
                run[c] += 1
            if run[c] < g[r, c]:
                g[r, c] = run[c]
    f = np.empty(cols, np.int64)
    v = np.empty(cols, np.int64)
    z = np.empty(cols + 1, np.float64)
    res = np.empty((rows, cols), np.int64)
    for r in range(rows):  # along the rows: lower envelope of the parabolas
        for c in range(cols):
            gc = g[r, c]
            f[c] = gc * gc if gc < _INF else _INF
        _envelope_1d(f, res[r], v, z)
    return res


@njit(cache=True)
def probe_network(control_def: np.ndarray, passable: np.ndarray, dist_km: np.ndarray, zone: np.ndarray,
                  road: np.ndarray, sources: np.ndarray, widths: np.ndarray, road_steps: int):
    """The daily supply network in one call: ``(connected, widest, road_served)``.

    * ``connected``: ``reach(passable, sources)``;
    * ``widest``: ``widest_level(level, sources, len(widths))`` where a defender-held cell's
      level is how many ``widths`` its ``dist_km`` reaches (``np.searchsorted(widths, dist_km,
      side="right")``), a ``zone`` cell's is ``len(widths)`` and any other cell's 0;
    * ``road_served``: ``within_steps(reach(control_def & road, sources), road_steps) & control_def``.
    """
    rows, cols = control_def.shape
    k = widths.shape[0]
    level = np.zeros((rows, cols), np.int64)
    road_def = np.zeros((rows, cols), np.bool_)
    for r in range(rows):
        for c in range(cols):
            if zone[r, c]:
                level[r, c] = k
            elif control_def[r, c]:
                d = dist_km[r, c]
                q = k if k > 0 and widths[k - 1] <= d else 0  # deep cells (most) reach every width at once
                while q < k and widths[q] <= d:
                    q += 1
                level[r, c] = q
            road_def[r, c] = control_def[r, c] and road[r, c]
    connected = reach(passable, sources)
    widest = widest_level(level, sources, k)
    road_served = within_steps(reach(road_def, sources), road_steps)
    for r in range(rows):
        for c in range(cols):
            road_served[r, c] = road_served[r, c] and control_def[r, c]
    return connected, widest, road_served


@njit(cache=True)
def supply_network(control_def: np.ndarray, passable: np.ndarray, dist_km: np.ndarray, city_zone: np.ndarray,
                   road: np.ndarray, sources: np.ndarray, widths: np.ndarray, road_steps: int, cell_km: float):
    """``logistics.network``'s grids in one call: ``(pocket, bottleneck, top, zone_any, zone_linked, road_served)``.

    With ``zone = city_zone & passable`` and ``connected, widest, road_served =
    probe_network(control_def, passable, dist_km, zone, road > 0, sources, widths, road_steps)``:
    ``pocket = passable & ~connected``; ``bottleneck = np.where(connected, cell_km / 2, 0.0)`` with
    ``widths[widest - 1]`` where ``widest > 0``; ``top = widest[zone].max()`` (0 when the zone is
    empty); ``zone_any = zone.any()``; ``zone_linked = connected[zone].any()``.
    """
    rows, cols = control_def.shape
    zone = np.empty((rows, cols), np.bool_)
    on_road = np.empty((rows, cols), np.bool_)
    for r in range(rows):
        for c in range(cols):
            zone[r, c] = city_zone[r, c] and passable[r, c]
            on_road[r, c] = road[r, c] > 0
    connected, widest, road_served = probe_network(control_def, passable, dist_km, zone, on_road, sources, widths,
                                                   road_steps)
    pocket = np.empty((rows, cols), np.bool_)
    bottleneck = np.empty((rows, cols), np.float64)
    top, zone_any, zone_linked = 0, False, False
    for r in range(rows):
        for c in range(cols):
            pocket[r, c] = passable[r, c] and not connected[r, c]
            w = widest[r, c]
            bottleneck[r, c] = widths[w - 1] if w > 0 else (cell_km / 2 if connected[r, c] else 0.0)
            if zone[r, c]:
                zone_any = True
                zone_linked = zone_linked or connected[r, c]
                top = max(top, w)
    return pocket, bottleneck, top, zone_any, zone_linked, road_served


@njit(cache=True)
def edt_km(mask: np.ndarray, cell_km: float) -> np.ndarray:
    """``np.sqrt(squared_edt(mask)) * cell_km``: the distance (km) to the nearest cell outside ``mask``."""
    sq = squared_edt(mask)
    rows, cols = mask.shape
    out = np.empty((rows, cols), np.float64)
    for r in range(rows):
        for c in range(cols):
            out[r, c] = np.sqrt(np.float64(sq[r, c])) * cell_km
    return out


@njit(cache=True)
def _running_mean(line: np.ndarray, out: np.ndarray, radius: int) -> None:
    """One line of scipy's ``uniform_filter1d(mode="nearest")``, to the bit: the window's running sum
    (in order, then moved along by ``+ entering - leaving``), each divided by the window's size."""
    n = line.shape[0]
    size = 2 * radius + 1
    tmp = 0.0
    for j in range(size):
        tmp += line[min(max(j - radius, 0), n - 1)]
    out[0] = tmp / size
    for q in range(1, n):
        tmp += line[min(q + radius, n - 1)] - line[max(q - radius - 1, 0)]
        out[q] = tmp / size


@njit(cache=True)
def box_mean(mask: np.ndarray, radius: int) -> np.ndarray:
    """``scipy.ndimage.uniform_filter(mask.astype(float), size=2 * radius + 1, mode="nearest")``:
    the share of ``mask`` cells in the square around each cell (down the columns first, then along the rows)."""
    rows, cols = mask.shape
    down = np.empty((rows, cols))
    line = np.empty(rows)
    res = np.empty(rows)
    for c in range(cols):
        for r in range(rows):
            line[r] = 1.0 if mask[r, c] else 0.0
        _running_mean(line, res, radius)
        for r in range(rows):
            down[r, c] = res[r]
    out = np.empty((rows, cols))
    for r in range(rows):
        _running_mean(down[r], out[r], radius)
    return out


@njit(cache=True)
def cells_between(mask: np.ndarray, control: np.ndarray, holder: int, dist: np.ndarray, low: float,
                  high: float) -> np.ndarray:
    """``np.argwhere(mask & (control == holder) & (dist > low) & (dist <= high))`` in one pass."""
    rows, cols = mask.shape
    out = np.empty((rows * cols, 2), np.int64)
    n = 0
    for r in range(rows):
        for c in range(cols):
            if mask[r, c] and control[r, c] == holder and dist[r, c] > low and dist[r, c] <= high:
                out[n, 0] = r
                out[n, 1] = c
                n += 1
    return out[:n].copy()


@njit(cache=True)
def cell_centres(cells: np.ndarray, cell_km: float) -> np.ndarray:
    """``np.column_stack([(cells[:, 1] + 0.5) * cell_km, (cells[:, 0] + 0.5) * cell_km])``: (x, y) km of cells."""
    out = np.empty((cells.shape[0], 2))
    for i in range(cells.shape[0]):
        out[i, 0] = (cells[i, 1] + 0.5) * cell_km
        out[i, 1] = (cells[i, 0] + 0.5) * cell_km
    return out


@njit(cache=True)
def window_max_at(field: np.ndarray, rows_at: np.ndarray, cols_at: np.ndarray, half: int) -> np.ndarray:
    """``scipy.ndimage.maximum_filter(field, size=2 * half + 1)`` read at the given cells only."""
    rows, cols = field.shape
    out = np.empty(rows_at.shape[0], field.dtype)
    for k in range(rows_at.shape[0]):
        r0, c0 = rows_at[k], cols_at[k]
        m = field[r0, c0]
        for r in range(max(r0 - half, 0), min(r0 + half + 1, rows)):
            for c in range(max(c0 - half, 0), min(c0 + half + 1, cols)):
                if field[r, c] > m:
                    m = field[r, c]
        out[k] = m
    return out


def warm_up() -> None:
    """Compile (or load from the cache) every kernel on a tiny grid, so a worker forked
    after this call never compiles."""
    mask = np.ones((3, 3), np.bool_)
    mask[0, 0] = False
    src = np.array([[1, 1]], np.int64)
    reach(mask, src)
    widest_level(mask.astype(np.int64), src, 2)
    within_steps(mask, 1)
    probe_network(mask, mask, np.ones((3, 3)), mask, mask, src, np.array([1.0, 2.0]), 1)
    squared_edt(mask)
    edt_km(mask, 1.0)
    supply_network(mask, mask, np.ones((3, 3)), mask, np.ones((3, 3), np.int8), src, np.array([1.0, 2.0]), 1, 1.0)
    touches(mask)
    cell_centres(src, 1.0)
    box_mean(mask, 1)
    cells_between(mask, np.zeros((3, 3), np.int8), 0, np.ones((3, 3)), 0.0, 1.0)
    border_cells(np.zeros((3, 3), np.int8), mask, 0, 1, True, -1)
    one = np.array([1.0])
    window_max_at(np.zeros((3, 3)), np.array([1], np.int64), np.array([1], np.int64), 1)
    nearest_front(one, one, one, one)
    from sim.model import assault, glue  # the day's compiled glue and combat (modules of their own)

    glue.warm_up()
    assault.warm_up()
    spread_along_front(one, one, one, one, 1.0, 1.0, 1.0)
    spread_along_front(one, one, one, one, 1.0, 1.0, 1.0, 1.0)   # with the objective's weight (mechanism 9)
    _warm_day_kernels(mask)


@njit(cache=True)
def line_posture(units: np.ndarray, posture: np.ndarray, x: np.ndarray, y: np.ndarray, fortification: np.ndarray,
                 cell_km: float, defend: int, fortified: float, posture_defence: np.ndarray) -> np.ndarray:
    """Each defending unit's posture factor: ``fortified`` for a unit in the defend posture on a cell of a
    prepared belt (``fortification >= 2``), else its posture's (``np.where(dug_in, fortified,
    posture_defence[posture[units]])``, the unit's cell as ``PokrovskModel.cells_of`` finds it)."""
    rows, cols = fortification.shape
    out = np.empty(units.shape[0])
    for k in range(units.shape[0]):
        i = units[k]
        r, c = floor_index(y[i], cell_km, rows), floor_index(x[i], cell_km, cols)
        dug_in = posture[i] == defend and fortification[r, c] >= 2
        out[k] = fortified if dug_in else posture_defence[posture[i]]
    return out


def _frozen(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a.flags.writeable = False
    return a


def _warm_day_kernels(mask: np.ndarray) -> None:
    """The day's kernels on the types the model passes them, so a worker forked after warm-up neither
    compiles nor loads from the cache: the World's layers are read-only arrays (a type of their own to
    Numba), ``np.argwhere`` gives a Fortran-ordered array and a column of a cell list is a strided view."""
    control, one, yes = np.zeros((3, 3), np.int8), np.ones(1), np.ones(1, np.bool_)
    frozen, floats, road = _frozen(mask), _frozen(np.ones((3, 3))), _frozen(np.zeros((3, 3), np.int8))
    cells, unit = np.zeros((1, 2), np.int64), np.zeros(1, np.int64)
    control_tally(control, 1, 0, frozen, floats, frozen)
    for active in (frozen, mask):
        new_ground(mask, mask, active)
    collapse_isolated(control.copy(), 2, 0, 1)
    nearest_cell(1.0, 1.0, mask, 1.0, np.ones((1, 2)), 1.0)
    for grid_road in (road, control):
        move_units(one, one, one.copy(), one.copy(), yes, yes, control, 1, 0, grid_road, 1.0, 1.0)
    border_cells(control, frozen, 1, 0, True, 2)
    for some in (cells, np.zeros((2, 2), np.int64)):  # a column of one cell is contiguous, of more a strided view
        box_mean_at(control, 1, 1, some[:, 0], some[:, 1])
        window_max_at(np.ones((3, 3)), some[:, 0], some[:, 1], 1)
        distance_to_nearest(np.asfortranarray(some), mask, 0, 3, 0, 3, 1.0)  # np.argwhere's order
    cells_between(frozen, control, 0, np.ones((3, 3)), 0.0, 1.0)
    supply_network(mask, mask, np.ones((3, 3)), frozen, road, cells, np.array([1.0, 2.0]), 1, 1.0)
    contact_captures(control, cells, np.ones((2, 1)), one, one, 0, 2, 1)
    retake_cells(control, cells, one, one, 1, 2, 0)
    deep_infiltration(control.copy(), cells, np.ones((3, 3)), np.ones((1, 2)), one, one, 1.0, 1.0, 1.0, 1.0, 2)
    same_cells(control, control)
    within_reach(one, one, one, np.ones((1, 2)))
    cells_at_xy(one, one, 1.0, 3, 3)
    line_posture(unit, np.zeros(1, np.int8), one, one, _frozen(np.ones((3, 3), np.float32)), 1.0, 1, 1.5, _frozen(one))
    clear_unmanned(mask, control.copy(), 1, cells)
    defender_supply(unit, one, one, yes.copy(), one.copy(), control, 1, mask, np.ones((3, 3)), 1, mask, 1.0, 1.0, 0.5,
                    0.1, 0.5, 0.1, 0.2)


@njit(cache=True)
def _below_hypot(dx: float, dy: float) -> float:
    """A number no larger than ``np.hypot(dx, dy)``: the longer leg, less a relative 1e-12 (libm's hypot is
    within an ulp of the true length, which is at least the longer leg). A candidate whose bound already
    loses is passed over without its ``hypot``, so the choices below are those of the full search."""
    return max(abs(dx), abs(dy)) * (1.0 - 1e-12)


@njit(cache=True)
def nearest_front(fx: np.ndarray, fy: np.ndarray, ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
    """For each unit, the index of the nearest front cell (first of equals): the frontal pressure order."""
    out = np.empty(ux.shape[0], np.int64)
    for i in range(ux.shape[0]):
        best, j = np.inf, 0
        for k in range(fx.shape[0]):
            dx, dy = fx[k] - ux[i], fy[k] - uy[i]
            if _below_hypot(dx, dy) >= best:
                continue  # np.hypot(dx, dy) >= best: not nearer
            d = np.hypot(dx, dy)
            if d < best:
                best, j = d, k
        out[i] = j
    return out


@njit(cache=True)
def within_reach(ux: np.ndarray, uy: np.ndarray, reach_km: np.ndarray, cxy: np.ndarray) -> np.ndarray:
    """Cells within some unit's reach: ``(np.hypot(ux[:, None] - cxy[:, 0], uy[:, None] - cxy[:, 1])
    < reach_km[:, None]).any(axis=0)`` (a pair whose longer leg already reaches ``reach_km`` is not within)."""
    out = np.zeros(cxy.shape[0], np.bool_)
    for k in range(cxy.shape[0]):
        for i in range(ux.shape[0]):
            dx, dy = ux[i] - cxy[k, 0], uy[i] - cxy[k, 1]
            if _below_hypot(dx, dy) < reach_km[i] and np.hypot(dx, dy) < reach_km[i]:
                out[k] = True
                break
    return out


@njit(cache=True)
def spread_along_front(fx: np.ndarray, fy: np.ndarray, ux: np.ndarray, uy: np.ndarray, ox: float, oy: float,
                       spacing_km: float, objective_weight: float = 1.0) -> np.ndarray:
    """The attacker commander's choice of front cell for each unit of one arm, in order.

    Each unit takes the front cell minimising ``objective_weight x distance to the arm's
    objective + 0.3 x its own distance to it``, among cells not within ``spacing_km`` of a cell already
    taken by an earlier unit of the arm; when every cell is taken, the spacing starts
    over. (docs/ODD.md, "Attacker commander"; the numpy form it replaces is in
    tests/test_kernels.py.) A cell whose score cannot beat the best so far, by the bound
    :func:`_below_hypot`, is passed over without its ``hypot``: the same choices.
    """
    n = fx.shape[0]
    d_obj = np.empty(n)
    for k in range(n):
        d_obj[k] = objective_weight * np.hypot(fx[k] - ox, fy[k] - oy)
    taken = np.zeros(n, np.bool_)
    out = np.empty(ux.shape[0], np.int64)
    for i in range(ux.shape[0]):
        best, j = np.inf, 0
        for k in range(n):
            dx, dy = fx[k] - ux[i], fy[k] - uy[i]
            penalty = 1e6 if taken[k] else 0.0
            if d_obj[k] + 0.3 * _below_hypot(dx, dy) + penalty >= best:
                continue  # its score is at least that: not better
            score = d_obj[k] + 0.3 * np.hypot(dx, dy) + penalty
            if score < best:
                best, j = score, k
        out[i] = j
        all_taken = True
        for k in range(n):
            if not taken[k]:
                dx, dy = fx[k] - fx[j], fy[k] - fy[j]
                taken[k] = _below_hypot(dx, dy) < spacing_km and np.hypot(dx, dy) < spacing_km
            all_taken = all_taken and taken[k]
        if all_taken:
            taken[:] = False
    return out


@njit(cache=True)
def control_tally(control: np.ndarray, attacker: int, defender: int, city: np.ndarray, advance_from: np.ndarray,
                  next_line: np.ndarray):
    """The day's record of the control grid: ``(held, counts, city_share, advance_km, next_line_hit)``.

    ``held = control == attacker``; ``counts = np.bincount(control.ravel(), minlength=3)`` (codes 0..2);
    ``city_share = (control[city] == defender).mean()`` (nan for an empty city); ``advance_km =
    advance_from[held].max()`` (-inf when nothing is held); ``next_line_hit = (held & next_line).any()``.
    (Two flat passes: counting, then the held cells; without branches the first one vectorises.)
    """
    rows, cols = control.shape
    flat, in_city = control.ravel(), city.ravel()
    held = np.empty(rows * cols, np.bool_)
    n0, n1, n2, city_def, city_n = 0, 0, 0, 0, 0
    for i in range(rows * cols):
        v = flat[i]
        held[i] = v == attacker
        n0 += v == 0
        n1 += v == 1
        n2 += v == 2
        city_n += in_city[i]
        city_def += in_city[i] and v == defender
    advance, hit = -np.inf, False
    far, line = advance_from.ravel(), next_line.ravel()
    for i in range(rows * cols):
        if held[i]:
            advance = max(advance, far[i])
            hit = hit or line[i]
    share = city_def / city_n if city_n else np.nan
    return held.reshape(rows, cols), np.array([n0, n1, n2]), share, advance, hit


@njit(cache=True)
def new_ground(held: np.ndarray, past: np.ndarray, active: np.ndarray):
    """``new = held & ~past & active`` and its bounding rows and columns ``(new, r0, r1, c0, c1)``
    (the first and last of ``np.flatnonzero(new.any(axis=1))`` and of ``axis=0``; ``r0 = -1`` when nothing is new)."""
    rows, cols = held.shape
    flat = np.empty(rows * cols, np.bool_)
    h, p, a = held.ravel(), past.ravel(), active.ravel()
    for i in range(rows * cols):
        flat[i] = h[i] and not p[i] and a[i]
    new = flat.reshape(rows, cols)
    r0, r1, c0, c1 = -1, -1, cols, -1
    for r in range(rows):
        for c in range(cols):
            if new[r, c]:
                if r0 < 0:
                    r0 = r
                r1 = r
                c0 = min(c0, c)
                c1 = max(c1, c)
    return new, r0, r1, c0, c1


@njit(cache=True)
def collapse_isolated(control: np.ndarray, contested: int, defender: int, attacker: int) -> int:
    """In place: ``fall = (control == contested) & ~touches(control == defender)`` (a contested cell has
    no defender-held 4-neighbour left), ``control[fall] = attacker``; returns ``fall.sum()``. (A cell that
    falls was not defender-held, so the cells it touches see the same neighbours.)"""
    rows, cols = control.shape
    n = 0
    for r in range(rows):
        for c in range(cols):
            if control[r, c] != contested:
                continue
            if ((r > 0 and control[r - 1, c] == defender) or (r < rows - 1 and control[r + 1, c] == defender)
                    or (c > 0 and control[r, c - 1] == defender) or (c < cols - 1 and control[r, c + 1] == defender)):
                continue
            control[r, c] = attacker
            n += 1
    return n


@njit(cache=True)
def floor_index(v: float, cell_km: float, n: int) -> int:
    """``min(max(int(v // cell_km), 0), n - 1)``: the cell index of a coordinate, clamped to the grid
    (Python's and numpy's float floor division: fmod, then the quotient rounded as they round it)."""
    mod = np.fmod(v, cell_km)
    div = (v - mod) / cell_km
    if mod != 0.0 and ((cell_km < 0) != (mod < 0)):
        div -= 1.0
    if div != 0.0:
        q = np.floor(div)
        if div - q > 0.5:
            q += 1.0
    else:
        q = 0.0
    return min(max(int(q), 0), n - 1)


@njit(cache=True)
def cells_at_xy(x: np.ndarray, y: np.ndarray, cell_km: float, rows: int, cols: int):
    """``(r, c)``: each point's cell, clamped to the grid (``np.minimum(np.maximum((y // cell_km).astype(int),
    0), rows - 1)`` and the same for ``x``), as :func:`floor_index` finds it."""
    n = x.shape[0]
    r, c = np.empty(n, np.int64), np.empty(n, np.int64)
    for k in range(n):
        r[k], c[k] = floor_index(y[k], cell_km, rows), floor_index(x[k], cell_km, cols)
    return r, c


@njit(cache=True)
def nearest_cell(x: float, y: float, mask: np.ndarray, cell_km: float, avoid: np.ndarray, min_sep: float):
    """``PokrovskModel.nearest_cell_xy``: ``(found, cx, cy)``, the centre of the nearest ``mask`` cell to
    ``(x, y)``, searched in squares of radius 2, 5, 12, 30 and the whole grid around the point's cell (cells
    in ``np.argwhere`` order, first of equals); a cell within ``min_sep`` of an ``avoid`` point costs 1e3 km
    more, and a square whose best cell pays that is passed over unless it is the whole grid."""
    rows, cols = mask.shape
    r0, c0 = floor_index(y, cell_km, rows), floor_index(x, cell_km, cols)
    whole = max(rows, cols)
    penalise = avoid.shape[0] > 0 and min_sep > 0
    for radius in (np.int64(2), np.int64(5), np.int64(12), np.int64(30), np.int64(whole)):
        r1, r2 = max(r0 - radius, 0), min(r0 + radius + 1, rows)
        c1, c2 = max(c0 - radius, 0), min(c0 + radius + 1, cols)
        best, bx, by, seen = np.inf, 0.0, 0.0, False
        for r in range(r1, r2):
            for c in range(c1, c2):
                if not mask[r, c]:
                    continue
                cx, cy = (c + 0.5) * cell_km, (r + 0.5) * cell_km
                d = np.hypot(cx - x, cy - y)
                if penalise:
                    sep = np.inf
                    for p in range(avoid.shape[0]):
                        sep = min(sep, np.hypot(cx - avoid[p, 0], cy - avoid[p, 1]))
                    d = d + (1e3 if sep < min_sep else 0.0)
                if not seen or d < best:
                    best, bx, by, seen = d, cx, cy, True
        if not seen or (best >= 1e3 and radius < whole):
            continue
        return True, bx, by
    return False, 0.0, 0.0


@njit(cache=True)
def move_units(x: np.ndarray, y: np.ndarray, target_x: np.ndarray, target_y: np.ndarray, moving: np.ndarray,
               attacking: np.ndarray, control: np.ndarray, attacker: int, defender: int, road: np.ndarray,
               speed: float, cell_km: float) -> None:
    """``movement.move_toward_targets`` in place, unit by unit in index order: each ``moving`` unit steps
    ``speed`` (twice that from a road cell) toward its target, ``frac = min(1, step / max(dist, 1e-9))`` of
    the way (0 when there); a step that ends off its side's ground (``attacker`` for ``attacking`` units,
    ``defender`` for the others) lands on the nearest own cell instead (:func:`nearest_cell`); a unit
    within a step of its target has arrived (target set to nan)."""
    rows, cols = control.shape
    no_avoid = np.empty((0, 2))
    for i in range(x.shape[0]):
        if not moving[i]:
            continue
        step = 2 * speed if road[floor_index(y[i], cell_km, rows), floor_index(x[i], cell_km, cols)] > 0 else speed
        dx, dy = target_x[i] - x[i], target_y[i] - y[i]
        dist = np.hypot(dx, dy)
        frac = min(1.0, step / max(dist, 1e-9)) if dist > 0 else 0.0
        nx, ny = x[i] + frac * dx, y[i] + frac * dy
        side = attacker if attacking[i] else defender
        if control[floor_index(ny, cell_km, rows), floor_index(nx, cell_km, cols)] == side:
            x[i], y[i] = nx, ny
        else:
            found, bx, by = nearest_cell(nx, ny, control == side, cell_km, no_avoid, 0.0)
            if found:
                x[i], y[i] = bx, by
        if dist <= step:
            target_x[i] = np.nan
            target_y[i] = np.nan


@njit(cache=True)
def _clip01(v: float) -> float:
    """``np.clip(v, 0.0, 1.0)`` of a number as numpy's clip loop does it: nan stays nan, else
    ``max = v if v > 0 else 0``, then ``max if max < 1 else 1`` (so -0.0 becomes 0.0)."""
    if v != v:
        return v
    v = v if v > 0.0 else 0.0
    return v if v < 1.0 else 1.0


@njit(cache=True)
def defender_supply(units: np.ndarray, x: np.ndarray, y: np.ndarray, in_pocket: np.ndarray, supply: np.ndarray,
                    control: np.ndarray, attacker: int, pocket: np.ndarray, bottleneck: np.ndarray, half: int,
                    road_served: np.ndarray, cell_km: float, range_km: float, interdiction: float, relief: float,
                    offroad: float, pocket_loss: float, resupply: float) -> None:
    """``logistics._defender_supply`` in place for the defender ``units``, each at its cell ``(r, c)``:
    ``in_pocket = pocket[r, c] | (control[r, c] == attacker)``; ``exposure = np.clip(1 - b / range_km, 0, 1)``
    with ``b`` the window maximum of ``bottleneck`` (:func:`window_max_at`); ``target = np.clip(road *
    (1 - interdiction * exposure * (1 - relief)), 0, 1)`` with ``road`` 1 on a served road, else ``offroad``;
    supply falls by ``pocket_loss`` (not below 0) in a pocket, else moves ``resupply`` of the way to the
    target; clipped to 0..1. (``interdiction`` is the attacker's interdiction times its fire intensity.)"""
    rows, cols = control.shape
    n = units.shape[0]
    r, c = np.empty(n, np.int64), np.empty(n, np.int64)
    for k in range(n):
        r[k], c[k] = floor_index(y[units[k]], cell_km, rows), floor_index(x[units[k]], cell_km, cols)
    b = window_max_at(bottleneck, r, c, half)
    for k in range(n):
        i = units[k]
        cut = pocket[r[k], c[k]] or control[r[k], c[k]] == attacker
        in_pocket[i] = cut
        cut_by_fire = interdiction * _clip01(1.0 - b[k] / range_km) * (1.0 - relief)
        target = _clip01((1.0 if road_served[r[k], c[k]] else offroad) * (1.0 - cut_by_fire))
        s = supply[i]
        s = max(s - pocket_loss, 0.0) if cut else s + resupply * (target - s)
        supply[i] = _clip01(s)


@njit(cache=True)
def box_mean_at(control: np.ndarray, code: int, radius: int, rows_at: np.ndarray, cols_at: np.ndarray) -> np.ndarray:
    """``box_mean(control == code, radius)[rows_at, cols_at]``, running along only the rows asked for.

    The column pass of :func:`box_mean` gives at each cell the count of ``code`` cells in its
    window down the column (clamped at the edges; a sum of ones, exact) over the window's size:
    here that count comes from running counts down the columns. The row pass is
    :func:`_running_mean` itself, in its own order. Consecutive requests in one row share the
    row's pass (``np.argwhere`` order asks for each row once).
    """
    rows, cols = control.shape
    counts = np.zeros((rows + 1, cols), np.int64)  # counts[r, c]: code cells above row r in column c
    for r in range(rows):
        for c in range(cols):
            counts[r + 1, c] = counts[r, c] + (control[r, c] == code)
    size = 2 * radius + 1
    line = np.empty(cols)
    means = np.empty(cols)
    out = np.empty(rows_at.shape[0])
    current = -1
    for k in range(rows_at.shape[0]):
        r = rows_at[k]
        if r != current:
            lo, hi = max(r - radius, 0), min(r + radius, rows - 1)
            above, below = lo - (r - radius), (r + radius) - hi  # window rows clamped to the first and last
            for c in range(cols):
                n = counts[hi + 1, c] - counts[lo, c]
                n += above * (control[0, c] == code) + below * (control[rows - 1, c] == code)
                line[c] = n / size
            _running_mean(line, means, radius)
            current = r
        out[k] = means[cols_at[k]]
    return out


@njit(cache=True)
def contact_captures(control: np.ndarray, cells: np.ndarray, u: np.ndarray, p_won: np.ndarray, p_retaken: np.ndarray,
                     defender: int, contested: int, attacker: int) -> int:
    """The day's captures at the contact cells, in place; returns ``won.sum() + retaken.sum()``.

    With ``won = u[0] < p_won``, ``was = control[cells]`` and ``retaken = (was == contested) & ~won &
    (u[1] < p_retaken)``: a won defender-held cell becomes contested, a won contested cell attacker-held,
    a retaken cell defender-held (the cells are distinct, so cell by cell is the masked assignments)."""
    n = 0
    for k in range(cells.shape[0]):
        r, c = cells[k, 0], cells[k, 1]
        was = control[r, c]
        if u[0, k] < p_won[k]:
            n += 1
            if was == defender:
                control[r, c] = contested
            elif was == contested:
                control[r, c] = attacker
        elif was == contested and u[1, k] < p_retaken[k]:
            control[r, c] = defender
            n += 1
    return n


@njit(cache=True)
def deep_infiltration(control: np.ndarray, cand: np.ndarray, dist: np.ndarray, contact_xy: np.ndarray,
                      infiltrators: np.ndarray, u: np.ndarray, factor: float, gap_floor: float, depth: float,
                      cell_km: float, contested: int) -> int:
    """Deep infiltration into the candidate cells (``movement._deep_infiltration``), in place; returns the cells
    taken. A candidate's hazard is ``factor x infiltrators[k] x gap_floor x exp(-dist[cell] / depth)``, ``k`` its
    nearest contact cell (the first of equally near ones, in the contact cells' order); the cell turns
    contested where ``u < 1 - exp(-hazard)``. (The hazards read no control, so cell by cell is all at once.)"""
    n = 0
    for j in range(cand.shape[0]):
        r, c = cand[j, 0], cand[j, 1]
        x, y = (c + 0.5) * cell_km, (r + 0.5) * cell_km
        best, k = np.inf, 0
        for i in range(contact_xy.shape[0]):
            dx, dy = contact_xy[i, 0] - x, contact_xy[i, 1] - y
            d2 = dx * dx + dy * dy
            if d2 < best:
                best, k = d2, i
        hazard = factor * infiltrators[k] * gap_floor * np.exp(-dist[r, c] / depth)
        if u[j] < 1.0 - np.exp(-hazard):
            control[r, c] = contested
            n += 1
    return n


@njit(cache=True)
def retake_cells(control: np.ndarray, cells: np.ndarray, u: np.ndarray, p: np.ndarray, attacker: int, contested: int,
                 defender: int) -> int:
    """Cells the defender retakes, in place; returns ``hit.sum()`` with ``hit = u < p``: a hit attacker-held
    cell becomes contested, a hit contested cell defender-held (cells distinct: the masked assignments)."""
    n = 0
    for k in range(cells.shape[0]):
        if u[k] < p[k]:
            n += 1
            r, c = cells[k, 0], cells[k, 1]
            if control[r, c] == attacker:
                control[r, c] = contested
            elif control[r, c] == contested:
                control[r, c] = defender
    return n


@njit(cache=True)
def distance_to_nearest(cells: np.ndarray, mask: np.ndarray, r_lo: int, r_hi: int, c_lo: int, c_hi: int,
                        cell_km: float) -> np.ndarray:
    """For each of ``cells`` (inside the box ``[r_lo, r_hi) x [c_lo, c_hi)``, none of them in ``mask``), the
    distance (km) to the nearest ``mask`` cell of the box: ``edt_km(~mask[box], cell_km)`` read at those
    cells, without the rest of the box (at least one ``mask`` cell in the box). Rings of growing
    Chebyshev radius are searched until no cell farther out can be nearer (exact squared integers)."""
    out = np.empty(cells.shape[0])
    for k in range(cells.shape[0]):
        r0, c0 = cells[k, 0], cells[k, 1]
        best = np.int64(1) << 62
        radius = 1
        while radius * radius < best:
            for r in range(max(r0 - radius, r_lo), min(r0 + radius + 1, r_hi)):
                edge = abs(r - r0) == radius  # the ring's top or bottom row: all of it; else its two ends
                for c in range(max(c0 - radius, c_lo), min(c0 + radius + 1, c_hi)):
                    if (edge or abs(c - c0) == radius) and mask[r, c]:
                        best = min(best, (r - r0) * (r - r0) + (c - c0) * (c - c0))
            if r0 - radius <= r_lo and r0 + radius >= r_hi - 1 and c0 - radius <= c_lo and c0 + radius >= c_hi - 1:
                break  # the whole box searched
            radius += 1
        out[k] = np.sqrt(np.float64(best)) * cell_km
    return out


@njit(cache=True)
def same_cells(a: np.ndarray, b: np.ndarray) -> bool:
    """``np.array_equal(a, b)`` for two grids of one shape, stopping at the first difference."""
    fa, fb = a.ravel(), b.ravel()
    for i in range(fa.shape[0]):
        if fa[i] != fb[i]:
            return False
    return True


@njit(cache=True)
def clear_unmanned(pocket: np.ndarray, control: np.ndarray, attacker: int, manned: np.ndarray) -> int:
    """In place: every 4-connected component of ``pocket & (control != attacker)`` that holds none of the
    ``manned`` cells becomes attacker-held; returns how many cells did. (Labelling the components with
    ``scipy.ndimage.label`` and keeping the labels under the manned cells gives the same cells: which
    component a cell is in does not depend on how the components are numbered.)"""
    rows, cols = control.shape
    region = np.empty((rows, cols), np.bool_)
    for r in range(rows):
        for c in range(cols):
            region[r, c] = pocket[r, c] and control[r, c] != attacker
    held = reach(region, manned)
    n = 0
    for r in range(rows):
        for c in range(cols):
            if region[r, c] and not held[r, c]:
                control[r, c] = attacker
                n += 1
    return n
