"""``sim robust``: which option holds up across the deep uncertainties, and which facts would change the choice.

A robust experiment is a sweep's experiment file (sim/experiment.py) read another way: its ``scenarios``
are the options, its ``parameters`` the deep uncertainties, each design point a *world*. A top-level
``posterior: FILE`` adds the calibrated parameter sets (sim/posterior.py) as one more sampled factor:
each world draws one kept set, used by every option and every replication of that world (the sets are
dealt out in shuffled rounds, so each is used about equally). The runs go through the sweep machinery
(resumable Parquet parts, progress, the worker pools); replication ``r`` has the same seed in every world
and for every option (common random numbers). The analysis is sim/analysis/robust.py; the method
docs/ROBUST.md.

Writes into ``--out``: the sweep's files (parts/, runs.parquet, design.parquet with each world's
``posterior_row``, manifest.json), ``robust.json`` (what the analysis needs), ``options.csv``,
``worlds.csv``, ``evpi.csv``, ``prim.json``, the figures, ``report.md`` and ``report.html``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.errors import InputError, found
from sim.core.io import write_atomic, write_text_atomic
from sim.experiment import ExperimentDoc, Knob, experiment_doc, refuse_own_posteriors
from sim.experiment.requests import RobustRequest
from sim.outcomes import headline
from sim.posterior import Posterior, check_fits, load_posterior
from sim.yamlio import load_yaml_file

ROBUST_FILE = "robust.json"
SAMPLERS = ("lhs", "grid")   # worlds are a sample of the uncertainty space, not a structured design


class RobustDoc:
    """A robust experiment as read: the experiment (options, uncertainties) and its posterior, if any."""

    def __init__(self, doc: ExperimentDoc, posterior: Posterior | None) -> None:
        self.doc = doc
        self.posterior = posterior

    @property
    def experiment(self):
        return self.doc.experiment

    def options(self) -> list[str]:
        return [d.scenario.name for d in self.doc.scenarios]

    def horizon(self) -> int:
        days = {int(self.experiment.fixed.get("days", d.scenario.days)) for d in self.doc.scenarios}
        return max(days)


def load_robust(path: str | Path, sets: list[str] | None = None) -> RobustDoc:
    """Read and check a robust experiment; every problem is one InputError line."""
    path = Path(path)
    data, locations = load_yaml_file(path)
    if not isinstance(data, dict):
        raise InputError(f"expected a robust experiment (name, scenarios, sampler, parameters, ...), found {found(data)}",
                         source=str(path), line=1)
    post_name = data.pop("posterior", None)
    data.setdefault("outcomes", [])
    data["outcomes"] = list(dict.fromkeys([*data["outcomes"], *(o.column for o in headline())])) \
        if isinstance(data["outcomes"], list) else data["outcomes"]
    doc = experiment_doc(path, data, locations, sets)
    exp = doc.experiment

    def bad(message: str, key: str) -> InputError:
        src, line = locations.get((key,), (str(path), None))
        return InputError(message, source=src, line=line, path=key)

    if exp.sampler not in SAMPLERS:
        raise bad(f"the worlds of a robust experiment are a sample: expected lhs or grid, found {exp.sampler!r}",
                  "sampler")
    if len(doc.scenarios) < 2:
        raise bad("a robust choice needs at least two options (scenarios)", "scenarios")
    if exp.replications < 2:
        raise bad("at least 2 replications a world are needed to tell a close call from a win", "replications")
    if "days" in exp.parameters:
        raise bad("the horizon (days) cannot be a deep uncertainty here; fix it with fixed: {days: N}", "parameters")
    refuse_own_posteriors(doc, locations, path, "draws its own posterior set each replication; give the "
                          "posterior once, as the experiment's posterior: key")
    posterior = _posterior(post_name, path, doc, bad) if post_name is not None else None
    return RobustDoc(doc, posterior)


def _posterior(name, path: Path, doc: ExperimentDoc, bad) -> Posterior:
    if not isinstance(name, str) or not name.strip():
        raise bad(f"expected a posterior file (sim calibrate), found {found(name)}", "posterior")
    try:
        post = load_posterior(path.parent / name)
    except InputError as exc:
        if exc.message != "posterior file not found":
            raise
        raise bad(f"posterior file {name!r} not found (looked in {path.parent}/)", "posterior") from None
    clash = [p for p in post.parameters if p in doc.experiment.parameters]
    if clash:
        raise bad(f"{clash[0]!r} is both a deep uncertainty and a posterior parameter; keep one", "posterior")
    for d in doc.scenarios:
        check_fits(post, d.scenario)
    return post


# ------------------------------------------------------------------ the worlds
def world_design(rdoc: RobustDoc) -> pd.DataFrame:
    """The worlds: the experiment's design and, with a posterior, each world's kept set (``posterior_row``
    and its values under their dotted paths). The sets are dealt in rounds of a seeded shuffle."""
    from sim.core.seeding import stream_key
    from sim.experiment.samplers import design_apart

    table = design_apart(rdoc.experiment)
    post = rdoc.posterior
    if post is None:
        return table
    rng = np.random.default_rng([rdoc.experiment.seed, stream_key("posterior")])
    rounds = math.ceil(len(table) / len(post.sets))
    rows = np.concatenate([rng.permutation(len(post.sets)) for _ in range(rounds)])[:len(table)]
    table["posterior_row"] = rows
    for p in post.parameters:
        table[p] = [post.sets[r][post.parameters.index(p)] for r in rows]
    return table


def sweep_doc(rdoc: RobustDoc) -> ExperimentDoc:
    """The experiment the sweep runs: the posterior's parameters become knobs too, so each world's set is
    applied (sim.experiment.point_overrides) and recorded in runs.parquet like every other input."""
    exp = rdoc.experiment
    if rdoc.posterior is None:
        return rdoc.doc
    extra = {p: Knob(values=sorted(set(rdoc.posterior.column(p)))) for p in rdoc.posterior.parameters}
    wider = exp.model_copy(update={"parameters": {**exp.parameters, **extra}})
    return ExperimentDoc(rdoc.doc.path, wider, rdoc.doc.scenarios, rdoc.doc.locations)


def settings(rdoc: RobustDoc, table: pd.DataFrame) -> dict:
    """robust.json: what the analysis needs to redraw a folder without the experiment file."""
    exp = rdoc.experiment
    post = rdoc.posterior
    return {"experiment": exp.name, "file": str(rdoc.doc.path), "options": rdoc.options(),
            "uncertainties": list(exp.parameters), "posterior": post.path if post else None,
            "posterior_parameters": list(post.parameters) if post else [], "worlds": int(len(table)),
            "replications": exp.replications, "seed": exp.seed, "horizon": rdoc.horizon(),
            "start_date": str(rdoc.doc.scenarios[0].scenario.start_date)}


# ------------------------------------------------------------------ the command
def robust_command(req: RobustRequest) -> int:
    """``sim robust``: the options' runs over the worlds, then the analysis, its figures and report."""
    from sim.experiment.evaluators import make_evaluator
    from sim.experiment.store import ROBUST, out_lock
    from sim.experiment.sweep import sweep

    rdoc = load_robust(req.experiment, list(req.sets))
    out = Path(req.out)
    with out_lock(out):
        table = world_design(rdoc)
        runs, status = sweep(sweep_doc(rdoc), out, evaluator=make_evaluator(req.workers, req.scheduler), resume=req.resume,
                             force=req.force, table=table, kind=ROBUST)
        write_text_atomic(out / ROBUST_FILE, json.dumps(settings(rdoc, table), indent=2))
        failed = int((runs["status"] == "failed").sum()) if len(runs) else 0
        print(f"{len(runs)} runs in {out}/runs.parquet ({status}; {failed} failed)")
        if status != "complete":
            print(f"the analysis waits for every run: sim robust {req.experiment} --out {out} --resume")
            return 130 if status == "interrupted" else 1
        for path in analyse_folder(out):
            print(f"wrote {path}")
        print((out / "report.md").read_text(encoding="utf-8").split("## Bottom line", 1)[1].split("\n## ", 1)[0].strip())
    return 0


def analyse_folder(out: Path) -> list[Path]:
    """Analyse a finished robust folder and write its tables, figures and report (``sim plot DIR`` too)."""
    from sim.analysis import robust as ra
    from sim.plots.html import robust_html
    from sim.plots.robust import plot_evpi, plot_regret, plot_where_wins

    try:
        meta = json.loads((out / ROBUST_FILE).read_text())
        runs = pd.read_parquet(out / "runs.parquet")
        design = pd.read_parquet(out / "design.parquet")
    except (OSError, ValueError) as exc:
        raise InputError(f"not a finished sim robust folder ({exc})", source=str(out)) from None
    horizon = int(meta["horizon"])
    # a "held on day D" past the horizon was never observed: it would read as held in every run
    outcomes = [o for o in headline() if o.column in runs and (o.held_until is None or o.held_until <= horizon)]
    inputs = [c for c in [*meta["uncertainties"], *meta["posterior_parameters"]]
              if c in design and pd.api.types.is_numeric_dtype(design[c])]
    values = ra.run_values(runs, outcomes, horizon, meta["options"])
    summaries, worlds, evpis, prims = [], [], [], {}
    for o in outcomes:
        summary = ra.option_summary(values, o)
        summaries.append(summary)
        win = ra.winners(values, o).assign(outcome=o.name)
        worlds.append(win)
        evpis.append(ra.evpi_table(values, design, inputs, o, seed=meta["seed"]))
        rival = ra.challenger(summary)
        if rival is not None:
            prims[o.name] = ra.discovery(values, design, inputs, o, ra.robust_option(summary), rival)
    summary = pd.concat(summaries, ignore_index=True)
    world = pd.concat(worlds, ignore_index=True)
    evpi = pd.concat(evpis, ignore_index=True)
    written = [_csv(out / "options.csv", summary), _csv(out / "worlds.csv", world), _csv(out / "evpi.csv", evpi),
               write_text_atomic(out / "prim.json", json.dumps(prims, indent=2, default=_plain))]
    regrets = {o.name: ra.regret(ra.world_means(values, o), o.better) for o in outcomes}
    figures = [plot_where_wins(world, design, evpi, outcomes, meta, out / "robust_where.png"),
               plot_regret(regrets, summary, outcomes, meta, out / "robust_regret.png"),
               plot_evpi(evpi, outcomes, meta, out / "robust_evpi.png")]
    facts = ra.facts_to_collect(evpi)
    text = ra.report_markdown(meta, outcomes, summary, evpi, prims, facts, [f.name for f in figures])
    written += figures
    written.append(write_text_atomic(out / "report.md", text))
    written.append(robust_html(out, text, figures))
    return written


def _csv(path: Path, frame: pd.DataFrame) -> Path:
    return write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False))


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(type(value).__name__)
