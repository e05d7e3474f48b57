"""Experiments and sweeps: designs, evaluators, streaming, resume, failures, validation."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.core.errors import InputError
from sim.experiment import Experiment, design, load_experiment
from sim.experiment.evaluators import DaskEvaluator, PoolEvaluator, SerialEvaluator
from sim.experiment.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]
HOLD = ROOT / "scenarios" / "hold_pokrovsk.yaml"


def write_experiment(tmp_path: Path, body: str, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


SMALL = f"""\
name: small
scenarios: [{HOLD}]
sampler: grid
parameters:
  weather.fog_frequency: {{values: [0.05, 0.4]}}
  forces.attacker.personnel: {{values: [100000, 180000]}}
replications: 3
seed: 4
fixed: {{days: 15}}
chunk_runs: 2
outcomes: [encircled, territory_lost_km2, attacker_casualties]
"""


# ------------------------------------------------------------------ designs
def exp_with(sampler: str, **extra) -> Experiment:
    params = {"a.b": {"range": [0.0, 1.0]}, "c.d": {"range": [10.0, 20.0], "integer": True}, "e.f": {"range": [-5.0, 5.0]}}
    if sampler == "grid":
        params = {"a.b": {"values": [1, 2, 3]}, "c.d": {"range": [10.0, 20.0], "levels": 4}}
    return Experiment.model_validate({"name": "x", "scenarios": ["s.yaml"], "sampler": sampler, "parameters": params,
                                      "replications": 1, "outcomes": ["encircled"], **extra})


def test_grid_design_is_every_combination():
    d = design(exp_with("grid"))
    assert len(d) == 3 * 4
    assert sorted(d["a.b"].unique()) == [1, 2, 3]
    assert sorted(d["c.d"].unique()) == [10.0, 13.333333333333334, 16.666666666666668, 20.0]
    assert list(d["point"]) == list(range(12))


@pytest.mark.parametrize("sampler,size", [("lhs", 20), ("sobol", 16 * (3 + 2)), ("morris", 10 * (3 + 1))])
def test_sampled_designs_have_the_right_size_and_stay_in_bounds(sampler, size):
    samples = 20 if sampler == "lhs" else (16 if sampler == "sobol" else 10)
    d = design(exp_with(sampler, samples=samples, seed=3))
    assert len(d) == size
    assert d["a.b"].between(0, 1).all() and d["c.d"].between(10, 20).all() and d["e.f"].between(-5, 5).all()
    assert (d["c.d"] == d["c.d"].round()).all()  # integer knob
    if sampler == "lhs":  # one point in each of the 20 strata of every dimension
        strata = np.floor(d["a.b"].to_numpy() * 20).astype(int)
        assert sorted(strata) == list(range(20))
    assert design(exp_with(sampler, samples=samples, seed=3)).equals(d)  # reproducible


# ------------------------------------------------------------------ validation
def test_shipped_experiments_validate(capsys):
    files = sorted(str(p) for p in (ROOT / "experiments").glob("*.yaml"))
    assert len(files) >= 5
    assert main(["validate", *files]) == 0
    assert capsys.readouterr().out.count("ok:") == len(files)


def _bad(tmp_path, old: str, new: str) -> str:
    path = write_experiment(tmp_path, SMALL.replace(old, new))
    with pytest.raises(InputError) as err:
        load_experiment(path)
    text = str(err.value)
    assert "\n" not in text and str(path) in text
    return text


def test_experiment_errors_name_file_line_and_problem(tmp_path, capsys):
    assert "sampler" in _bad(tmp_path, "sampler: grid", "sampler: gird")
    msg = _bad(tmp_path, "  weather.fog_frequency:", "  weather.fog_frequncy:")
    assert "has no parameter" in msg and ":5:" in msg
    assert "not valid" in _bad(tmp_path, "[0.05, 0.4]", "[0.05, 1.4]")
    assert "did you mean 'encircled'" in _bad(tmp_path, "outcomes: [encircled,", "outcomes: [encirled,")
    assert "replications" in _bad(tmp_path, "replications: 3", "replications: many")
    path = write_experiment(tmp_path, SMALL.replace("replications: 3", "replications: 0"), "bad.yaml")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# ------------------------------------------------------------------ running
@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ref")
    doc = load_experiment(write_experiment(tmp, SMALL))
    runs, status = sweep(doc, tmp / "out", evaluator=SerialEvaluator(), progress=False)
    assert status == "complete"
    return runs


def test_sweep_writes_every_run_with_inputs_and_outcomes(reference):
    assert len(reference) == 4 * 3
    assert (reference["status"] == "ok").all()
    assert {"weather.fog_frequency", "forces.attacker.personnel", "encircled", "territory_lost_km2", "seed"} <= set(reference)
    # common random numbers: replication r has the same seed at every point
    assert reference.groupby("replication")["seed"].nunique().eq(1).all()
    # the knob moves the outcome: more attackers, more ground lost
    lost = reference.groupby("forces.attacker.personnel")["territory_lost_km2"].mean()
    assert lost[180000] > lost[100000]


def test_process_pool_and_dask_local_cluster_give_identical_results(reference, tmp_path):
    doc = load_experiment(write_experiment(tmp_path, SMALL))
    pool, _ = sweep(doc, tmp_path / "pool", evaluator=PoolEvaluator(2), progress=False)
    dask, _ = sweep(doc, tmp_path / "dask", evaluator=DaskEvaluator("local", 2), progress=False)
    pd.testing.assert_frame_equal(pool, reference)
    pd.testing.assert_frame_equal(dask, reference)


def test_a_sweep_killed_and_resumed_equals_an_uninterrupted_one(reference, tmp_path):
    exp = write_experiment(tmp_path, SMALL.replace("replications: 3", "replications: 3\n"))
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(exp), "--out", str(out), "--no-plots"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / "parts").glob("part-*.parquet")):
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = list((out / "parts").glob("part-*.parquet"))
    assert 1 <= len(written) < 6, "kill came too late to test a resume"
    assert main(["sweep", str(exp), "--out", str(out), "--no-plots"]) == 2  # refused without --resume
    assert main(["sweep", str(exp), "--out", str(out), "--resume", "--no-plots"]) == 0
    resumed = pd.read_parquet(out / "runs.parquet")
    pd.testing.assert_frame_equal(resumed, reference)


def test_plot_of_a_sweep_writes_surfaces_prim_and_an_offline_report(reference, tmp_path):
    doc = load_experiment(write_experiment(tmp_path, SMALL))
    folder = tmp_path / "plotted"
    sweep(doc, folder, evaluator=SerialEvaluator(), progress=False)
    assert main(["plot", str(folder)]) == 0
    for fig in ("surfaces.png", "point_distributions.png"):
        assert (folder / fig).stat().st_size > 10_000, fig
    # PRIM: a box drawn, or the reason it is not (never an empty plot)
    prim = json.loads((folder / "prim.json").read_text()) if (folder / "prim.json").exists() else {}
    box = prim.get("hold_pokrovsk", {})
    assert (folder / "prim_hold_pokrovsk.png").exists() != ("not drawn" in box)
    assert "not drawn" not in box or box["not drawn"].startswith("no PRIM box for hold_pokrovsk: ")
    page = (folder / "report.html").read_text()
    assert "data:image/png;base64," in page and "<script" not in page and "https://" not in page
    # 3 replications a point: the page warns; its columns say what, in which unit, and which way is better
    assert "<b>Warning.</b> 3 replications per point" in page
    assert "ground lost, km² (lower is better for the defender)" in page


def test_surfaces_overlay_the_options_on_one_scale_per_outcome(monkeypatch):
    import matplotlib.pyplot as plt

    import sim.plots.sweep as ps
    from sim.analysis.sweep import point_summary

    rng = np.random.default_rng(0)
    rows = [{"scenario": sc, "point": p, "replication": r, "status": "ok", "a.b": a, "c.d": c,
             "encircled": bool(rng.random() < 0.3), "territory_lost_km2": float(rng.normal(50 * k + a, 5)),
             "pokrovsk_fall_day": pd.NA if r == 0 else 10 + p}
            for k, sc in enumerate(["hold", "withdraw"]) for p, (a, c) in enumerate([(1, 5), (2, 5), (1, 9), (2, 9)])
            for r in range(4)]
    runs = pd.DataFrame(rows)
    summary = point_summary(runs, ["a.b", "c.d"], ["encircled", "territory_lost_km2", "pokrovsk_fall_day"], {"hold": 30,
                                                                                                          "withdraw": 30})
    # an event day is compare's restricted mean: the run without the fall counts as the horizon (30)
    first = summary[(summary["scenario"] == "hold") & (summary["point"] == 0)].iloc[0]
    assert first["pokrovsk_fall_day"] == pytest.approx((30 + 3 * 10) / 4) and first["pokrovsk_fall_day_high"] <= 30
    monkeypatch.setattr(ps, "_save", lambda fig, out: fig)
    fig = ps.plot_surfaces(summary, ["a.b", "c.d"], ["encircled", "territory_lost_km2"], Path("x.png"), "t", [30])
    try:
        axes = np.array(fig.axes).reshape(2, 2)          # a row per level of c.d, a column per outcome
        for ax in axes.ravel():
            assert len(ax.get_lines()) == 2              # both options on the same axes
            assert [t for t in ax.get_xticks() if 1 <= t <= 2]   # the swept values, not point numbers
        for j in range(2):
            assert axes[0, j].get_ylim() == axes[1, j].get_ylim()   # one scale per outcome
        assert axes[0, 0].get_ylim() == (-0.02, 1.02)
        assert "c.d = 5" in axes[0, 0].get_title() and "c.d = 9" in axes[1, 0].get_title()
        assert "WARNING: 4 replications per point" in fig._suptitle.get_text()
    finally:
        plt.close(fig)


def test_no_prim_box_when_no_run_is_encircled_says_why(tmp_path, capsys):
    doc = load_experiment(write_experiment(tmp_path, SMALL.replace("fixed: {days: 15}", "fixed: {days: 3}")))
    folder = tmp_path / "short"
    sweep(doc, folder, evaluator=SerialEvaluator(), progress=False)
    assert main(["plot", str(folder)]) == 0
    prim = json.loads((folder / "prim.json").read_text())
    assert prim["hold_pokrovsk"]["not drawn"].startswith("no PRIM box for hold_pokrovsk: encirclement in none of its 12")
    assert not list(folder.glob("prim_*.png"))
    assert "no PRIM box for hold_pokrovsk" in capsys.readouterr().out


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
    import sim.experiment.replication as replication

    real = replication.run_one

    def flaky(spec, theater, root, index):
        if spec.weather.fog_frequency > 0.3 and index == 1:
            raise RuntimeError("synthetic failure")
        return real(spec, theater, root, index)

    monkeypatch.setattr(replication, "run_one", flaky)
    doc = load_experiment(write_experiment(tmp_path, SMALL))
    runs, status = sweep(doc, tmp_path / "out", evaluator=SerialEvaluator(), progress=False)
    failed = runs[runs["status"] == "failed"]
    assert len(runs) == 12 and len(failed) == 2
    assert (failed["replication"] == 1).all() and failed["error"].str.contains("synthetic failure").all()
    assert status == "complete"


def test_sobol_indices_of_an_outcome_no_input_moves_are_a_note_not_an_empty_figure(tmp_path, capsys):
    """Three days are too short for any encirclement: its Sobol indices would be NaN bars, so a note says why;
    ground lost moves, and is drawn."""
    body = f"""\
name: tiny_sobol
scenarios: [{HOLD}]
sampler: sobol
samples: 4
parameters:
  weather.fog_frequency: {{range: [0.05, 0.35]}}
  forces.defender.personnel: {{range: [35000, 55000]}}
replications: 1
seed: 3
fixed: {{days: 3}}
outcomes: [encircled, territory_lost_km2]
"""
    folder = tmp_path / "sobol"
    sweep(load_experiment(write_experiment(tmp_path, body)), folder, evaluator=SerialEvaluator(), progress=False)
    assert main(["plot", str(folder)]) == 0
    assert "no sobol indices for encircled (hold_pokrovsk): it is False in every run" in capsys.readouterr().out
    assert not (folder / "sobol_hold_pokrovsk_encircled.png").exists()
    assert (folder / "sobol_hold_pokrovsk_territory_lost_km2.png").stat().st_size > 10_000
    page = (folder / "report.html").read_text()
    assert "<h2>Not drawn</h2>" in page and "no sobol indices for encircled" in page
