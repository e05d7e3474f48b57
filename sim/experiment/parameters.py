"""Experiment files: which scenarios, which knobs vary and how, replications, outcomes.

An experiment (``experiments/*.yaml``) is validated like a scenario (one-line
errors with file, line and dotted path): ``load_experiment`` reads it and the
scenarios it names. Its ``parameters`` (the knobs and how each varies) become a
design in sim/experiment/samplers.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field, ValidationError, model_validator

from sim.core.errors import InputError
from sim.scenario import ScenarioDoc, get_value, replace_values, validation_error_line
from sim.theater import load_scenario
from sim.schema import Strict
from sim.yamlio import load_yaml_file

SAMPLERS = ("grid", "lhs", "sobol", "morris")


class Knob(Strict):
    """How one knob varies: a list of ``values``, or a ``range`` (with ``levels`` for a grid)."""

    values: list[float | int | str | bool] | None = Field(default=None, min_length=1)
    range: list[float] | None = Field(default=None, min_length=2, max_length=2)
    levels: int | None = Field(default=None, ge=2, le=1000)
    integer: bool = Field(default=False, description="round drawn values to integers")

    @model_validator(mode="after")
    def _one_form(self) -> Knob:
        if (self.values is None) == (self.range is None):
            raise ValueError("give either values: [...] or range: [low, high]")
        if self.range is not None and not self.range[0] < self.range[1]:
            raise ValueError(f"range needs low < high, found {self.range}")
        return self


class Experiment(Strict):
    name: str
    description: str = ""
    scenarios: list[str] = Field(min_length=1, description="scenario files, relative to the experiment file")
    sampler: Literal["grid", "lhs", "sobol", "morris"]
    parameters: dict[str, Knob] = Field(min_length=1, description="dotted path -> how it varies")
    samples: int = Field(default=16, ge=1, le=100_000, description="lhs points, sobol base points or morris trajectories")
    morris_levels: int = Field(default=4, ge=2, le=64)
    replications: int = Field(ge=1, le=100_000)
    seed: int = Field(default=0, ge=0)
    outcomes: list[str] = Field(min_length=1, description="outcome columns the analysis looks at")
    fixed: dict[str, Any] = Field(default_factory=dict, description="dotted path -> value applied at every point")
    chunk_runs: int = Field(default=50, ge=1, le=100_000, description="runs per Parquet part written")

    @model_validator(mode="after")
    def _sampler_fits(self) -> Experiment:
        for path, knob in self.parameters.items():
            if self.sampler == "grid" and knob.range is not None and knob.levels is None:
                raise ValueError(f"parameters.{path}: a grid over a range needs levels")
            if self.sampler != "grid" and knob.range is None:
                raise ValueError(f"parameters.{path}: the {self.sampler} sampler needs range: [low, high]")
        return self


class ExperimentDoc:
    """An experiment as read: the model, its scenarios (loaded), its file and locations."""

    def __init__(self, path: Path, experiment: Experiment, scenarios: list[ScenarioDoc], locations) -> None:
        self.path = path
        self.experiment = experiment
        self.scenarios = scenarios
        self.locations = locations

    def design(self) -> pd.DataFrame:
        from sim.experiment.samplers import design

        return design(self.experiment)


def load_experiment(path: str | Path, sets: list[str] | None = None) -> ExperimentDoc:
    """Read and validate an experiment file and the scenarios it names."""
    path = Path(path)
    data, locations = load_yaml_file(path)
    if data is None:
        raise InputError("empty file, expected an experiment (name, scenarios, sampler, parameters, ...)", source=str(path))
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping at the top level, found {type(data).__name__}", source=str(path), line=1)
    return experiment_doc(path, data, locations, sets)


def experiment_doc(path: Path, data: dict, locations, sets: list[str] | None = None) -> ExperimentDoc:
    """Validate an experiment's data read from ``path`` and load the scenarios it names
    (a calibration campaign is an experiment with a ``calibration`` block, sim/calibrate.py)."""
    try:
        exp = Experiment.model_validate(data)
    except ValidationError as exc:
        raise validation_error_line(exc, Experiment, locations, str(path)) from None
    outcomes = set(_known_outcomes())
    for i, name in enumerate(exp.outcomes):
        if name not in outcomes:
            src, line = locations.get(("outcomes", str(i)), (str(path), None))
            import difflib

            close = difflib.get_close_matches(name, sorted(outcomes), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InputError(f"unknown outcome {name!r}{hint}", source=src, line=line, path=f"outcomes.{i}")
    docs = []
    for i, rel in enumerate(exp.scenarios):
        src, line = locations.get(("scenarios", str(i)), (str(path), None))
        target = path.parent / rel
        try:
            doc = load_scenario(target, sets)
        except InputError as exc:
            if exc.source == str(target) and exc.message.startswith("file not found"):
                raise InputError(f"scenario file {rel!r} not found (looked in {path.parent}/)", source=src, line=line,
                                 path=f"scenarios.{i}") from None
            raise
        docs.append(doc)
        for p, knob in exp.parameters.items():
            _check_knob(doc, p, knob, exp, locations, str(path))
        if exp.fixed:
            try:
                replace_values(doc.scenario, dict(exp.fixed), source=f"{path}: fixed")
            except InputError as exc:
                src, line = locations.get(("fixed",), (str(path), None))
                raise InputError(exc.message, source=src, line=line, path=f"fixed.{exc.path}" if exc.path else "fixed") from None
    names = [d.scenario.name for d in docs]
    if len(set(names)) != len(names):
        raise InputError("two scenarios share a name; each needs its own", source=str(path), path="scenarios")
    return ExperimentDoc(path, exp, docs, locations)


def refuse_own_posteriors(doc: ExperimentDoc, locations, path, why: str) -> None:
    """One line, at the scenario's entry, if a scenario of ``doc`` draws its own posterior set
    (``why``: the reason the command cannot take it)."""
    for i, d in enumerate(doc.scenarios):
        if d.scenario.posterior:
            src, line = locations.get(("scenarios", str(i)), (str(path), None))
            raise InputError(f"scenario {d.scenario.name!r} {why}", source=src, line=line, path=f"scenarios.{i}")


def _known_outcomes() -> list[str]:
    from sim.outcomes import RECORDED

    return list(RECORDED)


def _check_knob(doc: ScenarioDoc, path: str, knob: Knob, exp: Experiment, locations, source: str) -> None:
    src, line = locations.get(("parameters", path), (source, None))
    try:
        get_value(doc.scenario, path)
    except (AttributeError, KeyError, IndexError, ValueError, TypeError):
        raise InputError(f"scenario {doc.scenario.name!r} has no parameter {path!r}", source=src, line=line,
                         path=f"parameters.{path}") from None
    probes = knob.values if knob.values is not None else [knob.range[0], knob.range[1]]
    for value in probes:
        v = int(round(value)) if knob.integer and isinstance(value, (int, float)) else value
        try:
            replace_values(doc.scenario, {path: v}, source=source)
        except InputError as exc:
            raise InputError(f"value {value!r} is not valid here: {exc.message}", source=src, line=line,
                             path=f"parameters.{path}") from None
