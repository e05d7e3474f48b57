"""`sim run` end to end: result files, reproducibility across workers, refusal to overwrite."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.outcomes import RECORDED as OUTCOME_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
MINI = str(ROOT / "tests" / "data" / "mini_scenario.yaml")
HOLD = str(ROOT / "scenarios" / "hold_pokrovsk.yaml")

MODEL_COLUMNS = (
    "scenario", "replication", "seed", "pokrovsk_held", "pokrovsk_fall_day", "encircled", "encirclement_day",
    "defenders_trapped", "defender_casualties", "attacker_casualties", "exchange_ratio", "territory_lost_km2",
    "attacker_max_advance_km", "min_corridor_km", "drone_grounded_days", "defender_personnel_end",
    "attacker_personnel_end",
)


def run(tmp_path: Path, name: str, *extra: str, scenario: str = HOLD, runs: int = 4) -> Path:
    out = tmp_path / name
    code = main(["run", scenario, "--runs", str(runs), "--seed", "5", "--out", str(out), "--no-plots",
                 "--set", "days=20", *extra])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory):
    return run(tmp_path_factory.mktemp("w1"), "w1", "--workers", "1")


def test_results_have_the_briefs_columns(one_worker):
    runs = pd.read_parquet(one_worker / "runs.parquet")
    assert list(runs["replication"]) == [0, 1, 2, 3]
    for col in MODEL_COLUMNS + OUTCOME_COLUMNS:
        assert col in runs.columns, col
    # one column per sampled uncertain input, named by its dotted path
    for path in ("forces.attacker.personnel", "weather.fog_frequency", "drones.defender.sorties_per_day"):
        assert path in runs.columns
        assert runs[path].nunique() == 4
    assert runs["seed"].nunique() == 4
    ts = pd.read_parquet(one_worker / "timeseries.parquet")
    for col in ("replication", "day", "weather", "defender_personnel", "attacker_personnel", "defender_casualties",
                "attacker_casualties", "defender_area_km2", "corridor_km", "defender_sorties", "attacker_sorties",
                "supply_index"):
        assert col in ts.columns, col
    assert len(ts) == 4 * 21
    assert set(ts["weather"]) <= {"clear", "overcast", "precip", "fog"}
    manifest = json.loads((one_worker / "manifest.json").read_text())
    assert manifest["root_seed"] == 5 and manifest["replications"] == 4 and manifest["status"] == "complete"
    assert len(manifest["scenario_sha256"]) == 64 and "days: 20" in manifest["scenario_resolved"]
    assert manifest["package_version"]


def test_same_seed_gives_identical_files(one_worker, tmp_path):
    again = run(tmp_path, "again", "--workers", "1")
    for name in ("runs.parquet", "timeseries.parquet"):
        assert (again / name).read_bytes() == (one_worker / name).read_bytes(), name


def test_one_and_two_workers_give_identical_files(one_worker, tmp_path):
    two = run(tmp_path, "w2", "--workers", "2")
    for name in ("runs.parquet", "timeseries.parquet"):
        assert (two / name).read_bytes() == (one_worker / name).read_bytes(), name


def test_a_folder_with_results_is_refused_without_force(one_worker, capsys):
    code = main(["run", HOLD, "--runs", "1", "--out", str(one_worker)])
    err = capsys.readouterr().err
    assert code == 2
    assert "already holds results" in err and "--force" in err
    assert len(err.strip().splitlines()) == 1


def test_bad_command_line_values_are_one_line(tmp_path, capsys):
    for argv in (["run", HOLD, "--runs", "zero", "--out", str(tmp_path / "x")],
                 ["run", HOLD, "--runs", "-3", "--out", str(tmp_path / "x")],
                 ["run", HOLD, "--workers", "0", "--out", str(tmp_path / "x")],
                 ["run", HOLD, "--seed", "abc", "--out", str(tmp_path / "x")],
                 ["run", HOLD, "--runs", "2"],
                 ["run", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "y")],
                 ["run", HOLD, "--out", str(tmp_path / "z"), "--set", "weather.fog_frequency=2"],
                 ["bench", "--sweep-runs", "-1"],
                 ["bench", "--pool-runs", "many"],
                 ["frobnicate"]):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2, argv
        assert len(err.strip().splitlines()) == 1, (argv, err)
        assert "Traceback" not in err


def test_run_writes_figures_and_plot_redraws_them(tmp_path):
    out = tmp_path / "fig"
    assert main(["run", MINI, "--runs", "3", "--seed", "1", "--out", str(out), "--set", "days=15"]) == 0
    for name in ("outcomes.png", "fan.png", "control_probability.png"):
        assert (out / name).stat().st_size > 10_000, name
        (out / name).unlink()
    assert main(["plot", str(out)]) == 0
    assert (out / "control_probability.png").exists()
    # no half-written file is left behind
    assert not list(out.glob("*.part"))


def test_ctrl_c_keeps_what_finished(tmp_path):
    """An interrupted run writes the finished replications, says so, and leaves no half-written file."""
    import signal
    import subprocess
    import sys
    import time

    def command(runs: int, out: Path) -> list[str]:
        return [sys.executable, "-m", "sim", "run", HOLD, "--runs", str(runs), "--out", str(out),
                "--workers", "2", "--no-plots", "--set", "days=30"]

    # how long a few replications take on this machine now (it is shared: the load varies)
    started = time.monotonic()
    subprocess.run(command(4, tmp_path / "probe"), capture_output=True, check=True)
    few = time.monotonic() - started
    out = tmp_path / "stopped"
    # 20,000 runs of 30 days take some ten minutes on two workers: long enough for a slow probe to
    # stretch the wait (500 runs could finish within it since the compiled day)
    proc = subprocess.Popen(command(20_000, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(max(15.0, min(3 * few, 60.0)))  # long enough for some replications to finish, far too short for all
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    runs = pd.read_parquet(out / "runs.parquet")
    assert 0 < len(runs) < 20_000
    assert manifest["replications"] == len(runs)
    assert "Traceback" not in stderr
    assert not list(out.glob("*.part"))


def test_animate_writes_a_gif_of_one_replication_day_by_day(tmp_path):
    from PIL import Image

    out = tmp_path / "anim"
    assert main(["run", MINI, "--runs", "1", "--out", str(out), "--no-plots", "--animate", "--set", "days=6"]) == 0
    gif = Image.open(out / "animation.gif")
    assert gif.n_frames == 7  # the start and each of the six days
    first = gif.convert("RGB").tobytes()
    gif.seek(6)
    assert gif.convert("RGB").tobytes() != first  # the day, the front and the units change


def test_precision_adds_replications_until_the_interval_is_narrow_enough(tmp_path, capsys):
    # on the small theater no town is encircled: 50 runs already give P(encirclement) to +/- 0.04
    out = tmp_path / "enough"
    assert main(["run", MINI, "--runs", "400", "--precision", "0.05", "--out", str(out), "--no-plots",
                 "--set", "days=8"]) == 0
    assert len(pd.read_parquet(out / "runs.parquet")) == 50
    assert "50 replications for P(encirclement)" in capsys.readouterr().out
    # an unreachable precision stops at the cap
    out = tmp_path / "capped"
    assert main(["run", MINI, "--runs", "60", "--precision", "0.001", "--out", str(out), "--no-plots",
                 "--set", "days=8"]) == 0
    assert len(pd.read_parquet(out / "runs.parquet")) == 60
    assert main(["run", MINI, "--precision", "0.7", "--out", str(tmp_path / "bad")]) == 2


def test_compare_with_precision_uses_the_same_replications_for_every_option(tmp_path):
    withdraw = tmp_path / "w.yaml"
    withdraw.write_text(f"extends: {MINI}\nname: mini_w\noption: {{kind: withdraw}}\n")
    out = tmp_path / "cmp"
    assert main(["compare", MINI, str(withdraw), "--runs", "70", "--precision", "0.05", "--out", str(out),
                 "--set", "days=6"]) == 0
    runs = pd.read_parquet(out / "runs.parquet")
    counts = runs.groupby("scenario")["replication"].nunique()
    assert (counts == 50).all()


def test_an_out_folder_that_cannot_be_written_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code = main(["validate-model", "--out", str(blocker / "sub"), "--runs", "1"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
