"""The front at a start date, from an occupied-area map (docs/ODD.md 6.2).

A theater names its front source (``front: {geojson: ...}``): ``deepstate``,
the packaged daily record (sim/theater/data/deepstate), a folder of
``occupied_YYYY-MM-DD.geojson`` files, or one GeoJSON file (a scenario's
newer map, ``sim front``'s output). Control at the start:

- attacker-held: cells whose centre lies inside the occupied area of the
  latest map at or before the start date (holes excluded);
- contested: defender-side cells whose centre lies within
  ``contested_band_km`` of an attacker-held cell's centre, inside the
  ``contested_sector`` (at least the cells beside the occupied area when the
  band is above 0), towns excepted and each keeping a defender-held neighbour.
  The layer has no grey zone (its README): the ground just outside its edge
  is where both sides are. In towns the polygon is the line: DeepState draws
  a town's held blocks from footage (Pokrovsk's south and centre are inside
  on 11 Nov 2025, as SOURCES.md s.4 says), and a band there would hand the
  city's outer blocks over before the first day;
- defender-held: the rest.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from scipy import ndimage

from sim.core.errors import InputError
from sim.core.io import write_text_atomic
from sim.theater import record
from sim.theater.spec import DEEPSTATE, FrontSource
from sim.vocab import Control

DEFENDER, ATTACKER, CONTESTED = Control
FOUR = ndimage.generate_binary_structure(2, 1)  # 4-neighbours


def front_map(front: FrontSource, date: dt.date) -> tuple[dt.date, tuple, object]:
    """(the map's date, a cache key, a loader of its geometry) for a start date."""
    source = record.DEEPSTATE_DIR if front.geojson == DEEPSTATE else Path(front.geojson)
    if source.is_dir():
        map_date, path = record.occupied_file(date, source)
        return map_date, record.file_key(path), lambda: record.load_geojson_geometry(path)
    if not source.is_file():
        raise InputError(f"front map not found: {source} (expected a GeoJSON file or a folder of them)")
    map_date = front.date or record.geojson_date(source) or date
    if map_date > date:
        raise InputError(f"the front map {source.name} is of {map_date}, after the start date {date}")
    return map_date, record.file_key(source), lambda: record.load_geojson_geometry(source)


def front_problem(front: FrontSource, date: dt.date) -> str | None:
    """Why there is no front at ``date`` from this source, or None."""
    try:
        front_map(front, date)
    except InputError as exc:
        return exc.message
    return None


def start_control(grid, date: dt.date) -> tuple[dt.date, np.ndarray]:
    """(the map's date, control at the start): attacker-held, the contested band, defender-held."""
    front = grid.theater.front
    map_date, key, geometry = front_map(front, date)
    occupied = record.cached_mask(grid, key, geometry)
    control = np.where(occupied, ATTACKER, DEFENDER).astype(np.int8)
    sector = grid.sectors[front.contested_sector] if front.contested_sector else np.ones(grid.shape, bool)
    open_ground = grid.urban_id < 0  # towns: the polygon is the line (see the module's docstring)
    band = contested_band(occupied, grid.cell_km, front.contested_band_km) & sector & open_ground
    held = ~occupied & ~band
    # a band cell with no defender-held neighbour (a staircase corner of the edge, a sliver between
    # occupied parts) would fall to the attacker on day 1 (the model's collapse of contested cells
    # cut off from the defender, sim/model/movement.py): it stays defender-held
    control[band & ndimage.binary_dilation(held, structure=FOUR)] = CONTESTED
    return map_date, control


def contested_band(occupied: np.ndarray, cell_km: float, band_km: float) -> np.ndarray:
    """Cells outside ``occupied`` whose centre lies within ``band_km`` (at least one cell) of an occupied centre."""
    if band_km <= 0 or not occupied.any():
        return np.zeros(occupied.shape, bool)
    distance = ndimage.distance_transform_edt(~occupied) * cell_km
    return ~occupied & (distance <= max(band_km, cell_km))


CLIP_MARGIN_DEG = 0.05  # the grid's last row and column may reach a little past the box: keep their ground


def write_front_file(source: str | Path, date: dt.date | None, out: str | Path, theater) -> tuple[dt.date, record.Geometry]:
    """A map (a GeoJSON file, or a folder of dated ones and a date) as a theater's front: cut to the theater's
    box, dated, written to ``out`` in the form ``front: {geojson: ...}`` reads. Returns (its date, the geometry)."""
    source = Path(source)
    if source.is_dir():
        if date is None:
            raise InputError(f"{source} is a folder of maps: give --date to pick one")
        map_date, path = record.occupied_file(date, source)
    else:
        path = source
        map_date = date or record.geojson_date(source)
        if map_date is None:
            raise InputError(f"{source}: the map carries no 'date' property; give --date")
    b, m = theater.bbox, CLIP_MARGIN_DEG
    geometry = record.clip_geometry(record.load_geojson_geometry(path), b.west - m, b.south - m, b.east + m, b.north + m)
    if not geometry:
        raise InputError(f"{path}: no occupied area inside theater {theater.name!r} "
                         f"({b.south}-{b.north} N, {b.west}-{b.east} E)")
    write_text_atomic(Path(out), record.geometry_geojson(geometry, map_date, note=f"{path.name}, cut to {theater.name}"))
    return map_date, geometry
