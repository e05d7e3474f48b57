"""The results store owns every folder's manifest: what it holds (run, compare, sweep, robust), written last,
read back by `sim plot` and by a resume; a folder that is not sim's is one line and exit 2."""

from __future__ import annotations

import json
import pytest

from sim.cli import main
from tests.conftest import MINI, mini_withdraw
from sim.core.errors import InputError
from sim.experiment.store import COMPARE, RUN, SWEEP, finished, folder_kind, read_manifest

@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("store")
    withdraw = mini_withdraw(tmp)
    experiment = tmp / "exp.yaml"
    experiment.write_text(f"name: tiny\nscenarios: [{MINI}, {withdraw}]\nsampler: grid\n"
                          "parameters:\n  weather.fog_frequency: {values: [0.1, 0.3]}\n"
                          "replications: 2\nseed: 2\nfixed: {days: 6}\noutcomes: [encircled]\n")
    common = ["--runs", "2", "--seed", "3", "--set", "days=6"]
    assert main(["run", str(MINI), *common, "--out", str(tmp / "run"), "--no-plots"]) == 0
    assert main(["compare", str(MINI), str(withdraw), *common, "--out", str(tmp / "compare")]) == 0
    assert main(["sweep", str(experiment), "--out", str(tmp / "sweep"), "--no-plots"]) == 0
    return tmp


def test_every_folder_says_what_it_holds_and_where_it_ran(folders):
    run = read_manifest(folders / "run")
    assert run["kind"] == RUN and run["scenario"] == "mini" and run["replications"] == 2
    assert run["evaluator"] == "this process" and run["started"] <= run["finished"]
    compare = read_manifest(folders / "compare")
    assert compare["kind"] == COMPARE and compare["scenarios"] == ["mini", "mini_withdraw"]
    assert compare["baseline"] == "mini" and compare["status"] == "complete" and compare["finished"]
    # each option's folder of a comparison is a run folder of its own
    assert folder_kind(folders / "compare" / "mini_withdraw") == RUN
    sweep = read_manifest(folders / "sweep")
    assert sweep["kind"] == SWEEP and sweep["runs"] == 2 * 2 * 2 and sweep["status"] == "complete"
    for name in ("run", "compare", "sweep"):
        assert set(read_manifest(folders / name)) >= {"package_version", "python", "platform", "started", "finished"}


def test_plot_reads_the_kind_from_the_manifest(folders, capsys):
    assert main(["plot", str(folders / "sweep")]) == 0          # a sweep's figures, not a run's
    printed = capsys.readouterr().out
    assert "surfaces.png" in printed and "outcomes.png" not in printed
    with pytest.raises(InputError, match="holds a sweep, not a compare"):
        read_manifest(folders / "sweep", (COMPARE,))


def test_a_folder_written_before_manifests_named_their_kind_is_still_read(folders, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    manifest = read_manifest(folders / "compare")
    del manifest["kind"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    assert folder_kind(old) == COMPARE


@pytest.mark.parametrize("make, says", [
    (lambda d: None, "no manifest.json here"),
    (lambda d: (d / "manifest.json").write_text("{not json"), "not a manifest of sim"),
    (lambda d: (d / "manifest.json").write_text("[1, 2]"), "not a manifest of sim"),
])
def test_plot_on_a_folder_that_is_not_sims_is_one_line_and_exit_2(tmp_path, capsys, make, says):
    folder = tmp_path / "f"
    folder.mkdir()
    make(folder)
    assert main(["plot", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0] and str(folder) in err[0]
    assert main(["plot", str(tmp_path / "missing")]) == 2
    assert "no such results folder" in capsys.readouterr().err


def test_a_resume_takes_only_a_whole_complete_folder(folders, tmp_path):
    assert finished(folders / "sweep")
    half = tmp_path / "half"
    half.mkdir()
    assert not finished(half)                                  # no manifest: not whole
    (half / "manifest.json").write_text(json.dumps({**read_manifest(folders / "sweep"), "status": "interrupted"}))
    assert not finished(half)                                  # whole, but interrupted: run the rest
