"""Rasterising a theater into grid layers at any cell size.

Projection: local equirectangular (SOURCES.md s.11, "The theater"): ``y = (lat -
south) * k``, ``x = (lon - west) * k * cos(lat_mid)`` with ``k = pi * R / 180``
km per degree and ``lat_mid`` the middle of the box. Over the ~120 km of the
Pokrovsk theater this is within a few hundred metres of great-circle distance
(pinned by tests/test_theater.py).

Row 0 is the southern edge, column 0 the western edge. Layers are numpy arrays
of shape ``(rows, cols)``; a built grid is cached per (theater content, cell size)
so replications never pay for it again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from sim.theater.cache import remember
from sim.theater.front import front_map, start_control
from sim.theater.spec import EARTH_RADIUS_KM, Theater
from sim.vocab import Control, RoadClass, Terrain

# terrain classes
OPEN, URBAN, FOREST, WATER = Terrain
# road classes
NO_ROAD, SECONDARY, PRIMARY = RoadClass
# control
DEFENDER, ATTACKER, CONTESTED = Control

KM_PER_DEG = math.pi * EARTH_RADIUS_KM / 180.0


@dataclass(eq=False)
class Grid:
    """The theater as grid layers. Build with :func:`build_grid` (cached)."""

    theater: Theater
    cell_km: float
    rows: int
    cols: int
    lat_mid: float
    terrain: np.ndarray            # int8, OPEN/URBAN/FOREST/WATER
    road: np.ndarray               # int8, NO_ROAD/SECONDARY/PRIMARY
    rail: np.ndarray               # bool
    river: np.ndarray              # bool
    fortification: np.ndarray      # float32, level 0-3
    urban_id: np.ndarray           # int16, index into theater.settlements, -1 outside towns
    belts: dict[str, np.ndarray]   # bool mask per fortification belt
    sectors: dict[str, np.ndarray]  # bool mask per sector
    settlement_cell: dict[str, tuple[int, int]]
    road_lines: list[tuple[str, str, np.ndarray]] = field(default_factory=list)  # (name, class, cells)
    rail_lines: list[tuple[str, np.ndarray]] = field(default_factory=list)
    river_lines: list[tuple[str, np.ndarray]] = field(default_factory=list)
    key: tuple = ()  # (theater content hash, cell km): what build_grid caches it under

    # --------------------------------------------------------------- projection
    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)

    @property
    def cell_area_km2(self) -> float:
        return self.cell_km * self.cell_km

    def to_km(self, lat, lon):
        """(lat, lon) -> (x_km, y_km) from the south-west corner."""
        b = self.theater.bbox
        y = (np.asarray(lat, dtype=float) - b.south) * KM_PER_DEG
        x = (np.asarray(lon, dtype=float) - b.west) * KM_PER_DEG * math.cos(math.radians(self.lat_mid))
        return x, y

    def to_latlon(self, x_km, y_km):
        b = self.theater.bbox
        lat = b.south + np.asarray(y_km, dtype=float) / KM_PER_DEG
        lon = b.west + np.asarray(x_km, dtype=float) / (KM_PER_DEG * math.cos(math.radians(self.lat_mid)))
        return lat, lon

    def cell_of(self, lat: float, lon: float) -> tuple[int, int]:
        """The (row, col) of the cell containing a point, clipped to the grid."""
        x, y = self.to_km(lat, lon)
        r = int(np.clip(math.floor(float(y) / self.cell_km), 0, self.rows - 1))
        c = int(np.clip(math.floor(float(x) / self.cell_km), 0, self.cols - 1))
        return r, c

    def cell_centre_km(self, r, c):
        return (np.asarray(c) + 0.5) * self.cell_km, (np.asarray(r) + 0.5) * self.cell_km

    def cell_of_place(self, place) -> tuple[int, int]:
        return self.cell_of(*self.theater.place_latlon(place))

    def urban_mask(self, name: str) -> np.ndarray:
        return self.urban_id == self.theater.settlement_names.index(name)

    def centres_km(self) -> tuple[np.ndarray, np.ndarray]:
        """Arrays X, Y (rows x cols) of cell-centre coordinates in km."""
        xs = (np.arange(self.cols) + 0.5) * self.cell_km
        ys = (np.arange(self.rows) + 0.5) * self.cell_km
        return np.meshgrid(xs, ys)

    def initial_control(self, date: dt.date) -> tuple[dt.date, np.ndarray]:
        """Control at ``date`` from the theater's front source (its latest map at or before ``date``), a fresh copy."""
        front_date, control = _control_at(self, date)
        return front_date, control.copy()


# ------------------------------------------------------------------ rasterising
def _polyline_cells(grid: Grid, points_km: list[tuple[float, float]]) -> np.ndarray:
    """Cells along a polyline, 4-connected (a diagonal step adds the orthogonal cell)."""
    cells: list[tuple[int, int]] = []
    step = grid.cell_km / 4
    for (x0, y0), (x1, y1) in zip(points_km[:-1], points_km[1:]):
        n = max(2, int(math.ceil(math.hypot(x1 - x0, y1 - y0) / step)) + 1)
        xs = np.linspace(x0, x1, n)
        ys = np.linspace(y0, y1, n)
        for x, y in zip(xs, ys):
            r = int(math.floor(y / grid.cell_km))
            c = int(math.floor(x / grid.cell_km))
            if not (0 <= r < grid.rows and 0 <= c < grid.cols):
                continue
            if cells and cells[-1] == (r, c):
                continue
            if cells and abs(cells[-1][0] - r) == 1 and abs(cells[-1][1] - c) == 1:
                cells.append((cells[-1][0], c))
            cells.append((r, c))
    return np.array(cells, dtype=np.int32).reshape(-1, 2)


def _points_km(grid: Grid, places) -> list[tuple[float, float]]:
    out = []
    for p in places:
        lat, lon = grid.theater.place_latlon(p)
        x, y = grid.to_km(lat, lon)
        out.append((float(x), float(y)))
    return out


def _distance_to_polyline(X: np.ndarray, Y: np.ndarray, pts: list[tuple[float, float]]) -> np.ndarray:
    best = np.full(X.shape, np.inf)
    for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:]):
        dx, dy = x1 - x0, y1 - y0
        L2 = dx * dx + dy * dy
        t = np.clip(((X - x0) * dx + (Y - y0) * dy) / L2, 0, 1) if L2 > 0 else np.zeros_like(X)
        d = np.hypot(X - (x0 + t * dx), Y - (y0 + t * dy))
        np.minimum(best, d, out=best)
    return best


def _polygon_mask(X: np.ndarray, Y: np.ndarray, pts: list[tuple[float, float]]) -> np.ndarray:
    from matplotlib.path import Path as MplPath  # imported here: only building a grid needs it

    path = MplPath(np.array(pts))
    inside = path.contains_points(np.column_stack([X.ravel(), Y.ravel()]))
    return inside.reshape(X.shape)


def urban_radius_km(theater: Theater, population: int) -> float:
    """Radius of a town's disc: its population over the urban density (SOURCES.md s.1, s.4)."""
    area = population / theater.urban_density_per_km2
    return max(theater.min_urban_radius_km, math.sqrt(area / math.pi))


def _build(theater: Theater, cell_km: float, key: tuple = ()) -> Grid:
    b = theater.bbox
    lat_mid = (b.south + b.north) / 2
    height = (b.north - b.south) * KM_PER_DEG
    width = (b.east - b.west) * KM_PER_DEG * math.cos(math.radians(lat_mid))
    rows, cols = int(math.ceil(height / cell_km)), int(math.ceil(width / cell_km))
    shape = (rows, cols)
    grid = Grid(
        theater=theater, cell_km=cell_km, rows=rows, cols=cols, lat_mid=lat_mid,
        terrain=np.zeros(shape, np.int8), road=np.zeros(shape, np.int8),
        rail=np.zeros(shape, bool), river=np.zeros(shape, bool),
        fortification=np.zeros(shape, np.float32), urban_id=np.full(shape, -1, np.int16),
        belts={}, sectors={}, settlement_cell={}, key=key,
    )
    X, Y = grid.centres_km()

    for area in theater.forests:
        grid.terrain[_polygon_mask(X, Y, _points_km(grid, area.area))] = FOREST
    for w in theater.water:
        x, y = _points_km(grid, [w.at])[0]
        grid.terrain[np.hypot(X - x, Y - y) <= w.radius_km] = WATER

    # towns: larger first so that a small town inside a big one keeps its own cells
    order = sorted(range(len(theater.settlements)), key=lambda i: -theater.settlements[i].population)
    for i in order:
        s = theater.settlements[i]
        if not (b.south <= s.lat <= b.north and b.west <= s.lon <= b.east):
            continue
        x, y = _points_km(grid, [s.name])[0]
        disc = np.hypot(X - x, Y - y) <= urban_radius_km(theater, s.population)
        r, c = grid.cell_of(s.lat, s.lon)
        disc[r, c] = True  # every town has at least its own cell
        grid.terrain[disc] = URBAN
        grid.urban_id[disc] = i
        grid.settlement_cell[s.name] = (r, c)
    for i in order[::-1]:  # the town's own centre cell always carries its id
        s = theater.settlements[i]
        if s.name in grid.settlement_cell:
            r, c = grid.settlement_cell[s.name]
            grid.urban_id[r, c] = i
            grid.terrain[r, c] = URBAN

    for route in theater.roads:
        cells = _polyline_cells(grid, _points_km(grid, route.via))
        level = PRIMARY if route.road_class == "primary" else SECONDARY
        grid.road[cells[:, 0], cells[:, 1]] = np.maximum(grid.road[cells[:, 0], cells[:, 1]], level)
        grid.road_lines.append((route.name, route.road_class, cells))
    for rail in theater.railways:
        cells = _polyline_cells(grid, _points_km(grid, rail.via))
        grid.rail[cells[:, 0], cells[:, 1]] = True
        grid.rail_lines.append((rail.name, cells))
    for river in theater.rivers:
        cells = _polyline_cells(grid, _points_km(grid, river.line))
        grid.river[cells[:, 0], cells[:, 1]] = True
        grid.river_lines.append((river.name, cells))

    for belt in theater.fortifications.belts:
        mask = _distance_to_polyline(X, Y, _points_km(grid, belt.line)) <= belt.width_km / 2
        grid.belts[belt.name] = mask
        grid.fortification[mask] = np.maximum(grid.fortification[mask], belt.level)
    for ring in theater.fortifications.rings:
        x, y = _points_km(grid, [ring.at])[0]
        mask = np.hypot(X - x, Y - y) <= ring.radius_km
        grid.fortification[mask] = np.maximum(grid.fortification[mask], ring.level)

    for name, pts in theater.sectors.items():
        grid.sectors[name] = _polygon_mask(X, Y, _points_km(grid, pts))
    for layer in (grid.terrain, grid.road, grid.rail, grid.river, grid.fortification, grid.urban_id):
        layer.setflags(write=False)
    return grid


_GRIDS: OrderedDict = OrderedDict()     # (theater content, cell km) -> Grid
_CONTROLS: OrderedDict = OrderedDict()  # (theater content, cell km, map date, map file and mtime) -> (map date, control)
_KEEP_GRIDS, _KEEP_CONTROLS = 4, 16     # a process rarely needs more; the oldest are dropped


def _theater_key(theater: Theater) -> str:
    """The theater's content, hashed: equal theaters share a grid, whichever object holds them
    (a sweep's workers receive a fresh copy of the theater with each batch of runs)."""
    return hashlib.sha1(theater.model_dump_json().encode()).hexdigest()


def build_grid(theater: Theater, cell_km: float = 1.0) -> Grid:
    """The grid of a theater at a cell size; built once per process and cached."""
    key = (_theater_key(theater), float(cell_km))
    return remember(_GRIDS, key, lambda: _build(theater, float(cell_km), key), _KEEP_GRIDS)


def _control_at(grid: Grid, date: dt.date) -> tuple[dt.date, np.ndarray]:
    map_date, map_key, _ = front_map(grid.theater.front, date)  # start dates that share a map share its control
    return remember(_CONTROLS, (*grid.key, map_date, *map_key), lambda: _control_build(grid, date), _KEEP_CONTROLS)


def _control_build(grid: Grid, date: dt.date) -> tuple[dt.date, np.ndarray]:
    front_date, control = start_control(grid, date)
    control.setflags(write=False)
    return front_date, control
