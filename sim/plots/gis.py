"""Maps for GIS: a results folder's control-probability map and town fall days, in files QGIS opens.

Three files beside the figures of every ``sim run`` folder and every option folder of ``sim compare``
(and, for the comparison as a whole, the same three with every option in them):

* ``control_probability.geojson``: contour polygons of the share of replications in which the attacker
  holds each cell on the last day, one MultiPolygon feature per probability level (the ground where that
  share is at least the level), in lon/lat (EPSG:4326, RFC 7946: exterior rings counter-clockwise,
  holes clockwise), with properties level, option, scenario, start_date, date (the day the map shows:
  start + horizon), horizon_days and runs;
* ``control_probability.tif``: the same map as a float32 GeoTIFF raster, one band per option, in
  EPSG:4326, one pixel per model cell;
* ``town_fall_days.csv``: per settlement, its coordinates, P(fallen by the horizon) and the 5%, median
  and 95% fall days with their calendar dates (``sim.analysis.towns``).

The model's grid is a local equirectangular projection of the theater's box (sim/theater/grid.py):
longitude and latitude are linear in a cell's column and row, so the grid is a regular lon/lat raster
and the GeoTIFF's pixels are the model's cells exactly. The contours are traced through the cell
centres (contourpy's marching squares, linear between centres), the grid's outer cells carried out to
its edge, so every coordinate lies inside the grid's box (the theater's box rounded up to whole cells).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from sim.core.io import write_atomic

DEFAULT_LEVELS = (0.1, 0.5, 0.9)
GEOJSON, GEOTIFF, TOWNS_CSV = "control_probability.geojson", "control_probability.tif", "town_fall_days.csv"
DECIMALS = 6  # degrees: about 0.1 m


@dataclass
class FolderMap:
    """One results folder's probability map and what the GIS files say about it."""

    scenario: str
    option: str
    start: dt.date
    horizon: int
    runs: int
    prob: np.ndarray  # (rows, cols), row 0 south: share of replications attacker-held on the last day
    grid: object      # sim.theater.grid.Grid
    runs_frame: pd.DataFrame
    city: str = ""  # the scenario's city (outcomes.city), where a figure centres

    @property
    def properties(self) -> dict:
        return {"option": self.option, "scenario": self.scenario, "start_date": self.start.isoformat(),
                "date": (self.start + dt.timedelta(days=self.horizon)).isoformat(), "horizon_days": self.horizon,
                "runs": self.runs}


def read_folder(folder: Path) -> FolderMap | None:
    """The map of a run folder (scenario.yaml, control.npz, runs.parquet); None if it has no replication."""
    from sim.theater import build_grid, load_scenario, theater_of

    if not (folder / "control.npz").exists() or not (folder / "scenario.yaml").exists():
        return None
    data = np.load(folder / "control.npz")
    n = int(data["replications"])
    if n == 0:
        return None
    doc = load_scenario(folder / "scenario.yaml")
    sc = doc.scenario
    grid = build_grid(theater_of(doc), sc.grid.cell_km)
    return FolderMap(sc.name, str(sc.option.kind), sc.start_date, int(sc.days), n,
                     data["attacker_held_count"] / n, grid, pd.read_parquet(folder / "runs.parquet"), sc.outcomes.city)


# ------------------------------------------------------------------ geometry
def raster_box(grid) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the grid in degrees: the theater's box rounded up to whole cells."""
    north, east = grid.to_latlon(grid.cols * grid.cell_km, grid.rows * grid.cell_km)
    b = grid.theater.bbox
    return b.west, b.south, float(east), float(north)


def contour_polygons(prob: np.ndarray, grid, level: float) -> list[list[list[list[float]]]]:
    """The ground where ``prob`` is at least ``level`` as MultiPolygon coordinates ([lon, lat] rings;
    exterior counter-clockwise, holes clockwise)."""
    import contourpy

    k = grid.cell_km
    xs = np.concatenate([[0.0], (np.arange(grid.cols) + 0.5) * k, [grid.cols * k]])
    ys = np.concatenate([[0.0], (np.arange(grid.rows) + 0.5) * k, [grid.rows * k]])
    z = np.pad(np.asarray(prob, dtype=float), 1, mode="edge")  # the outer cells reach the grid's edge
    gen = contourpy.contour_generator(xs, ys, z, fill_type="OuterOffset")
    points, offsets = gen.filled(level - 1e-9, np.inf)  # contourpy's lower level is exclusive: P >= level
    west, south, east, north = raster_box(grid)
    polygons = []
    for pts, off in zip(points, offsets):
        lat, lon = grid.to_latlon(pts[:, 0], pts[:, 1])
        # rounded, and kept inside the box (rounding could carry an edge vertex 1e-6 degrees past it)
        ring_pts = np.column_stack([np.clip(np.round(lon, DECIMALS), west, east),
                                    np.clip(np.round(lat, DECIMALS), south, north)])
        polygons.append([ring_pts[a:b].tolist() for a, b in zip(off[:-1], off[1:])])
    return polygons


def features(fm: FolderMap, levels) -> list[dict]:
    return [{"type": "Feature", "properties": {"level": float(level), **fm.properties},
             "geometry": {"type": "MultiPolygon", "coordinates": contour_polygons(fm.prob, fm.grid, level)}}
            for level in levels]


def write_geojson(path: Path, maps: list[FolderMap], levels) -> Path:
    collection = {"type": "FeatureCollection",
                  "name": "P(attacker-held on the last day), contours at " + ", ".join(f"{lv:g}" for lv in levels),
                  "features": [f for fm in maps for f in features(fm, levels)]}
    return write_atomic(path, lambda p: p.write_text(json.dumps(collection, separators=(",", ":"))))


# ------------------------------------------------------------------ GeoTIFF
# GeoTIFF 1.0 keys (OGC 19-008r4): a geographic model, pixels are areas, WGS 84 (EPSG:4326)
GT_MODEL_TYPE, GT_RASTER_TYPE, GEOGRAPHIC_TYPE = 1024, 1025, 2048
MODEL_GEOGRAPHIC, RASTER_PIXEL_IS_AREA, EPSG_WGS84 = 2, 1, 4326
PIXEL_SCALE_TAG, TIEPOINT_TAG, GEOKEY_DIRECTORY_TAG, GDAL_METADATA_TAG = 33550, 33922, 34735, 42112


def _gdal_metadata(maps: list[FolderMap]) -> str:
    """GDAL's metadata tag: a description per band (the option) and the map's properties."""
    items = [f'<Item name="DESCRIPTION" sample="{b}" role="description">{escape(fm.scenario)}</Item>'
             for b, fm in enumerate(maps)]
    for b, fm in enumerate(maps):
        items += [f'<Item name="{key.upper()}" sample="{b}">{escape(str(value))}</Item>'
                  for key, value in fm.properties.items()]
    items.append('<Item name="VALUES">share of replications in which the attacker holds the cell on the last day'
                 '</Item>')
    return "<GDALMetadata>" + "".join(items) + "</GDALMetadata>"


def write_geotiff(path: Path, maps: list[FolderMap]) -> Path:
    """One float32 band per map, north-up, georeferenced in EPSG:4326 with GeoTIFF tags."""
    import tifffile

    grid = maps[0].grid
    west, south, east, north = raster_box(grid)
    dlon, dlat = (east - west) / grid.cols, (north - south) / grid.rows
    bands = np.stack([fm.prob[::-1].astype(np.float32) for fm in maps])  # row 0 is north in a raster
    geokeys = (1, 1, 0, 3, GT_MODEL_TYPE, 0, 1, MODEL_GEOGRAPHIC, GT_RASTER_TYPE, 0, 1, RASTER_PIXEL_IS_AREA,
               GEOGRAPHIC_TYPE, 0, 1, EPSG_WGS84)
    tags = [(PIXEL_SCALE_TAG, "d", 3, (dlon, dlat, 0.0), True),
            (TIEPOINT_TAG, "d", 6, (0.0, 0.0, 0.0, west, north, 0.0), True),
            (GEOKEY_DIRECTORY_TAG, "H", len(geokeys), geokeys, True),
            (GDAL_METADATA_TAG, "s", 0, _gdal_metadata(maps), True)]

    def write(p: Path) -> None:
        tifffile.imwrite(p, bands, photometric="minisblack", planarconfig="separate", extratags=tags,
                         metadata=None)

    return write_atomic(path, write)


# ------------------------------------------------------------------ the folder hooks
def town_table(fm: FolderMap) -> pd.DataFrame:
    from sim.analysis.towns import town_fall_table

    th = fm.grid.theater
    towns = [(s.name, s.lat, s.lon) for s in th.settlements if s.name in fm.grid.settlement_cell]
    table = town_fall_table(fm.runs_frame, towns, horizon=fm.horizon, start=fm.start)
    table.insert(0, "scenario", fm.scenario)
    table.insert(0, "option", fm.option)
    table["horizon_date"] = fm.properties["date"]
    return table


def write_maps(out: Path, maps: list[FolderMap], levels) -> list[Path]:
    """The three GIS files of ``maps`` (one per option) into ``out``."""
    towns = pd.concat([town_table(fm) for fm in maps], ignore_index=True)
    written = [write_geojson(out / GEOJSON, maps, levels),
               write_atomic(out / TOWNS_CSV, lambda p: towns.to_csv(p, index=False))]
    if all(fm.grid.key == maps[0].grid.key for fm in maps):  # one raster needs one grid (theater, cell size)
        written.append(write_geotiff(out / GEOTIFF, maps))
    return written


def write_gis(folder: str | Path, levels=DEFAULT_LEVELS) -> list[Path]:
    """The GIS files of a ``sim run`` results folder (nothing when it holds no replication)."""
    fm = read_folder(Path(folder))
    return write_maps(Path(folder), [fm], levels) if fm is not None else []


def write_comparison_gis(out: Path, folders: dict[str, Path], levels=DEFAULT_LEVELS) -> list[Path]:
    """The GIS files of a comparison: every option's map in one GeoJSON (property ``scenario``), one
    GeoTIFF band each, and one town table."""
    maps = [fm for fm in (read_folder(Path(f)) for f in folders.values()) if fm is not None]
    return write_maps(Path(out), maps, levels) if maps else []


# ------------------------------------------------------------------ a look at the GeoJSON
def plot_contours(folder: str | Path, out: str | Path, zoom_km: float = 45.0) -> Path:
    """The folder's GeoJSON contours, read back from the file as a GIS would, drawn over the base map:
    the README's figure and a check by eye that the file lies where the model's map does."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    from sim.plots.map import draw_base, draw_latlon_ticks
    from sim.plots.run import _save

    folder = Path(folder)
    fm = read_folder(folder)
    grid = fm.grid
    fc = json.loads((folder / GEOJSON).read_text())
    fig, ax = plt.subplots(figsize=(9, 8.5))
    draw_base(ax, grid)
    colours = plt.get_cmap("OrRd")(np.linspace(0.35, 0.95, len(fc["features"])))
    for feature, colour in zip(fc["features"], colours):
        for polygon in feature["geometry"]["coordinates"]:
            rings = [np.column_stack(grid.to_km(np.array(r)[:, 1], np.array(r)[:, 0])) for r in polygon]
            path = MplPath.make_compound_path(*[MplPath(r, closed=True) for r in rings])
            ax.add_patch(PathPatch(path, facecolor=(*colour[:3], 0.28), edgecolor=colour, lw=1.4))
        ax.plot([], [], color=colour, lw=3, label=f"P(attacker-held) ≥ {feature['properties']['level']:g}")
    draw_latlon_ticks(ax, grid)
    cx, cy = grid.to_km(*grid.theater.place_latlon(fm.city))
    ax.set_xlim(float(cx) - zoom_km, float(cx) + zoom_km)
    ax.set_ylim(float(cy) - zoom_km, float(cy) + zoom_km)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    p = fm.properties
    ax.set_title(f"{GEOJSON} of {p['scenario']} ({p['runs']} runs): where the attacker holds on {p['date']} "
                 f"(day {p['horizon_days']})", fontsize=9)
    fig.tight_layout()
    return _save(fig, Path(out))


if __name__ == "__main__":  # python -m sim.plots.gis RESULTS_DIR OUT.png: the README's figure
    import sys

    print(plot_contours(sys.argv[1], sys.argv[2]))
