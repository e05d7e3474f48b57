"""Maps for GIS (sim/plots/gis.py): the files a run and a comparison leave, read back with the libraries a GIS
uses (GDAL through rasterio for the GeoTIFF; json and shapely for the GeoJSON; the CSV with pandas), and
checked against the model's own result files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from shapely.geometry import shape

from sim.cli import main
from sim.outcomes import fall_day_column
from sim.theater import build_grid, load_scenario, theater_of

ROOT = Path(__file__).resolve().parents[1]
HOLD = ROOT / "scenarios" / "hold_pokrovsk.yaml"
DAYS, RUNS = 75, 6  # long enough that Myrnohrad and Rodynske fall on different days in different runs


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gis") / "run"
    assert main(["run", str(HOLD), "--runs", str(RUNS), "--seed", "2", "--out", str(out), "--set", f"days={DAYS}"]) == 0
    return out


def grid_of(folder: Path):
    doc = load_scenario(folder / "scenario.yaml")
    return doc, build_grid(theater_of(doc), doc.scenario.grid.cell_km)


def probability(folder: Path) -> np.ndarray:
    data = np.load(folder / "control.npz")
    return data["attacker_held_count"] / int(data["replications"])


def centres_lonlat(grid, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = grid.cell_centre_km(cells[:, 0], cells[:, 1])
    lat, lon = grid.to_latlon(x, y)
    return lon, lat


def theater_box(grid) -> tuple[float, float, float, float]:
    """The theater's box as the model grids it: the bbox rounded up to whole cells (less than one cell more)."""
    b = grid.theater.bbox
    north, east = (float(v) for v in grid.to_latlon(grid.cols * grid.cell_km, grid.rows * grid.cell_km))
    one_lat, one_lon = (float(v) for v in grid.to_latlon(grid.cell_km, grid.cell_km))
    cell_lat, cell_lon = one_lat - b.south, one_lon - b.west  # one cell, in degrees
    assert b.north <= north < b.north + cell_lat and b.east <= east < b.east + cell_lon
    return b.west, b.south, east, north


def test_run_folder_has_the_three_gis_files(ran):
    for name in ("control_probability.geojson", "control_probability.tif", "town_fall_days.csv"):
        assert (ran / name).stat().st_size > 300, name


def test_geojson_contours_lie_in_the_theater_and_follow_the_runs(ran):
    doc, grid = grid_of(ran)
    west, south, east, north = theater_box(grid)
    fc = json.loads((ran / "control_probability.geojson").read_text())
    assert fc["type"] == "FeatureCollection"
    levels = [f["properties"]["level"] for f in fc["features"]]
    assert levels == [0.1, 0.5, 0.9]
    for f in fc["features"]:
        p = f["properties"]
        assert (p["option"], p["scenario"], p["horizon_days"], p["runs"]) == ("hold", "hold_pokrovsk", DAYS, RUNS)
        assert p["date"] == (doc.scenario.start_date + dt.timedelta(days=DAYS)).isoformat()
        coords = np.array([pt for poly in f["geometry"]["coordinates"] for ring in poly for pt in ring])
        assert coords.size, f"level {p['level']}: no polygon"
        assert (coords[:, 0] >= west).all() and (coords[:, 0] <= east).all()
        assert (coords[:, 1] >= south).all() and (coords[:, 1] <= north).all()
        assert shape(f["geometry"]).is_valid
    prob = probability(ran)
    half = shape(fc["features"][1]["geometry"])
    held, never = np.argwhere(prob > 0.5), np.argwhere(prob == 0)
    assert len(held) > 5 and len(never) > 5  # the map is not trivial
    assert shapely.contains_xy(half, *centres_lonlat(grid, held)).all()
    assert not shapely.contains_xy(half, *centres_lonlat(grid, never)).any()
    # a higher level is ground the attacker holds more surely: inside the lower level's
    areas = [shape(f["geometry"]) for f in fc["features"]]
    assert areas[0].area >= areas[1].area >= areas[2].area
    assert areas[0].buffer(1e-6).contains(areas[2])


def test_geotiff_is_georeferenced_and_holds_the_probability_map(ran):
    doc, grid = grid_of(ran)
    west, south, east, north = theater_box(grid)
    prob = probability(ran)
    with rasterio.open(ran / "control_probability.tif") as ds:
        assert ds.crs.to_epsg() == 4326
        assert (ds.width, ds.height, ds.count) == (grid.cols, grid.rows, 1)
        assert np.allclose(tuple(ds.bounds), (west, south, east, north), atol=1e-9)
        band = ds.read(1)
        assert ds.descriptions[0] == "hold_pokrovsk"
        # a town's pixel, found by its coordinates, is the model's cell of that town
        for town in ("Pokrovsk", "Myrnohrad", "Kramatorsk", "Mezhova"):
            s = grid.theater.settlement(town)
            row, col = ds.index(s.lon, s.lat)
            r, c = grid.cell_of(s.lat, s.lon)
            assert (grid.rows - 1 - row, col) == (r, c)
            assert band[row, col] == pytest.approx(prob[r, c])
    assert np.allclose(band[::-1], prob)


def test_town_csv_matches_runs_parquet(ran):
    doc, grid = grid_of(ran)
    runs = pd.read_parquet(ran / "runs.parquet")
    table = pd.read_csv(ran / "town_fall_days.csv")
    assert set(table["town"]) == set(grid.settlement_cell)
    start, horizon = doc.scenario.start_date, DAYS
    varied = 0
    for _, row in table.iterrows():
        s = grid.theater.settlement(row["town"])
        assert (row["lon"], row["lat"]) == pytest.approx((s.lon, s.lat), abs=1e-6)
        days = pd.to_numeric(runs[fall_day_column(row["town"])], errors="coerce").astype(float)
        assert row["p_fallen_by_horizon"] == pytest.approx(days.notna().mean())
        if pd.isna(row["fall_day_median"]):
            assert (days <= horizon).mean() < 0.5
            continue
        median = row["fall_day_median"]
        # the median day: by it at least half the runs had the town fallen, the day before fewer
        assert (days <= median).mean() >= 0.5 > (days < median).mean()
        assert days.min() <= row["fall_day_p05"] <= median
        assert row["fall_date_median"] == (start + dt.timedelta(days=int(median))).isoformat()
        varied += days.nunique() > 1
    assert varied, "no town falls on different days in different runs: the test checks too little"


def test_map_levels_choose_the_contours_and_bad_levels_are_one_line(ran, tmp_path, capsys):
    assert main(["plot", str(ran), "--map-levels", "0.75,0.25"]) == 0
    fc = json.loads((ran / "control_probability.geojson").read_text())
    assert [f["properties"]["level"] for f in fc["features"]] == [0.25, 0.75]
    capsys.readouterr()
    for bad in ("0,0.5", "1.5", "half", ""):
        assert main(["plot", str(ran), "--map-levels", bad]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "--map-levels" in err
