"""Calibration by history matching (sim calibrate) and the posterior (--posterior, the scenario key)."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibrate import implausibility, judge, load_campaign, model_moments
from sim.cli import main
from sim.posterior import load_posterior

ROOT = Path(__file__).resolve().parents[1]
HOLD = ROOT / "scenarios" / "hold_pokrovsk.yaml"
WITHDRAW = ROOT / "scenarios" / "withdraw_kramatorsk_sloviansk.yaml"

TINY = f"""\
name: tiny
scenarios: [{HOLD}]
sampler: lhs
parameters:
  combat.advance_max_per_day: {{range: [0.2, 0.6]}}
  combat.terrain_mobility.urban: {{range: [0.25, 0.7]}}
samples: 4
replications: 2
seed: 3
chunk_runs: 2
fixed: {{days: 4}}
calibration:
  waves: 2
  targets:
    - name: ground
      scenario: hold_pokrovsk
      statistic: territory_lost_km2
      observed: 0
      observed_sd: 15
      discrepancy_sd: 15
      reason: a made-up target for a tiny test of the machinery
    - name: window
      scenario: hold_pokrovsk
      statistic: ground_taken_km2
      horizon: 3
      observed: 0
      observed_sd: 15
      discrepancy_sd: 15
      reason: a made-up target in the agglomeration window, by day 3
"""

POSTERIOR = """\
posterior: {campaign: by hand, runs: 0}
parameters: [combat.advance_max_per_day, combat.terrain_mobility.urban]
sets:
  - [0.31, 0.33]
  - [0.57, 0.66]
  - [0.44, 0.52]
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ------------------------------------------------------------------ the arithmetic
def test_implausibility_on_hand_numbers():
    # |300 - 325| / sqrt(25 + 100 + 225) = 25 / 18.708
    assert implausibility(300, 325, 25, 100, 225) == pytest.approx(1.33631, abs=1e-5)
    assert implausibility(340, 325, 9, 0, 16) == pytest.approx(3.0)
    assert implausibility(math.nan, 325, 9, 0, 16) == math.inf  # a point that cannot be judged is not kept
    mean, var = model_moments(np.array([10.0, 12.0, 14.0, 16.0]))
    assert mean == 13 and var == pytest.approx(20 / 3 * 1.25)  # s^2 (1 + 1/R)


def test_judge_keeps_points_below_the_cutoff_and_censors_missing_days(tmp_path):
    text = TINY.split("    - name: window")[0]  # one target
    text = text.replace("statistic: territory_lost_km2", "statistic: pokrovsk_fall_day").replace("observed: 0", "observed: 4", 1)
    text = text.replace("observed_sd: 15", "observed_sd: 2").replace("discrepancy_sd: 15", "discrepancy_sd: 2")
    campaign = load_campaign(_write(tmp_path / "c.yaml", text))
    knobs = {"combat.advance_max_per_day": 0.3, "combat.terrain_mobility.urban": 0.4}
    rows = [dict(scenario="hold_pokrovsk", point=p, replication=r, status="ok", pokrovsk_fall_day=d, **knobs)
            for p, days in ((0, (3, 5)), (1, (None, None)), (2, (40, 44))) for r, d in enumerate(days)]
    points = judge(pd.DataFrame(rows), campaign).set_index("point")
    # point 0: mean 4, s^2 = 2, Var_model = 3; I = 0
    assert points.loc[0, "ground:E"] == 4 and points.loc[0, "ground:var_model"] == pytest.approx(3)
    # point 1 never fell in a 4-day run: both count as day 5; Var_model 0: I = 1 / sqrt(4 + 4)
    assert points.loc[1, "ground:E"] == 5 and points.loc[1, "ground:I"] == pytest.approx(1 / math.sqrt(8))
    # point 2: mean 42, Var_model 8 * 1.5 = 12: I = 38 / sqrt(4 + 4 + 12) = 8.50, implausible
    assert points.loc[2, "ground:I"] == pytest.approx(38 / math.sqrt(20))
    assert points["kept"].tolist() == [True, True, False]


def test_the_second_largest_implausibility_forgives_one_target_and_no_more(tmp_path):
    """implausibility_order 2 keeps a point that misses one target, never one that misses two."""
    text = TINY.replace("statistic: territory_lost_km2", "statistic: pokrovsk_fall_day").replace("horizon: 3", "horizon: 3")
    text = text.replace("statistic: ground_taken_km2\n      horizon: 3", "statistic: encirclement_day")
    text = text.replace("  waves: 2\n", "  waves: 2\n  implausibility_order: ORDER\n")
    knobs = {"combat.advance_max_per_day": 0.3, "combat.terrain_mobility.urban": 0.4}
    # observed 0 (sd 15 and 15) for both: 100 is implausible (I = 100 / sqrt(450) = 4.7), 1 is not
    days = {0: (1, 1), 1: (100, 1), 2: (100, 100)}  # point: (fall day, encirclement day)
    rows = [dict(scenario="hold_pokrovsk", point=p, replication=r, status="ok", pokrovsk_fall_day=f,
                 encirclement_day=e, **knobs) for p, (f, e) in days.items() for r in range(2)]
    kept = {}
    for order in (1, 2):
        campaign = load_campaign(_write(tmp_path / f"c{order}.yaml", text.replace("ORDER", str(order))))
        kept[order] = judge(pd.DataFrame(rows), campaign)["kept"].tolist()
    assert kept[1] == [True, False, False]
    assert kept[2] == [True, True, False]


# ------------------------------------------------------------------ a tiny campaign
@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("campaign")
    path = _write(tmp / "tiny.yaml", TINY)
    assert main(["calibrate", str(path), "--out", str(tmp / "out")]) == 0
    return tmp / "out"


def test_a_tiny_campaign_writes_waves_report_and_a_posterior(reference):
    points = pd.read_csv(reference / "points.csv")
    assert sorted(points["wave"].unique()) == [1, 2] and len(points) == 8
    post = load_posterior(reference / "posterior.yaml")
    assert post.header["campaign"] == "tiny" and post.header["runs"] == 16
    assert len(post.sets) == int(points["kept"].sum()) >= 1
    kept = points[points["kept"]]
    assert np.allclose(sorted(post.column("combat.advance_max_per_day")),
                       sorted(kept["combat.advance_max_per_day"]), rtol=1e-5)
    assert (kept["I_max"] < 3).all() and (points.loc[~points["kept"], "I_max"] >= 3).all()
    # wave 2 samples inside the box of what wave 1 kept (widened by a tenth a side)
    w1 = points[(points["wave"] == 1) & points["kept"]]["combat.advance_max_per_day"]
    w2 = points[points["wave"] == 2]["combat.advance_max_per_day"]
    pad = 0.1 * (w1.max() - w1.min())
    assert w2.min() >= w1.min() - pad - 1e-9 and w2.max() <= w1.max() + pad + 1e-9
    report = (reference / "report.md").read_text()
    assert "| 1 | 4 | 8 | 0 |" in report and "a made-up target" in report
    # the posterior's spread: every run of every kept point
    runs = pd.concat([pd.read_parquet(reference / f"wave-{w}" / "runs.parquet").assign(wave=w) for w in (1, 2)])
    kept_runs = runs.merge(kept[["wave", "point"]], on=["wave", "point"])
    lo, mid, hi = np.quantile(kept_runs["territory_lost_km2"], [0.05, 0.5, 0.95])
    assert f"| {mid:.4g} ({lo:.4g}-{hi:.4g}) |" in report
    # the window target is measured at every point
    assert np.isfinite(points["window:E"]).all() and "ground_taken_km2@3" in report


def test_a_campaign_killed_and_resumed_equals_an_uninterrupted_one(reference, tmp_path):
    path = _write(tmp_path / "tiny.yaml", TINY)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "calibrate", str(path), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list(out.glob("wave-1/parts/part-*.parquet")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "posterior.yaml").exists(), "kill came too late to test a resume"
    assert main(["calibrate", str(path), "--out", str(out)]) == 2  # refused without --resume
    assert main(["calibrate", str(path), "--out", str(out), "--resume"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "points.csv"), pd.read_csv(reference / "points.csv"))
    assert load_posterior(out / "posterior.yaml").sets == load_posterior(reference / "posterior.yaml").sets


def test_a_campaign_that_keeps_nothing_says_so_and_writes_no_posterior(tmp_path, capsys):
    path = _write(tmp_path / "far.yaml", TINY.replace("observed: 0", "observed: 5000", 1))
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out")]) == 1
    assert "no parameter set is consistent with the targets" in capsys.readouterr().out
    assert not (tmp_path / "out" / "posterior.yaml").exists() and not (tmp_path / "out" / "wave-2").exists()
    assert "| 1 | 4 | 8 | 0 | 0 |" in (tmp_path / "out" / "report.md").read_text()


@pytest.mark.parametrize("old, new, says", [
    ("scenario: hold_pokrovsk", "scenario: hold", "scenario 'hold' is not one of the campaign's"),
    ("statistic: territory_lost_km2", "statistic: ground_lost", "statistic 'ground_lost' is not an outcome"),
    ("horizon: 3", "horizon: 300", "horizon 300 is beyond the scenario's 4 days"),
    ("horizon: 3\n      observed: 0", "horizon: 3\n      observed: record", "beyond the record shipped"),
    ("observed_sd: 15", "observed_sd: -15", "calibration.targets.0.observed_sd"),
    ("      reason: a made-up target for a tiny test of the machinery\n", "", "missing required key 'reason'"),
    ("sampler: lhs", "sampler: grid", "expected lhs"),
])
def test_a_bad_campaign_is_one_line_exit_2(tmp_path, capsys, old, new, says):
    assert old in TINY
    path = _write(tmp_path / "bad.yaml", TINY.replace(old, new))
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and says in err and str(path) in err, err


def test_observed_record_reads_the_ground_taken_in_the_window_from_deepstate(tmp_path):
    hindcast = ROOT / "scenarios" / "hindcast_2025.yaml"
    text = TINY.replace(str(HOLD), str(hindcast)).replace("scenario: hold_pokrovsk", "scenario: hindcast_2025")
    text = text.replace("horizon: 3\n      observed: 0", "horizon: 120\n      observed: record").replace("days: 4", "days: 120")
    campaign = load_campaign(_write(tmp_path / "rec.yaml", text))
    assert campaign.observed["window"] == pytest.approx(108, abs=1)  # issue 15: real 108 km² by day 120


def test_a_campaign_refuses_scenarios_that_draw_from_a_posterior(tmp_path, capsys):
    _write(tmp_path / "post.yaml", POSTERIOR)
    path = _write(tmp_path / "c.yaml", TINY)
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out"), "--set", f"posterior={tmp_path / 'post.yaml'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "would override the parameters being calibrated" in err


def test_the_shipped_campaign_validates(capsys):
    # calibration_tempo.yaml joins this list when the mechanisms it varies (branch mech) are merged
    assert main(["validate", str(ROOT / "experiments" / "calibration_machinery.yaml")]) == 0
    assert "campaign calibration_machinery, 2 waves x 24 points" in capsys.readouterr().out


# ------------------------------------------------------------------ the posterior in sim run / sim compare
def _run(tmp_path: Path, name: str, *extra: str) -> pd.DataFrame:
    out = tmp_path / name
    assert main(["run", str(HOLD), "--runs", "6", "--set", "days=2", "--no-plots", "--out", str(out), *extra]) == 0
    return pd.read_parquet(out / "runs.parquet")


def test_posterior_sets_the_drawn_parameters_deterministically_per_seed(tmp_path):
    post = _write(tmp_path / "post.yaml", POSTERIOR)
    plain = _run(tmp_path, "plain", "--seed", "5")
    first = _run(tmp_path, "a", "--seed", "5", "--posterior", str(post))
    again = _run(tmp_path, "b", "--seed", "5", "--posterior", str(post))
    other = _run(tmp_path, "c", "--seed", "6", "--posterior", str(post))
    assert "posterior_row" not in plain
    sets = load_posterior(post).sets
    for _, r in first.iterrows():  # each replication ran with exactly its row's values
        assert (r["combat.advance_max_per_day"], r["combat.terrain_mobility.urban"]) == sets[r["posterior_row"]]
    assert first["posterior_row"].nunique() > 1
    pd.testing.assert_frame_equal(first, again)
    assert not first["posterior_row"].equals(other["posterior_row"])


def test_the_model_runs_with_the_drawn_set(tmp_path):
    from sim.core.seeding import replication_seed
    from sim.model.model import PokrovskModel
    from sim.theater import load_scenario as load
    from sim.theater import theater_of

    post = _write(tmp_path / "post.yaml", POSTERIOR)
    doc = load(HOLD, [f"posterior={post}"])
    sets = load_posterior(post).sets
    for i in range(4):
        model = PokrovskModel(doc.scenario, replication_seed(5, i), theater_of(doc))
        chosen = sets[model.sampled["posterior_row"]]
        assert (model.spec.combat.advance_max_per_day, model.spec.combat.terrain_mobility["urban"]) == chosen


def test_a_hand_written_whole_number_reaches_the_model_as_its_fields_type(tmp_path):
    """A kept set may say 200 where the field is a float and 7.0 where it is an integer: the model reads
    each as validation would leave it (float, int), as every value of a scenario file."""
    from sim.core.seeding import replication_seed
    from sim.scenario import sample
    from sim.theater import load_scenario as load

    post = _write(tmp_path / "post.yaml", "parameters: [forces.defender.replacements_per_day, "
                  "attacker.reserve_commit_every_days]\nsets:\n- [200, 7.0]\n")
    doc = load(HOLD, [f"posterior={post}"])
    concrete, _ = sample(doc.scenario, replication_seed(5, 0))
    assert type(concrete.forces.defender.replacements_per_day) is float
    assert type(concrete.attacker.reserve_commit_every_days) is int


def test_compare_gives_every_option_the_same_posterior_row(tmp_path):
    post = _write(tmp_path / "post.yaml", POSTERIOR)
    out = tmp_path / "cmp"
    assert main(["compare", str(HOLD), str(WITHDRAW), "--runs", "6", "--seed", "2", "--set", "days=2",
                 "--posterior", str(post), "--out", str(out)]) == 0
    rows = {n: pd.read_parquet(out / n / "runs.parquet").set_index("replication")["posterior_row"]
            for n in ("hold_pokrovsk", "withdraw_kramatorsk_sloviansk")}
    pd.testing.assert_series_equal(rows["hold_pokrovsk"], rows["withdraw_kramatorsk_sloviansk"])
    assert rows["hold_pokrovsk"].nunique() > 1


def test_a_scenario_key_names_a_posterior_relative_to_its_file(tmp_path):
    _write(tmp_path / "post.yaml", POSTERIOR)
    scen = _write(tmp_path / "hold_post.yaml", f"extends: {HOLD}\nname: hold_post\nposterior: post.yaml\n")
    out = tmp_path / "keyed"
    assert main(["run", str(scen), "--runs", "3", "--set", "days=2", "--no-plots", "--out", str(out)]) == 0
    assert set(pd.read_parquet(out / "runs.parquet")["combat.advance_max_per_day"]) <= {0.31, 0.57, 0.44}


@pytest.mark.parametrize("text, says", [
    (POSTERIOR.replace("[0.57, 0.66]", "[0.57]"), "sets.1: expected a list of 2 numbers"),
    (POSTERIOR.replace("[0.57, 0.66]", "[0.57, .nan]"), "sets.1: expected numbers"),
    (POSTERIOR.replace("combat.terrain_mobility.urban]", "combat.no_such_knob]"), "does not fit scenario"),
    (POSTERIOR.replace("[0.57, 0.66]", "[-0.5, 0.66]"), "combat.advance_max_per_day"),
    (POSTERIOR.replace("sets:", "rows:"), "unknown key 'rows'"),
])
def test_a_bad_posterior_is_one_line_exit_2(tmp_path, capsys, text, says):
    post = _write(tmp_path / "post.yaml", text)
    assert main(["run", str(HOLD), "--runs", "1", "--out", str(tmp_path / "o"), "--posterior", str(post)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and says in err and "post.yaml" in err, err
    assert main(["run", str(HOLD), "--runs", "1", "--out", str(tmp_path / "o"),
                 "--posterior", str(tmp_path / "missing.yaml")]) == 2
    assert "not found" in capsys.readouterr().err
