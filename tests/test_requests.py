"""The command line builds one typed request per command; nothing below sim/cli.py sees argparse."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from sim import commands, robust
from sim.cli import main
from sim.experiment.requests import (CalibrateRequest, CompareRequest, RobustRequest, RunRequest, SweepRequest,
                                     ValidateModelRequest)

SIM = Path(__file__).resolve().parent.parent / "sim"


def _captured(monkeypatch, module, name: str, argv: list[str]):
    """The request ``sim ARGV`` hands to ``module.name`` (the command is not run)."""
    got = []
    monkeypatch.setattr(module, name, lambda req: got.append(req) or 0)
    assert main(argv) == 0
    (req,) = got
    return req


def test_compare_builds_its_request_from_every_option(monkeypatch, tmp_path):
    post = tmp_path / "post.yaml"
    req = _captured(monkeypatch, commands, "compare_command", [
        "compare", "a.yaml", "b.yaml", "--runs", "7", "--seed", "3", "--out", "o", "--set", "days=20",
        "--set-for", "b:option.withdraw.trigger_day=5", "--baseline", "b", "--all-pairs", "--towns", "Myrnohrad,Rodynske",
        "--workers", "2", "--force", "--precision", "0.1", "--posterior", str(post), "--scheduler", "local",
        "--map-levels", "0.9,0.1"])
    assert req == CompareRequest(scenarios=("a.yaml", "b.yaml"), out="o", runs=7, seed=3,
                                 sets=("days=20", f"posterior={json.dumps(str(post.resolve()))}"),
                                 sets_for=("b:option.withdraw.trigger_day=5",), baseline="b", all_pairs=True,
                                 towns=("Myrnohrad", "Rodynske"), workers=2, force=True, precision=0.1,
                                 scheduler="local", map_levels=(0.1, 0.9))
    hash(req)  # frozen values, tuples: a request can be a key and cannot change on its way down
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.runs = 8


def test_run_sweep_robust_calibrate_and_validate_model_build_their_requests(monkeypatch):
    assert _captured(monkeypatch, commands, "run_command",
                     ["run", "s.yaml", "--out", "o", "--first", "4", "--runs", "2", "--no-plots", "--animate"]) == \
        RunRequest(scenario="s.yaml", out="o", runs=2, first=4, no_plots=True, animate=True)
    assert _captured(monkeypatch, commands, "sweep_command",
                     ["sweep", "e.yaml", "--out", "o", "--resume", "--workers", "2", "--set", "days=9"]) == \
        SweepRequest(experiment="e.yaml", out="o", resume=True, workers=2, sets=("days=9",))
    assert _captured(monkeypatch, robust, "robust_command", ["robust", "e.yaml", "--out", "o", "--force"]) == \
        RobustRequest(experiment="e.yaml", out="o", force=True)
    assert _captured(monkeypatch, robust, "robust_command", ["robust", "e.yaml", "--out", "o", "--scheduler", "local"]) == \
        RobustRequest(experiment="e.yaml", out="o", scheduler="local")
    assert _captured(monkeypatch, commands, "calibrate_command",
                     ["calibrate", "c.yaml", "--out", "o", "--scheduler", "tcp://h:1"]) == \
        CalibrateRequest(campaign="c.yaml", out="o", scheduler="tcp://h:1")
    assert _captured(monkeypatch, commands, "validate_model_command",
                     ["validate-model", "--out", "o", "--record-only", "--record-runs", "3"]) == \
        ValidateModelRequest(out="o", record_only=True, record_runs=3)


@pytest.mark.parametrize("command, kind", [("run", RunRequest), ("compare", CompareRequest), ("sweep", SweepRequest),
                                           ("robust", RobustRequest), ("calibrate", CalibrateRequest),
                                           ("validate-model", ValidateModelRequest)])
def test_every_field_of_a_request_is_an_option_of_its_command(command, kind):
    """A field no option fills would silently keep its default: each is an option's dest (validate-model's
    ``sets`` is made from its --posterior)."""
    from sim.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._subparsers._group_actions if a.dest == "command").choices[command]
    dests = {a.dest for a in sub._actions}
    made = {"sets"} if kind is ValidateModelRequest else set()
    assert {f.name for f in dataclasses.fields(kind)} - made <= dests


def test_no_argparse_namespace_below_the_command_line():
    offenders = []
    for path in SIM.rglob("*.py"):
        if path.name == "cli.py" and path.parent == SIM:
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\bargparse\b|\bNamespace\b|getattr\(args\b|\bargs\.\w", text):
            offenders.append(str(path.relative_to(SIM)))
    assert offenders == []
