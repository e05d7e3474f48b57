"""sim robust: regret and worlds won on frames whose answer is known, EVPI on synthetic worlds, the command
end to end on a tiny experiment, and bad input in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis import robust as ra
from sim.cli import main
from sim.outcomes import HIGHER, LOWER, outcome

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
LOWER_O = outcome("territory_lost_km2")     # lower is better for the defender
HIGHER_O = outcome("attacker_casualties")   # higher is better for the defender


def frame(means: dict[int, dict[str, float]], noise: dict[int, dict[str, list[float]]] | None = None,
          reps: int = 3) -> pd.DataFrame:
    """Runs of hand-made worlds: each option's value in a world is its mean plus a shared (common random
    numbers) offset per replication, unless ``noise`` gives the replications' offsets."""
    rows = []
    for world, by_option in means.items():
        for option, mean in by_option.items():
            offsets = (noise or {}).get(world, {}).get(option, [0.1 * (r - 1) for r in range(reps)])
            for r, off in enumerate(offsets):
                value = mean + off
                rows.append({"option": option, "world": world, "replication": r, LOWER_O.name: value,
                             HIGHER_O.name: value})
    return pd.DataFrame(rows)


WORLDS = {0: {"A": 10, "B": 20, "C": 30},
          1: {"A": 50, "B": 20, "C": 30},
          2: {"A": 10, "B": 12, "C": 40},
          3: {"A": 10, "B": 10, "C": 10},     # a tie: too close to call
          4: {"A": 10, "B": 11, "C": 60}}     # B - A = 1 with paired noise of sd 10: too close to call
NOISE = {4: {"A": [-5, 0, 5], "B": [5, 0, -5], "C": [0, 0, 0]}}


def test_regret_is_the_distance_to_the_best_of_the_world_lower_is_better():
    values = frame(WORLDS, NOISE)
    reg = ra.regret(ra.world_means(values, LOWER_O), LOWER)
    assert reg.loc[0].tolist() == pytest.approx([0, 10, 20])
    assert reg.loc[1].tolist() == pytest.approx([30, 0, 10])
    assert reg.loc[2].tolist() == pytest.approx([0, 2, 30])
    assert reg.loc[3].tolist() == pytest.approx([0, 0, 0])


def test_minimax_regret_and_worlds_won_lower_is_better():
    table = ra.option_summary(frame(WORLDS, NOISE), LOWER_O).set_index("option")
    assert table.loc["A", "max_regret"] == pytest.approx(30)
    assert table.loc["B", "max_regret"] == pytest.approx(10)
    assert table.loc["C", "max_regret"] == pytest.approx(50)
    assert ra.robust_option(table.reset_index()) == "B"
    assert table.loc["A", "wins"] == pytest.approx(2 / 5)    # worlds 0 and 2 (a gap of 2 with no noise is clear)
    assert table.loc["B", "wins"] == pytest.approx(1 / 5)    # world 1
    assert table.loc["C", "wins"] == 0
    assert table.loc[ra.TOO_CLOSE, "wins"] == pytest.approx(2 / 5)  # worlds 3 and 4, counted apart
    assert table.loc["A", "close"] == pytest.approx(2 / 5) and table.loc["B", "close"] == pytest.approx(2 / 5)
    assert table["wins"].sum() == pytest.approx(1)
    assert ra.challenger(table.reset_index()) == "A"         # the other option that wins most worlds


def test_higher_is_better_turns_the_choice():
    values = frame(WORLDS, NOISE)
    reg = ra.regret(ra.world_means(values, HIGHER_O), HIGHER)
    assert reg.loc[0].tolist() == pytest.approx([20, 10, 0])
    assert reg.loc[1].tolist() == pytest.approx([0, 30, 20])
    table = ra.option_summary(values, HIGHER_O).set_index("option")
    assert table.loc["C", "max_regret"] == pytest.approx(20)
    assert ra.robust_option(table.reset_index()) == "C"
    assert table.loc["C", "wins"] == pytest.approx(3 / 5)    # worlds 0, 2 and 4 (60 against 11: clear)
    assert table.loc["A", "wins"] == pytest.approx(1 / 5)
    assert table.loc[ra.TOO_CLOSE, "wins"] == pytest.approx(1 / 5)


def test_a_clear_gap_larger_than_two_standard_errors_is_a_win():
    noise = {0: {"A": [-1, 0, 1], "B": [1, 0, -1]}}
    win = ra.winners(frame({0: {"A": 10, "B": 20}}, noise), LOWER_O)   # paired diffs 8, 10, 12: se 1.15, gap 10
    assert win.loc[0, "winner"] == "A"
    assert win.loc[0, "se"] == pytest.approx(2 / np.sqrt(3))
    win = ra.winners(frame({0: {"A": 10, "B": 11}}, noise), LOWER_O)   # gap 1 < 2 x 1.15
    assert win.loc[0, "winner"] == ra.TOO_CLOSE


# ------------------------------------------------------------------ EVPI
def synthetic(n: int = 64, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Worlds where x decides the choice (A below 0.5, B above), z shifts both options alike (A always
    minus B is the same given x) and w is pure noise."""
    rng = np.random.default_rng(seed)
    x, z, w = rng.uniform(size=n), rng.uniform(size=n), rng.uniform(size=n)
    design = pd.DataFrame({"point": np.arange(n), "x": x, "z": z, "w": w})
    a = 15.0 + 20 * (x - 0.5) + 100 * z       # ground lost: lower is better; A is better below x = 0.5
    b = 15.0 - 20 * (x - 0.5) + 100 * z
    rows = [{"option": opt, "world": i, "replication": r, LOWER_O.name: v[i]}
            for opt, v in (("A", a), ("B", b)) for i in range(n) for r in range(2)]
    return pd.DataFrame(rows), design


def test_evpi_is_zero_for_an_input_unrelated_to_the_choice_and_positive_for_one_that_decides_it():
    values, design = synthetic()
    table = ra.evpi_table(values, design, ["x", "z", "w"], LOWER_O, seed=3).set_index("input")
    # knowing x picks the better option in every world: E[max] - max E = 10 - (mean of 10/20 split) > 0
    assert table.loc["x", "evpi"] > 3
    assert table.loc["x", "clears"]
    assert table.loc["x", "ci_low"] > table.loc["x", "floor"]
    # z moves both options alike and w is noise: neither can be told from a shuffled input
    assert not table.loc["z", "clears"] and not table.loc["w", "clears"]
    facts = ra.facts_to_collect(table.reset_index())
    assert list(facts["input"]) == ["x"]


def test_evpi_of_an_input_that_does_not_change_the_winner_is_exactly_zero():
    n = 24
    z = np.linspace(0, 1, n)
    design = pd.DataFrame({"point": np.arange(n), "z": z})
    rows = [{"option": opt, "world": i, "replication": r, LOWER_O.name: base + 50 * z[i]}
            for opt, base in (("A", 10.0), ("B", 15.0)) for i in range(n) for r in range(2)]
    table = ra.evpi_table(pd.DataFrame(rows), design, ["z"], LOWER_O, seed=0)
    assert table.loc[0, "evpi"] == pytest.approx(0.0, abs=1e-12)
    assert not table.loc[0, "clears"]


def test_evpi_binned_matches_the_formula():
    m = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])   # worlds x options, higher better
    assert ra.evpi_binned(m, np.array([0, 0, 1, 1])) == pytest.approx(1.0 - 0.5)
    assert ra.evpi_binned(m, np.array([0, 1, 0, 1])) == pytest.approx(0.0)
    assert ra.evpi_world(m) == pytest.approx(0.5)


# ------------------------------------------------------------------ the command
def tiny_experiment(tmp_path: Path, **changes) -> Path:
    body = {
        "name": "tiny_robust",
        "scenarios": [str(SCENARIOS / "hold_pokrovsk.yaml"), str(SCENARIOS / "withdraw_kramatorsk_sloviansk.yaml")],
        "sampler": "lhs", "samples": 4,
        "parameters": {"forces.defender.personnel": {"range": [30000, 60000], "integer": True},
                       "weather.fog_frequency": {"range": [0.05, 0.3]}},
        "posterior": str(SCENARIOS / "posterior_tempo.yaml"),
        "replications": 2, "seed": 5, "fixed": {"days": 10},
    } | changes
    path = tmp_path / "robust.yaml"
    path.write_text(json.dumps(body))   # JSON is YAML
    return path


def test_robust_command_end_to_end(tmp_path, capsys):
    exp = tiny_experiment(tmp_path)
    out = tmp_path / "out"
    assert main(["robust", str(exp), "--out", str(out), "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    for name in ("report.md", "report.html", "options.csv", "worlds.csv", "evpi.csv", "prim.json", "robust.json",
                 "robust_where.png", "robust_regret.png", "robust_evpi.png", "runs.parquet", "design.parquet"):
        assert (out / name).exists(), name
    report = (out / "report.md").read_text()
    bottom = report.split("## Bottom line", 1)[1].split("\n## ", 1)[0]
    options = ("hold_pokrovsk", "withdraw_kramatorsk_sloviansk")
    assert any(f"the robust choice is **{o}**" in bottom for o in options) or "does not choose" in bottom
    assert "Facts worth collecting first" in bottom
    assert "Facts worth collecting first" in printed
    # each world draws one posterior set, the same for every option; replication r has one seed everywhere
    runs = pd.read_parquet(out / "runs.parquet")
    design = pd.read_parquet(out / "design.parquet")
    assert len(runs) == 4 * 2 * 2 and (runs["status"] == "ok").all()
    assert design["posterior_row"].nunique() == 4
    param = "combat.advance_max_per_day"
    assert (runs.groupby("point")[param].nunique() == 1).all()
    assert (runs.groupby(["point", "replication"])["seed"].nunique() == 1).all()
    merged = runs.drop_duplicates("point").set_index("point")[param]
    assert np.allclose(merged.sort_index().to_numpy(), design.set_index("point")[param].sort_index().to_numpy())
    # the tables: one robust option per outcome, shares of worlds add to 1, regrets never negative
    table = pd.read_csv(out / "options.csv")
    assert "pokrovsk_held_day60" not in set(table["outcome"])   # day 60 lies past a 10-day horizon
    for _, part in table.groupby("outcome"):
        assert part["robust"].sum() == 1
        assert part["wins"].sum() == pytest.approx(1)
        assert (part["max_regret"].dropna() >= 0).all()
        assert set(part["option"]) == {*options, ra.TOO_CLOSE}
    # sim plot redraws the folder to the same report
    assert main(["plot", str(out)]) == 0
    assert (out / "report.md").read_text() == report
    # a second run into the same folder is refused in one line
    capsys.readouterr()
    assert main(["robust", str(exp), "--out", str(out)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_robust_on_a_dask_cluster_gives_the_serial_runs_and_report(tmp_path):
    """`sim robust --scheduler local` runs the worlds on a Dask LocalCluster, as sweep and compare do: the same
    seeds, so the same runs and the same report as in this process (issue 16: robust had no --scheduler)."""
    exp = tiny_experiment(tmp_path, samples=2, fixed={"days": 6})
    assert main(["robust", str(exp), "--out", str(tmp_path / "serial")]) == 0
    assert main(["robust", str(exp), "--out", str(tmp_path / "dask"), "--scheduler", "local", "--workers", "2"]) == 0
    serial, dask = (pd.read_parquet(tmp_path / f / "runs.parquet") for f in ("serial", "dask"))
    assert len(serial) == 2 * 2 * 2 and (serial["status"] == "ok").all()
    pd.testing.assert_frame_equal(serial, dask, check_exact=True)
    assert (tmp_path / "serial" / "report.md").read_text() == (tmp_path / "dask" / "report.md").read_text()
    # and they ran where asked: the manifest (the results store's) says where
    manifests = {f: json.loads((tmp_path / f / "manifest.json").read_text()) for f in ("serial", "dask")}
    assert manifests["serial"]["evaluator"] == "this process"
    assert manifests["dask"]["evaluator"] == "a Dask LocalCluster of 2 processes"
    assert manifests["dask"]["kind"] == "robust"


@pytest.mark.parametrize("change, says", [
    ({"scenarios": [str(SCENARIOS / "hold_pokrovsk.yaml")]}, "at least two options"),
    ({"replications": 1}, "at least 2 replications"),
    ({"posterior": "no_such_posterior.yaml"}, "posterior file 'no_such_posterior.yaml' not found"),
    ({"sampler": "sobol"}, "expected lhs or grid"),
    ({"parameters": {"forces.defender.nonsense": {"range": [1, 2]}}}, "has no parameter"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, change, says):
    exp = tiny_experiment(tmp_path, **change)
    assert main(["robust", str(exp), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and says in err[0], err


def test_missing_experiment_file_exits_2(tmp_path, capsys):
    assert main(["robust", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "out")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_posterior_set_that_does_not_fit_an_option_exits_2(tmp_path, capsys):
    post = tmp_path / "post.yaml"
    post.write_text("posterior: {campaign: test}\nparameters: [combat.advance_max_per_day]\nsets:\n- [0.4]\n- [-3.0]\n")
    exp = tiny_experiment(tmp_path, posterior=str(post))
    assert main(["robust", str(exp), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "combat.advance_max_per_day" in err[0] and "does not fit" in err[0], err


def test_the_where_figure_puts_every_world_at_a_point_of_its_own():
    """Worlds that share a posterior set share all its parameters: two of them as the axes would draw four
    worlds on one spot. The figure keeps the most informative input and pairs it with the best one that
    separates the worlds."""
    from sim.plots.robust import separating_axes

    design = pd.DataFrame({"point": range(8), "a (posterior)": [1, 1, 2, 2, 3, 3, 4, 4],
                           "b (posterior)": [5, 5, 6, 6, 7, 7, 8, 8], "fog": np.linspace(0.05, 0.3, 8)})
    evpi = pd.DataFrame({"outcome": "x", "input": ["a (posterior)", "b (posterior)", "fog"],
                         "evpi": [0.3, 0.2, 0.1], "floor": [0.0, 0.0, 0.0]})
    assert separating_axes(evpi, "x", design) == ["a (posterior)", "fog"]
    evpi["input"] = ["fog", "a (posterior)", "b (posterior)"]
    assert separating_axes(evpi, "x", design) == ["fog", "a (posterior)"]
