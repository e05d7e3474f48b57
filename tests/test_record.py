"""The record as a test bench: the scoring arithmetic, the fall-day rule, the hindcasts' scores."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import hindcast
from sim.analysis import skill
from sim.cli import main
from sim.core.errors import InputError
from sim.outcomes import fall_day_column
from sim.theater import build_grid, load_scenario, theater_of
from sim.theater import record
from sim.theater.grid import ATTACKER, CONTESTED, DEFENDER
from tests.conftest import MINI, build_model

ALL = np.ones((2, 3), bool)
REAL_START = np.array([[1, 1, 0], [0, 0, 0]], bool)   # the attacker holds two cells at D
REAL_END = np.array([[1, 1, 1], [1, 0, 0]], bool)     # and takes two more by D + h


def runs_of(*grids):
    return np.stack([np.asarray(g, bool) for g in grids])


def front(model_end, model_start=None, window=ALL, cell_area=1.0):
    start = runs_of(REAL_START, REAL_START) if model_start is None else model_start
    return skill.score_front(start, model_end, REAL_START, REAL_END, window, cell_area)


# ------------------------------------------------------------------ Brier and skill
def test_brier_is_the_mean_squared_error_over_the_window():
    p = np.array([[0.5, 0.5, 0.5], [0.5, 0.0, 1.0]])
    o = np.array([[1, 0, 1], [0, 0, 0]], bool)
    assert skill.brier(p, o, ALL) == pytest.approx((4 * 0.25 + 0 + 1) / 6)
    window = np.array([[1, 1, 1], [0, 0, 0]], bool)
    assert skill.brier(p, o, window) == pytest.approx(0.25)   # the cells outside the window do not count


def test_a_perfect_forecast_has_skill_one():
    s = front(runs_of(REAL_END, REAL_END))
    assert s["brier_model"] == 0.0
    assert s["brier_skill"] == 1.0


def test_persistence_has_skill_zero():
    s = front(runs_of(REAL_START, REAL_START))
    assert s["brier_persistence"] == pytest.approx(2 / 6)   # two of six cells changed hands
    assert s["brier_skill"] == pytest.approx(0.0)


def test_a_forecast_that_moves_the_wrong_way_has_negative_skill():
    wrong = np.array([[1, 1, 0], [0, 1, 1]], bool)   # advances east instead of north-west
    s = front(runs_of(wrong, wrong))
    assert s["brier_skill"] < 0
    assert s["brier_skill"] == pytest.approx(1 - (4 / 6) / (2 / 6))


def test_a_forecast_halfway_between_is_scored_by_its_probabilities():
    s = front(runs_of(REAL_END, REAL_START))   # half the runs right, half "nothing moves"
    assert s["brier_model"] == pytest.approx(2 * 0.25 / 6)
    assert s["brier_skill"] == pytest.approx(0.75)


def test_skill_is_empty_when_nothing_moved():
    assert math.isnan(skill.brier_skill(0.1, 0.0))


def test_ground_taken_model_against_real_in_square_km():
    grown = np.array([[1, 1, 1], [1, 1, 1]], bool)
    s = front(runs_of(REAL_START, grown, grown), model_start=runs_of(REAL_START, REAL_START, REAL_START), cell_area=4.0)
    assert s["ground_taken_real_km2"] == 8.0
    assert s["ground_taken_model_km2"] == 16.0             # median of 0, 16, 16
    assert (s["ground_taken_model_p05"], s["ground_taken_model_p95"]) == (0.0, 16.0)
    assert s["ground_taken_ratio"] == 2.0


def test_the_window_is_the_agglomeration_box():
    w = skill.AGGLOMERATION
    assert w.contains(48.28, 37.18)                     # Pokrovsk
    assert not w.contains(48.73, 37.57)                 # Kramatorsk
    assert not w.contains(47.98, 37.28)                 # Kurakhove


# ------------------------------------------------------------------ capture days
def test_a_towns_capture_day_counts_runs_without_a_fall_as_later():
    s = skill.score_town([10.0, 20.0, np.nan, np.nan, 30.0], real_day=25.0)
    assert s["model"] == 30.0
    assert s["model_p05"] == 10.0
    assert math.isinf(s["model_p95"])
    assert s["share_fallen_in_run"] == pytest.approx(0.6)
    assert s["share_fallen_by_real"] == pytest.approx(0.4)
    from_parquet = pd.Series([10, 20, None, None, 30], dtype="Int64")   # runs.parquet's empty days
    assert skill.score_town(from_parquet, real_day=25.0) == s
    assert math.isnan(skill.score_town([10.0], real_day=np.nan)["share_fallen_by_real"])
    assert math.isnan(skill.score_town([10.0], real_day=200.0, run_days=120)["share_fallen_by_real"])


def test_first_day_inside():
    assert skill.first_day_inside([0, 0, 1, 0, 1]) == 2.0
    assert math.isnan(skill.first_day_inside([0, 0, 0]))


# ------------------------------------------------------------------ the fall-day rule in the model
@pytest.fixture(scope="module")
def mini_doc():
    return load_scenario(MINI)


def test_a_settlement_falls_the_first_day_its_centre_cell_is_attacker_held(mini_doc):
    m = build_model(mini_doc, days=5)
    rec = m.recorder
    town = next(n for n in rec.settlements if m.initial_control[m.grid.settlement_cell[n]] == DEFENDER)
    cell = m.grid.settlement_cell[town]
    held_at_start = [n for n in rec.settlements if m.initial_control[m.grid.settlement_cell[n]] == ATTACKER]

    m.steps = 1
    m.control[cell] = CONTESTED                       # contested is not held
    rec.record(m)
    assert rec.outcome_row(m)[fall_day_column(town)] is None
    m.steps = 2
    m.control[cell] = ATTACKER
    rec.record(m)
    m.steps = 3
    m.control[cell] = DEFENDER                        # retaken: the first fall day stays
    rec.record(m)
    row = rec.outcome_row(m)
    assert row[fall_day_column(town)] == 2
    assert all(row[fall_day_column(n)] == 0 for n in held_at_start)
    assert {c for c in row if c.startswith("fall_day.")} == {fall_day_column(n) for n in m.grid.settlement_cell}


def test_snapshots_only_on_the_days_asked(mini_doc):
    m = build_model(mini_doc, days=4)
    m.recorder.request_snapshots([0, 2], m)
    start = m.control == ATTACKER
    m.step()
    m.step()
    on_day_two = m.control == ATTACKER
    m.run()
    assert sorted(m.recorder.snapshots) == [0, 2]
    assert np.array_equal(m.recorder.snapshots[0], start)
    assert np.array_equal(m.recorder.snapshots[2], on_day_two)


def test_runs_parquet_has_a_fall_day_per_settlement(mini_doc, tmp_path):
    out = tmp_path / "run"
    assert main(["run", str(MINI), "--runs", "2", "--seed", "1", "--out", str(out), "--no-plots", "--set", "days=3"]) == 0
    runs = pd.read_parquet(out / "runs.parquet")
    names = [s.name for s in theater_of(mini_doc).settlements]
    assert all(fall_day_column(n) in runs for n in names)
    columns = [fall_day_column(n) for n in names]
    assert all(str(runs[c].dtype) == "Int64" for c in columns)     # whole days, empty if never
    days = runs[columns].astype("Float64").to_numpy(float, na_value=np.nan)
    assert np.all(np.isnan(days) | ((days >= 0) & (days <= 3)))
    assert np.isnan(days).any() and (days == 0).any()


# ------------------------------------------------------------------ scoring against the record
@pytest.fixture(scope="module")
def grid():
    return build_grid(theater_of(load_scenario(hindcast.BASE_SCENARIO.parent / "hindcast_2025.yaml")), 1.0)


def test_horizons_stop_at_the_records_last_day():
    assert hindcast.record_end() == dt.date(2025, 11, 11)
    assert hindcast.horizons_in_record(dt.date(2025, 1, 14)) == [30, 60, 120]
    assert hindcast.horizons_in_record(dt.date(2025, 9, 1)) == [30, 60, 71]


def test_a_model_that_reproduces_the_record_scores_perfectly(grid):
    start = dt.date(2025, 4, 1)
    snapshots = {d: np.stack([record.occupied_mask(grid, start + dt.timedelta(days=d))] * 3) for d in (0, 30, 120)}
    towns = ["Pokrovsk", "Selydove", "Udachne"]
    real = hindcast.real_capture_days(grid.theater, towns, start)
    runs = pd.DataFrame({fall_day_column(t): [real[t] if real[t] <= 120 else np.nan] * 3 for t in towns})
    scores = hindcast.score_hindcast(start, snapshots, runs, grid, towns=towns)
    fronts = scores[scores["target"] == "brier_skill"]
    assert list(fronts["horizon_days"]) == [30, 120]
    assert (fronts["model"] == 1.0).all() and (fronts["brier_start"] == 0.0).all()
    ground = scores[scores["target"] == "ground_taken_km2"]
    assert np.allclose(ground["model"], ground["real"]) and (ground["real"] > 0).all()
    capture = scores[scores["target"] == "capture_day"].set_index("town")
    assert "Selydove" not in capture.index          # occupied since Oct 2024: nothing to forecast
    for town in capture.index:
        expected = real[town] if real[town] <= 120 else math.inf
        assert capture.loc[town, "model"] == expected


def test_persistence_as_the_model_scores_zero_and_horizons_beyond_the_record_are_not_scored(grid):
    start = dt.date(2025, 9, 1)
    still = np.stack([record.occupied_mask(grid, start)] * 2)
    scores = hindcast.score_hindcast(start, {0: still, 30: still, 120: still}, pd.DataFrame(), grid, towns=[])
    assert list(scores["horizon_days"].unique()) == [30]      # 1 Sep + 120 days lies after 11 Nov 2025
    assert scores.loc[scores["target"] == "brier_skill", "model"].iloc[0] == pytest.approx(0.0)


def test_several_start_dates_score_as_one_table(grid):
    results = {}
    for start in (dt.date(2025, 1, 14), dt.date(2025, 7, 1)):
        still = np.stack([record.occupied_mask(grid, start)] * 2)
        results[start] = ({0: still, 30: still}, pd.DataFrame())
    scores = hindcast.score_hindcasts(results, grid)
    assert list(scores.columns) == list(hindcast.TARGET_COLUMNS)
    assert sorted(set(scores["start_date"])) == sorted(results)
    assert (scores.loc[scores["target"] == "ground_taken_km2", "model"] == 0).all()


def test_real_capture_days_follow_the_record(grid):
    days = hindcast.real_capture_days(grid.theater, ["Selydove", "Dobropillia", "Pokrovsk"], dt.date(2025, 4, 1))
    assert days["Selydove"] == 0.0                  # claimed 29 Oct 2024 (SOURCES.md s.4)
    assert math.isnan(days["Dobropillia"])          # defender-held to 11 Nov 2025 (SOURCES.md s.4)
    assert 0 < days["Pokrovsk"] <= (dt.date(2025, 11, 11) - dt.date(2025, 4, 1)).days


def test_hindcasts_are_the_same_on_any_number_of_workers():
    doc = hindcast.load_hindcast(dt.date(2025, 7, 1), horizons=(3,))
    one, snaps_one = hindcast.run_hindcast(doc, runs=3, seed=5, workers=1, horizons=(3,))
    two, snaps_two = hindcast.run_hindcast(doc, runs=3, seed=5, workers=2, horizons=(3,))
    pd.testing.assert_frame_equal(one, two)
    assert sorted(snaps_one) == [0, 3]
    assert all(np.array_equal(snaps_one[d], snaps_two[d]) for d in snaps_one)


def test_a_hindcast_set_reaches_the_start_front():
    start = dt.date(2025, 7, 1)
    runs = {band: hindcast.run_hindcast(hindcast.load_hindcast(start, horizons=(1,), sets=[f"front.contested_band_km={band}"]),
                                        runs=1, seed=0, horizons=(1,))[0] for band in (0.0, 3.0)}
    assert not runs[0.0].equals(runs[3.0])


def test_an_unknown_start_date_is_one_clear_error():
    with pytest.raises(InputError, match="no hindcast scenario starts on 2025-05-05"):
        hindcast.load_hindcast(dt.date(2025, 5, 5))


def test_bad_record_runs_is_one_line_exit_two(tmp_path, capsys):
    assert main(["validate-model", "--out", str(tmp_path), "--record-runs", "-1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--record-runs" in err[0]


def test_validate_model_writes_the_record_table_and_figures(tmp_path):
    out: Path = tmp_path / "val"
    assert main(["validate-model", "--out", str(out), "--record-only", "--record-runs", "1"]) == 0
    scores = pd.read_csv(out / "record" / "record_scores.csv")
    assert set(scores["start_date"]) == {"2025-01-14", "2025-04-01", "2025-07-01", "2025-09-01"}
    fronts = scores[scores["target"] == "brier_skill"]
    assert fronts["brier_persistence"].gt(0).all()
    by_start = fronts.groupby("start_date")["horizon_days"].apply(list).to_dict()
    assert by_start == {"2025-01-14": [30, 60, 120, 180, 240, 300], "2025-04-01": [30, 60, 120],
                        "2025-07-01": [30, 60, 120], "2025-09-01": [30, 60, 71]}     # the long hindcast to the record's end
    for start in ("2025-01-14", "2025-04-01", "2025-07-01", "2025-09-01"):
        assert (out / "record" / f"record_{start}.png").stat().st_size > 10_000
    text = (out / "record" / "record.md").read_text()
    assert "skill" in text and "Pokrovsk" in text


def test_validate_model_replaces_its_record_section(tmp_path, monkeypatch):
    from sim import commands
    from sim.plots import record as report

    calls = []
    monkeypatch.setattr(commands.hindcast, "run_and_score", lambda start, **kw: calls.append(start) or _perfect_scores(start))
    (tmp_path / "validation.md").write_text("# Validation\n\nearlier sections\n")
    for _ in range(2):
        commands.validate_record(tmp_path, runs=1, seed=0, workers=1, command="test", starts=(dt.date(2025, 7, 1),))
    text = (tmp_path / "validation.md").read_text()
    assert text.count(report.SECTION_TITLE) == 1 and text.startswith("# Validation\n\nearlier sections")
    assert len(calls) == 2


def _perfect_scores(start):
    grid = build_grid(theater_of(load_scenario(hindcast.BASE_SCENARIO.parent / "hindcast_2025.yaml")), 1.0)
    snapshots = {d: np.stack([record.occupied_mask(grid, start + dt.timedelta(days=d))]) for d in (0, 30)}
    runs = pd.DataFrame({fall_day_column("Pokrovsk"): [np.nan]})
    return hindcast.score_hindcast(start, snapshots, runs, grid, towns=["Pokrovsk"]), runs, snapshots, grid
