"""Fronts from data: DeepState's occupied area as the model's front.

The shipped files (sim/theater/data/deepstate/README.md) and their
rasteriser (sim/theater/record.py): the dates, the latest-file rule, which
cells fall inside, holes, and one clear line for a bad user file.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from sim.core.errors import InputError
from sim.theater import build_grid, load_theater
from sim.theater import record

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def grid():
    return build_grid(load_theater("pokrovsk"), 1.0)


def write_geojson(path: Path, polygons: list) -> Path:
    """A DeepState-like file: one feature, a MultiPolygon of ``polygons`` (lists of [lon, lat] rings)."""
    feature = {"type": "Feature", "properties": {}, "geometry": {"type": "MultiPolygon", "coordinates": polygons}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def square(lon0, lat0, lon1, lat1):
    return [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]


# ---------------------------------------------------------------------------------------- the files
def test_the_files_span_the_record_and_carry_attribution():
    dates = record.occupied_dates()
    assert dates[0] == dt.date(2024, 7, 8) and dates[-1] == dt.date(2025, 11, 11)
    assert len(dates) == 487 and dates == sorted(dates)
    readme = (record.DEEPSTATE_DIR / "README.md").read_text()
    assert "DeepState map, via cyterat/deepstate-map-data" in readme


def test_a_missing_day_takes_the_latest_file_before_it():
    dates = set(record.occupied_dates())
    gap = next(d for d in (dt.date(2024, 7, 8) + dt.timedelta(n) for n in range(500)) if d not in dates)
    before = max(d for d in dates if d < gap)
    assert record.occupied_file(gap)[0] == before
    assert record.occupied_geometry(gap) is record.occupied_geometry(before)


def test_a_date_before_the_record_names_the_first_file():
    with pytest.raises(InputError, match="2024-07-08"):
        record.occupied_geometry(dt.date(2024, 1, 1))


def test_occupied_area_matches_the_readme_figures(grid):
    """README: 4,423 km² on 14 Jan 2025 and 6,268 km² on 11 Nov 2025 inside the box (1 km cells: within 2%)."""
    for date, km2 in ((dt.date(2025, 1, 14), 4423), (dt.date(2025, 11, 11), 6268)):
        area = record.area_km2(record.occupied_mask(grid, date), grid.cell_km)
        assert area == pytest.approx(km2, rel=0.02)


def test_towns_are_on_the_side_the_record_puts_them(grid):
    """FACTS.md s.4: Selydove and Kurakhove fell in autumn 2024; Pokrovsk's centre is outside the
    occupied polygon on 14 Jan 2025; Dobropillia and Kramatorsk are never inside."""
    theater = grid.theater
    jan, nov = record.occupied_mask(grid, "2025-01-14"), record.occupied_mask(grid, "2025-11-11")
    for town, in_jan, in_nov in (("Selydove", True, True), ("Kurakhove", True, True), ("Pokrovsk", False, None),
                                 ("Dobropillia", False, False), ("Kramatorsk", False, False)):
        r, c = grid.settlement_cell[town]
        assert jan[r, c] == in_jan, town
        if in_nov is not None:
            assert nov[r, c] == in_nov, town
    assert theater.name == "pokrovsk"


def test_the_front_only_advances_over_a_year(grid):
    jan, nov = record.occupied_mask(grid, "2025-01-14"), record.occupied_mask(grid, "2025-11-11")
    assert nov.sum() > jan.sum()
    assert (jan & ~nov).sum() < 0.02 * jan.sum()  # a few edge cells retaken or redrawn, no more


def test_mask_is_cached_and_read_only(grid):
    mask = record.occupied_mask(grid, "2025-06-01")
    assert record.occupied_mask(grid, "2025-06-01") is mask
    with pytest.raises(ValueError):
        mask[0, 0] = True


# -------------------------------------------------------------------------------- a user's file
def test_a_user_file_rasterises_with_its_hole(tmp_path, grid):
    """A square around Pokrovsk with a hole around the town centre: the ring in, the centre out."""
    pok = grid.theater.settlement("Pokrovsk")
    outer = square(pok.lon - 0.1, pok.lat - 0.06, pok.lon + 0.1, pok.lat + 0.06)
    hole = square(pok.lon - 0.02, pok.lat - 0.015, pok.lon + 0.02, pok.lat + 0.015)
    path = write_geojson(tmp_path / "front.geojson", [[outer, hole]])
    geometry = record.load_geojson_geometry(path)
    assert len(geometry) == 1 and len(geometry[0]) == 2
    mask = record.geometry_mask(grid, geometry)
    r, c = grid.settlement_cell["Pokrovsk"]
    assert not mask[r, c] and mask[r, c + 5] and mask[r + 4, c]
    assert not mask[grid.settlement_cell["Kramatorsk"]]
    # about 15 x 13 km minus 3 x 3.3 km (1 km cells, edges rounded)
    assert 150 < mask.sum() < 200


@pytest.mark.parametrize("text, words", [
    ("{not json", "not valid JSON"),
    ('{"type": "Point", "coordinates": [37, 48]}', "Polygon or MultiPolygon"),
    ('{"type": "Polygon", "coordinates": [[[37, 48], [37.1, 48]]]}', "at least 4"),
    ('{"type": "Polygon", "coordinates": [[[370, 48], [37.1, 48], [37.1, 48.1], [370, 48]]]}', "lon in -180..180"),
    ('[1, 2]', "GeoJSON object"),
])
def test_a_bad_user_file_is_one_line_naming_the_file(tmp_path, text, words):
    path = tmp_path / "bad.geojson"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        record.load_geojson_geometry(path)
    assert words in str(err.value) and str(path.resolve()) in str(err.value) and "\n" not in str(err.value)


def test_a_missing_user_file_says_so(tmp_path):
    with pytest.raises(InputError, match="not found"):
        record.load_geojson_geometry(tmp_path / "nope.geojson")


def test_the_shipped_files_install_with_the_package():
    text = (REPO / "pyproject.toml").read_text()
    assert "data/deepstate/*.geojson" in text
    assert np.all([p.stat().st_size > 0 for p in record.DEEPSTATE_DIR.glob("*.geojson")])
