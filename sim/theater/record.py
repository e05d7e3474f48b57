"""The record: DeepState's occupied area, one GeoJSON file a day, and its rasteriser.

The files under ``sim/theater/data/deepstate/`` (``occupied_YYYY-MM-DD.geojson``,
8 Jul 2024 to 11 Nov 2025; see the README there) hold the ground DeepState
shows as Russian-occupied, clipped to the Pokrovsk theater's box. "DeepState
map, via cyterat/deepstate-map-data".

A geometry here is a list of polygons; a polygon is a list of rings, the first
the outer boundary and the rest its holes; a ring is a read-only float array
of shape ``(n, 2)`` with columns lon, lat (GeoJSON order, WGS 84 degrees).

- :func:`occupied_dates`: the dates with a file.
- :func:`occupied_geometry`: the file of a date, or the latest one before it.
- :func:`occupied_mask`: the grid cells whose centre lies inside (holes excluded).
- :func:`load_geojson_geometry`: a user's file of the same form.

Nothing here downloads: the files ship in the package.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np

from sim.core.errors import InputError
from sim.theater.cache import remember

__all__ = [
    "DEEPSTATE_DIR", "area_km2", "cached_mask", "clip_geometry", "file_key", "geojson_date", "geometry_geojson",
    "geometry_mask", "load_geojson_geometry", "occupied_dates", "occupied_file", "occupied_geometry", "occupied_mask",
]

DEEPSTATE_DIR = Path(__file__).resolve().parent / "data" / "deepstate"
FILE_PREFIX = "occupied_"
_MASKS: OrderedDict = OrderedDict()  # (grid key, geometry key) -> bool mask
_KEEP_MASKS = 64                     # a validation run reads a few dozen dates; the oldest are dropped

Ring = np.ndarray
Polygon = list[Ring]
Geometry = list[Polygon]


# ------------------------------------------------------------------- the files
@lru_cache(maxsize=8)
def _dated_files(folder: Path = DEEPSTATE_DIR) -> tuple[tuple[dt.date, Path], ...]:
    out = []
    for path in Path(folder).glob(f"{FILE_PREFIX}*.geojson"):
        try:
            out.append((dt.date.fromisoformat(path.stem[len(FILE_PREFIX):]), path))
        except ValueError:
            continue
    return tuple(sorted(out))


def occupied_dates(folder: Path = DEEPSTATE_DIR) -> list[dt.date]:
    """The dates with a file (``occupied_YYYY-MM-DD.geojson``), oldest first; DeepState's by default."""
    return [d for d, _ in _dated_files(Path(folder))]


def occupied_file(date: dt.date | str, folder: Path = DEEPSTATE_DIR) -> tuple[dt.date, Path]:
    """The (date, path) of the file of ``date``, or of the latest one before it."""
    date = _as_date(date)
    files = _dated_files(Path(folder))
    if not files:
        raise InputError(f"no {FILE_PREFIX}YYYY-MM-DD.geojson files in {folder}")
    before = [(d, p) for d, p in files if d <= date]
    if not before:
        where = "DeepState's record" if Path(folder) == DEEPSTATE_DIR else str(folder)
        raise InputError(f"no occupied area at or before {date} in {where}; the first map is of {files[0][0]}")
    return before[-1]


def occupied_geometry(date: dt.date | str) -> Geometry:
    """DeepState's occupied area on ``date`` (the latest file at or before it)."""
    return load_geojson_geometry(occupied_file(date)[1])


def load_geojson_geometry(path: str | Path) -> Geometry:
    """The (multi)polygon of a user's GeoJSON file of the same form as DeepState's."""
    return _load_cached(*file_key(path))


def geojson_date(path: str | Path) -> dt.date | None:
    """The map's date: the ``date`` property of its (first) feature, as in DeepState's files; else None."""
    data = _read_json(*file_key(path))
    if isinstance(data, dict) and isinstance(data.get("features"), list) and data["features"]:
        data = data["features"][0]
    props = data.get("properties") if isinstance(data, dict) else None
    if not isinstance(props, dict):
        return None
    try:
        return dt.date.fromisoformat(str(props["date"]))
    except (KeyError, ValueError):
        return None


def file_key(path: str | Path) -> tuple[str, float]:
    """(absolute path, mtime) of a map: what its geometry and masks are cached under."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"GeoJSON file not found: {path}")
    return str(path.resolve()), path.stat().st_mtime


# ----------------------------------------------------------------- the parsing
@lru_cache(maxsize=64)
def _load_cached(path: str, mtime: float) -> Geometry:
    return _geometry_of(_read_json(path, mtime), path)


@lru_cache(maxsize=8)
def _read_json(path: str, mtime: float):
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read GeoJSON: {exc}", source=path) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg})", source=path, line=exc.lineno) from None
    return data


def _geometry_of(data, source: str) -> Geometry:
    """Polygons of a FeatureCollection, Feature, Polygon or MultiPolygon (other geometries refused)."""
    if not isinstance(data, dict) or "type" not in data:
        raise InputError("expected a GeoJSON object with a 'type'", source=source)
    kind = data["type"]
    if kind == "FeatureCollection":
        feats = data.get("features")
        if not isinstance(feats, list):
            raise InputError("features: expected a list of features", source=source)
        return [poly for f in feats for poly in _geometry_of(f, source)]
    if kind == "Feature":
        geom = data.get("geometry")
        return [] if geom is None else _geometry_of(geom, source)
    coords = data.get("coordinates")
    if kind == "Polygon":
        return [_polygon(coords, source)]
    if kind == "MultiPolygon":
        if not isinstance(coords, list):
            raise InputError("coordinates: expected a list of polygons", source=source)
        return [_polygon(p, source) for p in coords]
    raise InputError(f"expected Polygon or MultiPolygon geometry (the occupied area), found {kind!r}", source=source)


def _polygon(rings, source: str) -> Polygon:
    if not isinstance(rings, list) or not rings:
        raise InputError("coordinates: expected a polygon as a list of rings [[lon, lat], ...]", source=source)
    out = []
    for ring in rings:
        try:
            arr = np.asarray(ring, dtype=float)
        except (TypeError, ValueError):
            raise InputError("coordinates: expected each ring as [[lon, lat], ...] numbers", source=source) from None
        if arr.ndim != 2 or arr.shape[1] < 2 or len(arr) < 4:
            raise InputError(f"coordinates: expected each ring as at least 4 [lon, lat] points, found shape {arr.shape}",
                             source=source)
        arr = np.ascontiguousarray(arr[:, :2])
        if not np.isfinite(arr).all() or (np.abs(arr[:, 0]) > 180).any() or (np.abs(arr[:, 1]) > 90).any():
            raise InputError("coordinates: expected lon in -180..180 and lat in -90..90 degrees", source=source)
        arr.setflags(write=False)
        out.append(arr)
    return out


# ------------------------------------------------------------- the rasteriser
def geometry_mask(grid, geometry: Geometry) -> np.ndarray:
    """Cells of ``grid`` whose centre lies inside ``geometry`` (inside an outer ring, outside its holes)."""
    from matplotlib.path import Path as MplPath  # imported here: only rasterising needs it

    X, Y = grid.centres_km()
    lat, lon = grid.to_latlon(X, Y)
    points = np.column_stack([lon.ravel(), lat.ravel()])
    inside = np.zeros(len(points), bool)
    for polygon in geometry:
        outer = polygon[0]
        near = _in_box(points, outer)
        if not near.any():
            continue
        hit = MplPath(outer).contains_points(points[near])
        for hole in polygon[1:]:
            hit &= ~MplPath(hole).contains_points(points[near])
        inside[np.flatnonzero(near)[hit]] = True
    return inside.reshape(grid.shape)


def _in_box(points: np.ndarray, ring: np.ndarray) -> np.ndarray:
    lo, hi = ring.min(axis=0), ring.max(axis=0)
    return (points[:, 0] >= lo[0]) & (points[:, 0] <= hi[0]) & (points[:, 1] >= lo[1]) & (points[:, 1] <= hi[1])


def occupied_mask(grid, date: dt.date | str) -> np.ndarray:
    """Cells of ``grid`` whose centre lies in DeepState's occupied area on ``date`` (read-only, cached)."""
    path = occupied_file(date)[1]
    return cached_mask(grid, file_key(path), lambda: load_geojson_geometry(path))


def cached_mask(grid, geometry_key: tuple, geometry) -> np.ndarray:
    """``geometry_mask(grid, geometry())``, cached per (grid key, geometry key); read-only."""
    def build() -> np.ndarray:
        mask = geometry_mask(grid, geometry())
        mask.setflags(write=False)
        return mask

    return remember(_MASKS, (grid.key or (id(grid),), geometry_key), build, _KEEP_MASKS)


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"expected a date YYYY-MM-DD, found {value!r}") from None


def area_km2(mask: np.ndarray, cell_km: float) -> float:
    """Area of a cell mask in km²."""
    return float(mask.sum()) * cell_km * cell_km


# ------------------------------------------------------------- writing a map
def clip_geometry(geometry: Geometry, west: float, south: float, east: float, north: float) -> Geometry:
    """``geometry`` cut to a lon/lat box (Sutherland-Hodgman on each ring; rings left empty are dropped).
    Cells whose centre lies inside the box are inside the clipped geometry exactly when inside the original."""
    out = []
    for polygon in geometry:
        rings = [_clip_ring(ring, west, south, east, north) for ring in polygon]
        if rings[0] is None:
            continue
        out.append([rings[0]] + [r for r in rings[1:] if r is not None])
    return out


def _clip_ring(ring: np.ndarray, west: float, south: float, east: float, north: float) -> np.ndarray | None:
    pts = [tuple(p) for p in ring[:-1]] if np.array_equal(ring[0], ring[-1]) else [tuple(p) for p in ring]
    for axis, bound, keep_below in ((0, west, False), (0, east, True), (1, south, False), (1, north, True)):
        pts = _clip_half_plane(pts, axis, bound, keep_below)
        if len(pts) < 3:
            return None
    closed = np.array(pts + [pts[0]], dtype=float)
    closed.setflags(write=False)
    return closed


def _clip_half_plane(pts: list, axis: int, bound: float, keep_below: bool) -> list:
    def inside(p) -> bool:
        return p[axis] <= bound if keep_below else p[axis] >= bound

    def crossing(p, q):
        t = (bound - p[axis]) / (q[axis] - p[axis])
        return tuple(p[i] + t * (q[i] - p[i]) for i in range(2))

    out = []
    for i, q in enumerate(pts):
        p = pts[i - 1]
        if inside(q):
            if not inside(p):
                out.append(crossing(p, q))
            out.append(q)
        elif inside(p):
            out.append(crossing(p, q))
    return out


def geometry_geojson(geometry: Geometry, date: dt.date, note: str = "") -> str:
    """A DeepState-like file: one feature, a MultiPolygon rounded to 1e-4 degree, its date a property."""
    coords = [[np.round(ring, 4).tolist() for ring in polygon] for polygon in geometry]
    props = {"date": date.isoformat(), "layer": "occupied"} | ({"source": note} if note else {})
    feature = {"type": "Feature", "properties": props, "geometry": {"type": "MultiPolygon", "coordinates": coords}}
    return json.dumps({"type": "FeatureCollection", "features": [feature]}, separators=(",", ":")) + "\n"
