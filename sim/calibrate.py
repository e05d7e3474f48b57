"""Calibration as a method: history matching in waves, on the sweep machinery, to a posterior.

A campaign file (``experiments/calibration_*.yaml``) is an experiment (sim/experiment.py:
scenarios, ``sampler: lhs``, the parameters' prior ranges, ``samples`` points a wave,
``replications`` a point, ``seed``, ``fixed``, ``chunk_runs``) with a ``calibration``
block: the targets, the number of waves, the cut-off and where the posterior goes.

Each wave is a sweep (sim/experiment/sweep.py: resumable Parquet parts, progress, ``kill -9``
safe) of a Latin hypercube over a box of the parameters: wave 1 over the prior
ranges, wave k over the box spanned by the sets wave k-1 kept, widened by a tenth of
its width a side and clipped to the prior. Every point is judged against every
target by its implausibility (Vernon, Goldstein and Bower 2010; Andrianakis et al.
2015 for stochastic models)::

    I = |E[model] - observed| / sqrt(Var_obs + Var_model + Var_discrepancy)

``E[model]`` is the mean of the statistic over the point's replications and
``Var_model = s^2 (1 + 1/R)``: the model's run-to-run variance (the record is one
realisation of a stochastic history, so a point is not ruled out because its runs
scatter around it) plus the Monte Carlo variance of the estimated mean. A point is
kept (not implausible) when the largest I over the targets is below the cut-off (3,
Pukelsheim's three-sigma rule), or, with ``implausibility_order: k``, the k-th largest
(Vernon, Goldstein and Bower 2010 cut on the second and third largest in early waves, so
that one target the model cannot reach yet does not rule out every set). The kept sets of every wave form the posterior (a
set, each kept point weighted alike), written by :func:`sim.posterior.write_posterior`.

A day column (``pokrovsk_fall_day``...) that is empty because the event did not
happen within the run is counted as the day after the run's last (censored): the
point's mean is then a lower bound, which errs towards keeping it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError

from sim import __version__
from sim.core.errors import InputError
from sim.core.io import write_atomic, write_text_atomic
from sim.analysis import skill
from sim.experiment import Experiment, ExperimentDoc, Knob, design, experiment_doc, refuse_own_posteriors
from sim.outcomes import FALL_DAY_PREFIX
from sim.posterior import write_posterior
from sim.outcomes import RECORDED as OUTCOME_COLUMNS
from sim.scenario import validation_error_line
from sim.schema import Strict
from sim.theater import record
from sim.yamlio import load_yaml_file

WIDEN = 0.10         # a wave's box is widened by this share of its width on each side
CUTOFF_DEFAULT = 3.0  # Pukelsheim's 3-sigma rule, the usual history-matching cut-off


GROUND = "ground_taken_km2"  # the attacker's gain in the agglomeration window by a horizon (sim/analysis/skill.py)


class Target(Strict):
    """One observed quantity of the record and the statistic of the model that answers it."""

    name: str = Field(min_length=1)
    scenario: str = Field(description="the name of one of the campaign's scenarios (its start date is the hindcast's)")
    statistic: str = Field(description="an outcome column of runs.parquet (pokrovsk_fall_day, fall_day.<Town>, ...) "
                                       "or ground_taken_km2 (needs horizon), averaged over a point's replications")
    horizon: int | None = Field(default=None, ge=1, description="days after the start (ground_taken_km2 only)")
    observed: float | Literal["record"] = Field(description="a number, or record: read from DeepState's files")
    observed_sd: float = Field(ge=0, description="standard deviation of the observation's error")
    discrepancy_sd: float = Field(ge=0, description="standard deviation of the model's structural discrepancy")
    reason: str = Field(min_length=20, description="the source of the observation and why these two spreads")

    @property
    def column(self) -> str:
        return f"{self.statistic}@{self.horizon}" if self.horizon else self.statistic

    @property
    def is_day(self) -> bool:
        return self.statistic.endswith("_day") or self.statistic.startswith(FALL_DAY_PREFIX)


class Calibration(Strict):
    """A campaign's ``calibration`` block: the waves, the cut-off, the targets, where the posterior goes."""

    waves: int = Field(default=2, ge=1, le=20)
    cutoff: float = Field(default=CUTOFF_DEFAULT, gt=0)
    implausibility_order: int = Field(default=1, ge=1, le=3, description=(
        "cut on the k-th largest implausibility over the targets: 1 the largest; 2 or 3 allow one or two "
        "targets the model cannot reach yet (Vernon, Goldstein and Bower 2010), said in the report"))
    posterior: str | None = Field(default=None, description="where the posterior is also written, relative to this file")
    targets: list[Target] = Field(min_length=1)


class Campaign:
    """A campaign as read: the experiment (wave 1 over the prior), its calibration block, its file."""

    def __init__(self, doc: ExperimentDoc, calibration: Calibration, observed: dict[str, float]) -> None:
        self.doc = doc
        self.calibration = calibration
        self.observed = observed  # target name -> the observed value (``record`` read from DeepState)

    @property
    def name(self) -> str:
        return self.doc.experiment.name

    @property
    def prior(self) -> dict[str, tuple[float, float]]:
        return {p: (k.range[0], k.range[1]) for p, k in self.doc.experiment.parameters.items()}

    def censor(self, target: Target) -> int | None:
        """The day an empty day column of ``target`` counts as: one after its scenario's last day."""
        if not target.is_day:
            return None
        return run_days(self.doc, next(d for d in self.doc.scenarios if d.scenario.name == target.scenario)) + 1


def target_values(column: pd.Series, censor: int | None) -> np.ndarray:
    """A target's statistic in each run, as numbers; an empty day is the censoring day."""
    values = pd.to_numeric(column, errors="coerce").to_numpy(float)
    return values if censor is None else np.where(np.isnan(values), censor, values)


def kept_runs_quantiles(runs: pd.DataFrame, points: pd.DataFrame, campaign: Campaign) -> dict[str, tuple]:
    """Per target, the 5%, 50% and 95% of its statistic over every run of every kept point
    (the posterior's own spread beside the record)."""
    kept = points.loc[points["kept"], ["wave", "point"]]
    ok = runs[runs["status"] == "ok"].merge(kept, on=["wave", "point"])
    out = {}
    for t in campaign.calibration.targets:
        values = target_values(ok.loc[ok["scenario"] == t.scenario, t.column], campaign.censor(t))
        values = values[np.isfinite(values)]
        out[t.name] = tuple(np.quantile(values, [0.05, 0.5, 0.95])) if len(values) else (math.nan,) * 3
    return out


def run_days(doc: ExperimentDoc, scenario) -> int:
    """How many days a scenario of the campaign runs (its ``days``, or the campaign's ``fixed`` one)."""
    from sim.scenario import replace_values

    return int(replace_values(scenario.scenario, dict(doc.experiment.fixed), source="fixed").days)


# ------------------------------------------------------------------ reading
def load_campaign(path: str | Path, sets: list[str] | None = None) -> Campaign:
    """Read and validate a campaign file; every problem is one InputError line."""
    path = Path(path)
    data, locations = load_yaml_file(path)
    if not isinstance(data, dict) or "calibration" not in data:
        raise InputError("expected a campaign: an experiment (name, scenarios, sampler: lhs, parameters, ...) "
                         "with a calibration block", source=str(path), line=1)
    block = data.pop("calibration")
    try:
        calibration = Calibration.model_validate(block)
    except ValidationError as exc:
        raise _nested(validation_error_line(exc, Calibration, _under(locations, "calibration"), str(path))) from None
    _check_statistics(calibration, locations, str(path))
    if data.get("sampler") != "lhs":
        src, line = locations.get(("sampler",), (str(path), None))
        raise InputError(f"a campaign samples a Latin hypercube: expected lhs, found {data.get('sampler')!r}",
                         source=src, line=line, path="sampler")
    data.setdefault("outcomes", sorted({t.statistic for t in calibration.targets if t.statistic in OUTCOME_COLUMNS})
                    or ["pokrovsk_fall_day"])
    doc = experiment_doc(path, data, locations, sets)
    refuse_own_posteriors(doc, locations, path, "draws from a posterior, which would override the parameters "
                          "being calibrated; calibrate without it")
    observed = {t.name: _observed(t, doc, _target_at(locations, str(path), i))
                for i, t in enumerate(calibration.targets)}
    return Campaign(doc, calibration, observed)


def _under(locations: dict, key: str) -> dict:
    """The locations of a block, keyed as if it were the top level."""
    return {p[1:]: v for p, v in locations.items() if p[:1] == (key,) and len(p) > 1}


def _nested(error: InputError) -> InputError:
    path = "calibration" if error.path in (None, "(top level)") else f"calibration.{error.path}"
    return InputError(error.message, source=error.source, line=error.line, path=path)


def _target_at(locations: dict, source: str, i: int) -> dict:
    src, line = locations.get(("calibration", "targets", str(i)), (source, None))
    return {"source": src, "line": line, "path": f"calibration.targets.{i}"}


def _check_statistics(calibration: Calibration, locations: dict, source: str) -> None:
    seen = set()
    for i, t in enumerate(calibration.targets):
        where = _target_at(locations, source, i)
        if t.name in seen:
            raise InputError(f"two targets are named {t.name!r}", **where)
        seen.add(t.name)
        known = t.statistic in OUTCOME_COLUMNS or t.statistic.startswith(FALL_DAY_PREFIX) or t.statistic == GROUND
        if not known:
            raise InputError(f"statistic {t.statistic!r} is not an outcome column of runs.parquet, "
                             f"{FALL_DAY_PREFIX}<Town> or {GROUND}", **where)
        if (t.horizon is None) == (t.statistic == GROUND):
            raise InputError(f"horizon: {GROUND} needs one, the other statistics take none", **where)
        if t.observed == "record" and not (t.statistic == GROUND or t.statistic.startswith(FALL_DAY_PREFIX)):
            raise InputError(f"observed: the record gives {GROUND} and {FALL_DAY_PREFIX}<Town>; give a number", **where)
        if t.observed_sd == 0 and t.discrepancy_sd == 0:
            raise InputError("observed_sd and discrepancy_sd are both 0: no record is known exactly", **where)


def _observed(t: Target, doc: ExperimentDoc, where: dict) -> float:
    """A target's observed value, checked against its scenario (``record``: from DeepState's files)."""
    from sim.theater import build_grid, theater_of

    scen = next((d for d in doc.scenarios if d.scenario.name == t.scenario), None)
    if scen is None:
        names = ", ".join(d.scenario.name for d in doc.scenarios)
        raise InputError(f"scenario {t.scenario!r} is not one of the campaign's ({names})", **where)
    theater, start = theater_of(scen), scen.scenario.start_date
    if t.statistic.startswith(FALL_DAY_PREFIX) and t.statistic[len(FALL_DAY_PREFIX):] not in theater.settlement_names:
        raise InputError(f"{t.statistic!r}: no such settlement in the theater", **where)
    days = run_days(doc, scen)
    if t.horizon is not None and t.horizon > days:
        raise InputError(f"horizon {t.horizon} is beyond the scenario's {days} days", **where)
    if t.observed != "record":
        return float(t.observed)
    from sim import hindcast

    if t.statistic.startswith(FALL_DAY_PREFIX):
        town = t.statistic[len(FALL_DAY_PREFIX):]
        day = hindcast.real_capture_days(theater, [town], start)[town]
        if not math.isfinite(day):
            raise InputError(f"the record shows no fall of {town} after {start}; give a number", **where)
        return day
    end = start + dt.timedelta(days=t.horizon)
    if end > hindcast.record_end():
        raise InputError(f"{end} is beyond the record shipped (to {hindcast.record_end()})", **where)
    grid = build_grid(theater, scen.scenario.grid.cell_km)
    return window_gain(grid, record.occupied_mask(grid, start), record.occupied_mask(grid, end))


def window_gain(grid, held_start: np.ndarray, held_end: np.ndarray) -> float:
    """Ground the attacker gained in the agglomeration window between two attacker-held grids, km²."""
    from sim.hindcast import window_mask

    window = window_mask(grid)
    area = grid.cell_area_km2
    return float(skill.area_in_window_km2(held_end, window, area) - skill.area_in_window_km2(held_start, window, area))


# ------------------------------------------------------------------ the arithmetic
def implausibility(expected: float, observed: float, var_obs: float, var_model: float, var_disc: float) -> float:
    """``|E[model] - observed| / sqrt(Var_obs + Var_model + Var_discrepancy)`` (inf when it cannot be judged)."""
    total = var_obs + var_model + var_disc
    if not math.isfinite(expected) or total <= 0:
        return math.inf
    return abs(expected - observed) / math.sqrt(total)


def model_moments(values: np.ndarray) -> tuple[float, float]:
    """The mean of a point's replications and ``Var_model = s^2 (1 + 1/R)`` (run-to-run plus the mean's error)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return math.nan, math.nan
    s2 = float(values.var(ddof=1))
    return float(values.mean()), s2 * (1 + 1 / len(values))


def judge(runs: pd.DataFrame, campaign: Campaign) -> pd.DataFrame:
    """One row per point: the knobs, each target's E, Var_model and I, the largest I and ``kept``."""
    knobs = list(campaign.prior)
    ok = runs[runs["status"] == "ok"]
    points = runs.groupby("point", sort=True)[knobs].first()
    cutoff = campaign.calibration.cutoff
    columns = []
    for t in campaign.calibration.targets:
        part = ok[ok["scenario"] == t.scenario]
        if t.column not in part:  # every run of the wave failed: nothing to judge, nothing kept
            part = part.assign(**{t.column: np.nan})
        censor = campaign.censor(t)
        e_col, v_col, i_col = f"{t.name}:E", f"{t.name}:var_model", f"{t.name}:I"
        for point in points.index:
            e, v = model_moments(target_values(part.loc[part["point"] == point, t.column], censor))
            points.loc[point, [e_col, v_col]] = e, v
            observed = campaign.observed[t.name]
            points.loc[point, i_col] = implausibility(e, observed, t.observed_sd ** 2, v, t.discrepancy_sd ** 2)
        columns.append(i_col)
    ordered = -np.sort(-points[columns].to_numpy(dtype=float), axis=1)  # each point's I, largest first
    points["I_max"] = ordered[:, 0]
    points["I_cut"] = ordered[:, campaign.calibration.implausibility_order - 1]
    points["kept"] = points["I_cut"] < cutoff
    return points.reset_index()


# ------------------------------------------------------------------ the waves
def wave_box(kept: pd.DataFrame, prior: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """The box of the next wave: the kept sets' span, widened by WIDEN a side, inside the prior."""
    box = {}
    for p, (lo, hi) in prior.items():
        a, b = float(kept[p].min()), float(kept[p].max())
        pad = WIDEN * max(b - a, 1e-3 * (hi - lo))
        box[p] = (max(lo, a - pad), min(hi, b + pad))
    return box


def wave_experiment(campaign: Campaign, wave: int, box: dict[str, tuple[float, float]]) -> Experiment:
    """The sweep of one wave: a Latin hypercube over ``box``; its own design seed, the campaign's replications."""
    exp = campaign.doc.experiment
    knobs = {p: Knob(range=list(box[p]), integer=exp.parameters[p].integer) for p in exp.parameters}
    outcomes = list(dict.fromkeys([*exp.outcomes, *(t.column for t in campaign.calibration.targets)]))
    return exp.model_copy(update={"name": f"{exp.name}_wave{wave}", "parameters": knobs, "seed": exp.seed + wave - 1,
                                  "outcomes": outcomes})


@dataclass(frozen=True)
class WindowReplication:
    """A replication that also reports the ground gained in the agglomeration window by each horizon
    its scenario's targets ask for (``ground_taken_km2@H``), from the Recorder's snapshots."""

    horizons: dict[str, tuple[int, ...]]  # scenario name -> horizons

    def __call__(self, spec, theater, root_seed: int, index: int):
        from sim.experiment.replication import run_one
        from sim.theater import build_grid

        days = self.horizons.get(spec.name, ())
        run = run_one(spec, theater, root_seed, index, (0, *days))
        grid = build_grid(theater, spec.grid.cell_km)
        for h in days:
            run.row[f"{GROUND}@{h}"] = window_gain(grid, run.snapshots[0], run.snapshots[h])
        return run


def replication_of(campaign: Campaign) -> WindowReplication | None:
    """The sweep's replication for this campaign: the runner's own unless a target needs the window."""
    horizons: dict[str, set[int]] = {}
    for t in campaign.calibration.targets:
        if t.statistic == GROUND:
            horizons.setdefault(t.scenario, set()).add(int(t.horizon))
    return WindowReplication({k: tuple(sorted(v)) for k, v in horizons.items()}) if horizons else None


def run_wave(campaign: Campaign, exp: Experiment, out: Path, *, evaluator, resume: bool, force: bool,
             progress: bool) -> tuple[pd.DataFrame, str]:
    """Run (or finish, or reuse) one wave's sweep in ``out`` on ``evaluator`` (sim/experiment/evaluators.py)."""
    from sim.experiment.store import finished
    from sim.experiment.sweep import sweep

    if resume and (out / "design.parquet").exists():
        if not pd.read_parquet(out / "design.parquet").equals(design(exp)):
            raise InputError("the campaign changed since this wave was run; use --force to start again", source=str(out))
        if finished(out):  # a whole wave (sim/experiment/store.py) is taken as it is
            return pd.read_parquet(out / "runs.parquet"), "complete"
    doc = ExperimentDoc(campaign.doc.path, exp, campaign.doc.scenarios, campaign.doc.locations)
    return sweep(doc, out, evaluator=evaluator, resume=resume, force=force, progress=progress,
                 replicate=replication_of(campaign))


def calibrate(campaign: Campaign, out: Path, *, evaluator, resume: bool = False, force: bool = False,
              progress: bool = True) -> dict:
    """Run the campaign's waves into ``out/wave-K``; write points.csv, report.md and the posterior."""
    out.mkdir(parents=True, exist_ok=True)
    box = {p: r for p, r in campaign.prior.items()}
    judged, waves, all_runs, status = [], [], [], "complete"
    for wave in range(1, campaign.calibration.waves + 1):
        exp = wave_experiment(campaign, wave, box)
        runs, status = run_wave(campaign, exp, out / f"wave-{wave}", evaluator=evaluator, resume=resume, force=force,
                                progress=progress)
        if status != "complete":
            break
        points = judge(runs, campaign).assign(wave=wave)
        judged.append(points)
        all_runs.append(runs.assign(wave=wave))
        waves.append({"wave": wave, "box": box, "points": len(points), "runs": len(runs),
                      "failed": int((runs["status"] == "failed").sum()), "kept": int(points["kept"].sum())})
        if not points["kept"].any():
            status = "no set kept"
            break
        box = wave_box(points[points["kept"]], campaign.prior)
    if not judged:
        return {"status": status, "waves": waves}
    points = pd.concat(judged, ignore_index=True)
    write_atomic(out / "points.csv", lambda tmp: points.to_csv(tmp, index=False))
    result = {"status": status, "waves": waves, "points": points, "runs": sum(w["runs"] for w in waves),
              "kept_runs": kept_runs_quantiles(pd.concat(all_runs, ignore_index=True), points, campaign)}
    if status == "complete":
        result["posterior"] = _write_posteriors(campaign, out, points, result)
    write_text_atomic(out / "report.md", report_text(campaign, result))
    return result


def _write_posteriors(campaign: Campaign, out: Path, points: pd.DataFrame, result: dict) -> list[Path]:
    kept = points[points["kept"]]
    knobs = list(campaign.prior)
    sets = kept[knobs].to_numpy().tolist()
    header = posterior_header(campaign, result)
    paths = [write_posterior(out / "posterior.yaml", header, knobs, sets)]
    if campaign.calibration.posterior:
        paths.append(write_posterior(campaign.doc.path.parent / campaign.calibration.posterior, header, knobs, sets))
    return paths


def cut_name(c: Calibration) -> str:
    """Which implausibility a campaign cuts on, in words."""
    return {1: "largest", 2: "second largest", 3: "third largest"}[c.implausibility_order]


def posterior_header(campaign: Campaign, result: dict) -> dict:
    c = campaign.calibration
    return {
        "campaign": campaign.name,
        "file": campaign.doc.path.name,
        "created": dt.datetime.now(dt.UTC).date().isoformat(),
        "package_version": __version__,
        "method": f"history matching by direct simulation, {len(result['waves'])} waves, "
                  f"implausibility cut-off {c.cutoff:g} on the {cut_name(c)} over the targets",
        "runs": int(result["runs"]),
        "replications_per_point": campaign.doc.experiment.replications,
        "kept_per_wave": [w["kept"] for w in result["waves"]],
        "targets": [f"{t.name}: {t.column} of {t.scenario} = {campaign.observed[t.name]:.6g} "
                    f"(sd obs {t.observed_sd:g}, discrepancy {t.discrepancy_sd:g})" for t in c.targets],
    }


# ------------------------------------------------------------------ the report
def report_text(campaign: Campaign, result: dict) -> str:
    """The campaign's report: runs, points kept per wave, each parameter's spread, the fit to each target."""
    lines = [f"# Calibration campaign {campaign.name}", "", f"File: `{campaign.doc.path}`; status: **{result['status']}**; "
             f"{result.get('runs', 0)} runs ({campaign.doc.experiment.replications} replications a point).", "",
             "## Waves", "", f"Kept: the {cut_name(campaign.calibration)} implausibility over the targets below "
             f"{campaign.calibration.cutoff:g}.", "", "| wave | points | runs | failed | kept |", "|---|---|---|---|---|"]
    lines += [f"| {w['wave']} | {w['points']} | {w['runs']} | {w['failed']} | {w['kept']} |" for w in result["waves"]]
    points = result.get("points")
    if points is None:
        return "\n".join(lines) + "\n"
    kept = points[points["kept"]]
    lines += ["", "## Parameters: prior and posterior", "",
              "| parameter | prior range | prior sd | posterior range | posterior mean | posterior sd |",
              "|---|---|---|---|---|---|"]
    for p, (lo, hi) in campaign.prior.items():
        post = (f"{kept[p].min():.4g}-{kept[p].max():.4g} | {kept[p].mean():.4g} | {kept[p].std(ddof=1):.3g}"
                if len(kept) > 1 else "- | - | -")
        lines.append(f"| `{p}` | {lo:g}-{hi:g} | {(hi - lo) / math.sqrt(12):.3g} | {post} |")
    lines += ["", "## Fit to each target", "", "E is the mean over a point's replications; I its implausibility; "
              "the runs of the kept points are every replication of every kept set: the posterior's spread.", "",
              "| target | observed | sd obs | sd discrepancy | E, all points (range) | E, kept (range) | "
              "runs of the kept points: median (5-95%) | I, best point | share of points with I < cut-off |",
              "|---|---|---|---|---|---|---|---|---|"]
    for t in campaign.calibration.targets:
        e, i = points[f"{t.name}:E"], points[f"{t.name}:I"]
        ek = kept[f"{t.name}:E"]
        kept_text = f"{ek.mean():.4g} ({ek.min():.4g}-{ek.max():.4g})" if len(kept) else "-"
        q05, q50, q95 = result["kept_runs"][t.name]
        lines.append(f"| {t.name} | {campaign.observed[t.name]:.4g} | {t.observed_sd:g} | {t.discrepancy_sd:g} | {e.mean():.4g} "
                     f"({e.min():.4g}-{e.max():.4g}) | {kept_text} | {q50:.4g} ({q05:.4g}-{q95:.4g}) | {i.min():.2f} | "
                     f"{(i < campaign.calibration.cutoff).mean():.2f} |")
    lines += ["", "Targets and the reasoning behind their spreads:", ""]
    lines += [f"- **{t.name}** ({t.column}, {t.scenario}): {t.reason}" for t in campaign.calibration.targets]
    return "\n".join(lines) + "\n"
