"""Fronts from data: DeepState's occupied area as the model's front.

The shipped files (sim/theater/data/deepstate/README.md) and their
rasteriser (sim/theater/record.py): the dates, the latest-file rule, which
cells fall inside, holes, and one clear line for a bad user file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from sim import cli
from sim.core.errors import InputError
from sim.experiment.replication import run_one
from sim.scenario import replace_values
from sim.theater import ATTACKER, CONTESTED, DEFENDER, build_grid, load_scenario, load_theater, record, theater_of
from sim.theater.front import contested_band

REPO = Path(__file__).resolve().parents[1]
BASE = REPO / "scenarios" / "base.yaml"
MINI = REPO / "tests" / "data" / "mini_scenario.yaml"
FOUR = ndimage.generate_binary_structure(2, 1)


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
    """SOURCES.md s.4: Selydove and Kurakhove fell in autumn 2024; Pokrovsk's centre is outside the
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


# ------------------------------------------------------------------------ the contested band
def test_the_band_is_the_open_ground_beside_the_occupied_area_in_the_sector(grid):
    """docs/ODD.md 6.2: defender-side cells within 1 km (one cell) of the occupied area, in the Pokrovsk
    sector, towns excepted, are contested; nothing else is."""
    occupied = record.occupied_mask(grid, "2025-11-11")
    control = grid.initial_control(dt.date(2025, 11, 11))[1]
    assert ((control == ATTACKER) == occupied).all()
    beside = ndimage.binary_dilation(occupied, structure=FOUR) & ~occupied
    band = beside & grid.sectors["pokrovsk"] & (grid.urban_id < 0)
    contested = control == CONTESTED
    assert not (contested & ~band).any()
    assert contested.sum() >= 0.8 * band.sum() and 100 < contested.sum() < 300
    # every contested cell keeps a defender-held neighbour: the model's collapse rule takes none on day 1;
    # a band cell boxed in by occupied and band cells (a staircase corner, a sliver) stays defender-held
    held = control == DEFENDER
    assert (ndimage.binary_dilation(held, structure=FOUR)[contested]).all()
    assert (control[band & ~contested] == DEFENDER).all()


def test_no_band_at_zero_and_at_least_one_cell_on_a_coarse_grid():
    occupied = np.zeros((9, 9), bool)
    occupied[:3] = True
    assert not contested_band(occupied, 1.0, 0.0).any()
    one = contested_band(occupied, 1.0, 1.0)
    assert one[3].all() and not one[4:].any()
    assert (contested_band(occupied, 2.0, 1.0) == one).all()  # narrower than a cell: still the cells beside
    assert contested_band(occupied, 1.0, 2.0)[4].all() and not contested_band(occupied, 1.0, 2.0)[5].any()


def test_towns_inside_the_band_stay_defender_held_so_the_city_does_not_fall_at_the_start(grid):
    """Pokrovsk on 11 Nov 2025: the record holds 6 of its 25 urban cells; the band would take 7 more
    (more than half), the city would 'fall' on day 1, three weeks before the record's fall."""
    control = grid.initial_control(dt.date(2025, 11, 11))[1]
    city = grid.urban_mask("Pokrovsk")
    assert (control[city] == DEFENDER).sum() >= city.sum() / 2
    assert not (control[city] == CONTESTED).any()


# ------------------------------------------------------------------------ a scenario's own map
def scenario_with_front(tmp_path: Path, front: str, start: str = "2025-11-11") -> Path:
    path = tmp_path / "newer.yaml"
    path.write_text(f"extends: {BASE}\nname: newer\nstart_date: {start}\nfront:\n{front}")
    return path


def test_a_scenario_starts_from_a_newer_map_named_relative_to_it(tmp_path):
    """A user's map of 1 Dec 2025 (here: the record's 11 Nov area plus a square north of Pokrovsk):
    `front: {geojson: ...}` relative to the scenario puts that square in the attacker's hands."""
    pok = load_theater("pokrovsk").settlement("Pokrovsk")
    north = square(pok.lon - 0.03, pok.lat + 0.02, pok.lon + 0.03, pok.lat + 0.05)
    nov = [[ring.tolist() for ring in poly] for poly in record.occupied_geometry("2025-11-11")]
    (tmp_path / "maps").mkdir()
    write_geojson(tmp_path / "maps" / "dec.geojson", nov + [[north]])
    doc = load_scenario(scenario_with_front(tmp_path, "  geojson: maps/dec.geojson\n  date: 2025-12-01\n", "2025-12-01"))
    grid = build_grid(theater_of(doc), 1.0)
    front_date, control = grid.initial_control(doc.scenario.start_date)
    assert front_date == dt.date(2025, 12, 1)
    r, c = grid.cell_of(pok.lat + 0.035, pok.lon)
    assert control[r, c] == ATTACKER
    packaged = build_grid(load_theater("pokrovsk"), 1.0).initial_control(dt.date(2025, 12, 1))[1]
    assert packaged[r, c] != ATTACKER
    assert (control == ATTACKER).sum() > (packaged == ATTACKER).sum()


@pytest.mark.parametrize("front, start, words", [
    ("  geojson: nowhere.geojson\n", "2025-11-11", "front.geojson: front map not found"),
    ("  geojson: deepstate\n", "2024-01-01", "front.geojson: no occupied area at or before 2024-01-01"),
    ("  contested_band_km: 1\n", "2024-01-01", "start_date: no occupied area at or before 2024-01-01"),
    ("  geojson: map.geojson\n", "2025-10-01", "is of 2025-11-11, after the start date 2025-10-01"),
    ("  contested_sector: nowhere\n", "2025-11-11", "front.contested_sector: expected one of the theater's sectors"),
    ("  contested_band_km: -1\n", "2025-11-11", "front.contested_band_km"),
])
def test_a_bad_front_is_one_line_exit_2(tmp_path, capsys, front, start, words):
    (tmp_path / "map.geojson").write_text((record.DEEPSTATE_DIR / "occupied_2025-11-11.geojson").read_text())
    path = scenario_with_front(tmp_path, front, start)
    assert cli.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err and str(path) in err


# ------------------------------------------------------------------------ sim front
def test_sim_front_turns_a_map_into_what_a_scenario_names(tmp_path, capsys):
    """A folder of dated maps and a date -> a clipped, dated GeoJSON and its PNG preview; a scenario
    naming it starts from the same front as the record of that date."""
    out = tmp_path / "sep.geojson"
    assert cli.main(["front", str(record.DEEPSTATE_DIR), "--date", "2025-09-03", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    map_date = record.occupied_file("2025-09-03")[0]
    assert f"front of {map_date} written to {out}" in said and "front: {geojson: sep.geojson}" in said
    assert record.geojson_date(out) == map_date
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    doc = load_scenario(scenario_with_front(tmp_path, "  geojson: sep.geojson\n", "2025-09-03"))
    grid = build_grid(theater_of(doc), 1.0)
    reference = build_grid(load_theater("pokrovsk"), 1.0).initial_control(dt.date(2025, 9, 3))[1]
    assert (grid.initial_control(dt.date(2025, 9, 3))[1] == reference).all()


def test_sim_front_cuts_a_wider_map_to_the_theater(tmp_path, capsys):
    """A map reaching far beyond the box (as DeepState's nationwide layer): the file keeps the theater's part."""
    wide = write_geojson(tmp_path / "wide.geojson", [[square(30.0, 44.0, 40.0, 48.2)]])
    out = tmp_path / "cut.geojson"
    assert cli.main(["front", str(wide), "--date", "2025-12-01", "--out", str(out)]) == 0
    ring = record.load_geojson_geometry(out)[0][0]
    b = load_theater("pokrovsk").bbox
    assert ring[:, 0].min() >= b.west - 0.051 and ring[:, 0].max() <= b.east + 0.051 and ring[:, 1].max() == 48.2


@pytest.mark.parametrize("args, words", [
    (["DIR"], "give --date"),
    (["NOWHERE", "--date", "2025-01-01"], "not found"),
    (["DIR", "--date", "2025-13-01"], "expected a date YYYY-MM-DD"),
    (["FAR", "--date", "2025-01-01"], "no occupied area inside theater 'pokrovsk'"),
])
def test_sim_front_bad_input_is_one_line_exit_2(tmp_path, capsys, args, words):
    far = write_geojson(tmp_path / "far.geojson", [[square(30.0, 44.0, 31.0, 45.0)]])
    names = {"DIR": str(record.DEEPSTATE_DIR), "NOWHERE": str(tmp_path / "x.geojson"), "FAR": str(far)}
    argv = ["front"] + [names.get(a, a) for a in args] + ["--out", str(tmp_path / "o.geojson")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err


@pytest.mark.parametrize("content, words", [
    (None, "front.geojson: GeoJSON file not found"),
    ('{"type": "LineString", "coordinates": [[37, 48], [37.1, 48]]}', "expected Polygon or MultiPolygon"),
    ("FOLDER", "no occupied_YYYY-MM-DD.geojson maps in"),
])
def test_a_theater_whose_front_cannot_be_read_is_one_line(tmp_path, capsys, content, words):
    theater = tmp_path / "mini.yaml"
    theater.write_text((REPO / "tests" / "data" / "mini_theater.yaml").read_text())
    if content == "FOLDER":
        theater.write_text(theater.read_text().replace("geojson: mini_front.geojson", "geojson: maps"))
        (tmp_path / "maps").mkdir()
    elif content is not None:
        (tmp_path / "mini_front.geojson").write_text(content)
    assert cli.main(["validate", str(theater)]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and f"{theater}:" in err and "\n" not in err


def test_an_edited_map_is_read_again(tmp_path):
    """The app and the sweep workers live long: a map edited in place gives the new front, not a cached one."""
    pok = load_theater("pokrovsk").settlement("Pokrovsk")
    path = write_geojson(tmp_path / "map.geojson", [[square(pok.lon - 0.05, pok.lat - 0.03, pok.lon + 0.05, pok.lat)]])
    doc = load_scenario(scenario_with_front(tmp_path, "  geojson: map.geojson\n  date: 2025-11-11\n"))
    grid = build_grid(theater_of(doc), 1.0)
    before = grid.initial_control(dt.date(2025, 11, 11))[1]
    write_geojson(path, [[square(pok.lon - 0.05, pok.lat - 0.03, pok.lon + 0.05, pok.lat + 0.03)]])
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    after = grid.initial_control(dt.date(2025, 11, 11))[1]
    assert (after == ATTACKER).sum() > (before == ATTACKER).sum() + 20


def test_a_sweep_point_can_vary_the_band():
    """A sweep varies scenario values on a theater loaded once: the band a point sets still shapes its start
    (same seed; with the band ignored the two rows would be identical)."""
    doc = load_scenario(MINI)
    theater = theater_of(doc)
    rows = [run_one(replace_values(doc.scenario, {"front.contested_band_km": band, "days": 3}), theater, 0, 0).row
            for band in (0.0, 0.0, 2.0)]
    assert rows[0] == rows[1]
    assert rows[2] != rows[0]
