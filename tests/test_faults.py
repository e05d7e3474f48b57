"""Faults survived, nothing lost (issue 13, item 4).

* A worker process killed mid-run (as the kernel's out-of-memory killer would, SIGKILL) costs
  nothing: `sim run` and `sim sweep` finish with results identical to an uninterrupted run.
* A replication that kills its worker every time (the test hook ``SIM_FAULT_KILL_REPLICATION``)
  is recorded as failed after three tries; `sim run`, `sim compare` and `sim sweep` finish the rest.
* Two commands given the same --out: the second is refused in one line; the lock goes with
  its holder, even after kill -9.
* A full or read-only disk under --out: one line, exit 2, and no manifest that claims whole results.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.experiment import load_experiment
from sim.experiment.evaluators import FAULT_ENV, TRIES, SerialEvaluator
from sim.experiment.store import LOCK_FILE, out_lock
from sim.experiment.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "data" / "mini_scenario.yaml"
KILLER = 5  # the replication that kills its worker in the hook's tests


def experiment(folder: Path, replications: int, days: int) -> Path:
    path = folder / "exp.yaml"
    path.write_text(f"""\
name: faults
scenarios: [{MINI}]
sampler: grid
parameters:
  weather.fog_frequency: {{values: [0.05, 0.4]}}
replications: {replications}
seed: 3
fixed: {{days: {days}}}
chunk_runs: 4
outcomes: [encircled, territory_lost_km2, attacker_casualties]
""")
    return path


def sim(*args: str, fault: int | None = None, tmp: str | None = None) -> subprocess.Popen:
    """`python -m sim ARGS` in a child process (the hook and TMPDIR set when given)."""
    env = dict(os.environ)
    env.pop(FAULT_ENV, None)
    if fault is not None:
        env[FAULT_ENV] = str(fault)
    if tmp is not None:
        env["TMPDIR"] = tmp
    return subprocess.Popen([sys.executable, "-m", "sim", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def finish(proc: subprocess.Popen) -> tuple[str, str]:
    """Wait for a child `sim` to end well; its stdout and stderr."""
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return out, err


def kill_a_busy_worker(proc: subprocess.Popen, tmp: str) -> int:
    """SIGKILL the pool worker that is running a batch (it leaves a marker file holding its pid
    under TMPDIR while it does), as the out-of-memory killer would; returns its pid."""
    deadline = time.time() + 120
    while time.time() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        for marker in Path(tmp).glob("sim-started-*/*"):
            try:
                pid = int(marker.read_text())
            except (OSError, ValueError):
                continue  # just finished, or not yet written
            os.kill(pid, signal.SIGKILL)
            return pid
        time.sleep(0.01)
    raise AssertionError("no worker started a batch")


@pytest.fixture
def short_tmp():
    """A short TMPDIR for a child `sim` (its fork server's socket path must stay short)."""
    folder = tempfile.mkdtemp(prefix="ft")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def runs_of(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "runs.parquet")


def withdraw_option(folder: Path) -> Path:
    path = folder / "w.yaml"
    path.write_text(f"extends: {MINI}\nname: mini_w\noption: {{kind: withdraw}}\n")
    return path


# ------------------------------------------------------------------ a worker killed mid-run
def test_a_worker_killed_mid_run_loses_no_replication(tmp_path, short_tmp):
    common = ["--runs", "60", "--seed", "7", "--no-plots", "--set", "days=20"]
    reference = tmp_path / "reference"
    assert main(["run", str(MINI), *common, "--out", str(reference)]) == 0
    proc = sim("run", str(MINI), *common, "--workers", "2", "--out", str(tmp_path / "killed"), tmp=short_tmp)
    kill_a_busy_worker(proc, short_tmp)
    _, err = finish(proc)
    assert "a worker process died" in err  # the kill hit the run, and the run survived it
    pd.testing.assert_frame_equal(runs_of(tmp_path / "killed"), runs_of(reference))
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "killed" / "timeseries.parquet"),
                                  pd.read_parquet(reference / "timeseries.parquet"))
    manifest = json.loads((tmp_path / "killed" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["replications"] == 60 and manifest["replications_failed"] == []


def test_a_worker_killed_mid_sweep_loses_no_run(tmp_path, short_tmp):
    exp = experiment(tmp_path, replications=40, days=20)
    reference, _ = sweep(load_experiment(exp), tmp_path / "reference", evaluator=SerialEvaluator(), progress=False)
    proc = sim("sweep", str(exp), "--workers", "2", "--no-plots", "--out", str(tmp_path / "killed"), tmp=short_tmp)
    kill_a_busy_worker(proc, short_tmp)
    _, err = finish(proc)
    assert "a worker process died" in err
    killed = runs_of(tmp_path / "killed")
    assert len(killed) == 80 and (killed["status"] == "ok").all()
    pd.testing.assert_frame_equal(killed, reference)
    assert json.loads((tmp_path / "killed" / "manifest.json").read_text())["status"] == "complete"


# ------------------------------------------------------------------ a replication that kills every worker
def test_a_replication_that_keeps_killing_its_worker_is_recorded_as_failed_in_a_run(tmp_path):
    common = ["--runs", "12", "--seed", "2", "--no-plots", "--set", "days=6"]
    reference = tmp_path / "reference"
    assert main(["run", str(MINI), *common, "--out", str(reference)]) == 0
    proc = sim("run", str(MINI), *common, "--workers", "2", "--out", str(tmp_path / "out"), fault=KILLER)
    out, err = finish(proc)
    assert err.count("a worker process died") == 1  # later deaths are of the replication alone, on its own worker
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    [failed] = manifest["replications_failed"]
    assert failed["replication"] == KILLER and f"died {TRIES} times" in failed["reason"]
    assert failed["seed"] == runs_of(reference).set_index("replication").loc[KILLER, "seed"]
    assert manifest["replications"] == 11 and manifest["status"] == "complete"
    expected = runs_of(reference)
    expected = expected[expected["replication"] != KILLER].reset_index(drop=True)
    pd.testing.assert_frame_equal(runs_of(tmp_path / "out"), expected)
    assert f"1 replication(s) failed and left out, as its worker process died {TRIES} times" in out


def test_compare_finishes_without_the_replication_that_kills_its_worker(tmp_path):
    common = [str(MINI), str(withdraw_option(tmp_path)), "--runs", "10", "--seed", "4", "--set", "days=6"]
    proc = sim("compare", *common, "--workers", "2", "--out", str(tmp_path / "out"), fault=KILLER)
    stdout, err = finish(proc)
    assert f"mini: 1 replication(s) failed and left out, as its worker process died {TRIES} times" in err
    runs = runs_of(tmp_path / "out")
    assert sorted(set(runs["replication"])) == [i for i in range(10) if i != KILLER]
    assert runs.groupby("scenario")["replication"].nunique().to_dict() == {"mini": 9, "mini_w": 9}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["replications"] == 9
    assert {k: [x["replication"] for x in v] for k, v in manifest["replications_failed"].items()} == \
        {"mini": [KILLER], "mini_w": [KILLER]}
    assert "Bottom line" in stdout


def test_a_sweep_records_the_run_that_keeps_killing_its_worker_and_finishes_the_rest(tmp_path):
    exp = experiment(tmp_path, replications=8, days=6)
    reference, _ = sweep(load_experiment(exp), tmp_path / "reference", evaluator=SerialEvaluator(), progress=False)
    proc = sim("sweep", str(exp), "--workers", "2", "--no-plots", "--out", str(tmp_path / "out"), fault=KILLER)
    finish(proc)
    runs = runs_of(tmp_path / "out")
    failed = runs[runs["status"] == "failed"]
    assert list(failed["replication"]) == [KILLER, KILLER]  # the replication fails at both points
    assert failed["error"].str.contains(f"died {TRIES} times").all()
    assert (failed["seed"].to_numpy() == reference.loc[failed.index, "seed"].to_numpy()).all()
    ok = runs["status"] == "ok"
    pd.testing.assert_frame_equal(runs[ok], reference[ok], check_dtype=False)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["runs"] == 16 and manifest["runs_failed"] == 2 and manifest["status"] == "complete"


# ------------------------------------------------------------------ one command per --out
def command(kind: str, folder: Path, out: Path) -> list[str]:
    if kind == "sweep":
        return ["sweep", str(experiment(folder, replications=2, days=3)), "--no-plots", "--out", str(out)]
    scenarios = [str(MINI)] if kind == "run" else [str(MINI), str(withdraw_option(folder))]
    return [kind, *scenarios, "--runs", "2", "--set", "days=3", "--out", str(out)]


@pytest.mark.parametrize("kind", ["run", "compare", "sweep"])
def test_a_second_command_on_the_same_out_is_refused_in_one_line(tmp_path, capsys, kind):
    out = tmp_path / "busy"
    with out_lock(out):
        assert main(command(kind, tmp_path, out)) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"{out}: is in use by another sim command (process {os.getpid()})" in err
    assert [p.name for p in out.iterdir()] == [LOCK_FILE]  # nothing written by the refused command


def test_the_lock_goes_with_its_holder_even_after_kill_9(tmp_path, capsys):
    exp = experiment(tmp_path, replications=400, days=20)
    out = tmp_path / "out"
    proc = sim("sweep", str(exp), "--workers", "2", "--no-plots", "--out", str(out))
    deadline = time.time() + 120
    while not list((out / "parts").glob("part-*.parquet")):
        assert proc.poll() is None and time.time() < deadline, proc.communicate()[1]
        time.sleep(0.05)
    assert main(["sweep", str(exp), "--resume", "--out", str(out)]) == 2
    assert f"in use by another sim command (process {proc.pid})" in capsys.readouterr().err
    proc.kill()
    proc.wait(timeout=30)
    assert not (out / "manifest.json").exists()  # a sweep killed half-way never claims to be whole
    with out_lock(out):  # free at once: no worker or fork server kept the killed command's lock
        pass


# ------------------------------------------------------------------ a full or read-only disk
def full_disk(monkeypatch) -> None:
    """Parquet writes run out of space half-way, as on a full disk."""
    def to_parquet(self, path, *args, **kwargs):
        Path(path).write_bytes(b"PAR1 half a file")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)


@pytest.mark.parametrize("kind", ["run", "compare", "sweep"])
def test_a_full_disk_is_one_line_and_leaves_no_manifest_claiming_whole_results(tmp_path, capsys, monkeypatch, kind):
    out = tmp_path / "out"
    args = command(kind, tmp_path, out)
    assert main(args) == 0  # whole results of an earlier run, then the disk fills up
    capsys.readouterr()
    full_disk(monkeypatch)
    assert main([*args, "--force"]) == 2
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if "━" not in line]  # one line beside the progress bar
    assert line.startswith(f"error: cannot write {out}") and line.endswith("No space left on device"), err
    assert not list(out.rglob("*.part"))
    assert not list(out.rglob("manifest.json"))  # the earlier run's manifests went with its files


def test_a_read_only_out_is_one_line(tmp_path, capsys, monkeypatch):
    out = tmp_path / "ro"
    real_open, real_mkdir = os.open, Path.mkdir

    def read_only_open(path, flags, *args, **kwargs):
        if str(path).startswith(str(out)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    def read_only_mkdir(self, *args, **kwargs):
        if str(self).startswith(str(out)) and not self.exists():
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only_open)
    monkeypatch.setattr(Path, "mkdir", read_only_mkdir)
    for kind in ("run", "compare", "sweep"):
        assert main(command(kind, tmp_path, out)) == 2
        err = capsys.readouterr().err
        assert err.strip() == f"error: {out}: cannot write here: Read-only file system"
    real_mkdir(out)
    for kind in ("run", "compare", "sweep"):
        assert main(command(kind, tmp_path, out)) == 2
        assert capsys.readouterr().err.strip() == f"error: {out}: cannot write here: Read-only file system"
    assert list(out.iterdir()) == []
