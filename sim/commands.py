"""The commands that run the model and present what it gives: ``sim run``, ``sim compare``,
``sim sweep``, ``sim calibrate`` and ``sim validate-model`` with its record bench (floor 7, beside
``sim.cli``).

Each takes its typed request (sim/experiment/requests.py), runs replications through the
experiment floor below (sim/experiment/: replication, evaluators, the results store), and
hands the frames to analysis and the plots; the experiment floor neither computes statistics
nor draws.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim import hindcast
from sim.core.errors import InputError
from sim.core.io import write_atomic, write_text_atomic
from sim.core.seeding import replication_seed
from sim.experiment.evaluators import make_evaluator
from sim.experiment.replication import LostReplication, Replication, run_scenario
from sim.experiment.requests import (CalibrateRequest, CompareRequest, RunRequest, SweepRequest,
                                     ValidateModelRequest)
from sim.experiment.store import (COMPARE, SWEEP, check_compare_out, check_out_dir, failed_line, failed_listing,
                                  new_manifest, out_lock, read_manifest, write_manifest, write_results)
from sim.scenario import ScenarioDoc
from sim.theater import load_scenario, theater_of


def encirclement_half_widths(reps: dict[str, list[Replication]]) -> dict[str, float]:
    """Half-widths of the 95% intervals of P(encirclement) per option and of its paired differences."""
    from sim.analysis.compare import paired_difference
    from sim.analysis.stats import wilson_interval

    out = {}
    names = list(reps)
    flags = {n: {r.index: float(r.row["encircled"]) for r in reps[n]} for n in names}
    for n in names:
        k, m = int(sum(flags[n].values())), len(flags[n])
        lo, hi = wilson_interval(k, m)
        out[n] = (hi - lo) / 2
    for n in names[1:]:
        common = sorted(set(flags[names[0]]) & set(flags[n]))
        d = paired_difference([flags[names[0]][i] for i in common], [flags[n][i] for i in common])
        out[f"{n} - {names[0]}"] = (d["ci_high"] - d["ci_low"]) / 2 if d["n"] > 1 else float("inf")
    return out


def run_adaptive(docs: list[ScenarioDoc], *, precision: float, cap: int, seed: int, workers: int,
                 batch: int = 50, scheduler: str | None = None) -> tuple[dict[str, list[Replication]], dict[str, list[LostReplication]], str,
                                           dict[str, float]]:
    """Add replications in batches until every 95% interval of P(encirclement) (and, for several
    options, of its paired differences) is at most +/- ``precision`` wide, or ``cap`` is reached."""
    reps: dict[str, list[Replication]] = {d.scenario.name: [] for d in docs}
    lost: dict[str, list[LostReplication]] = {d.scenario.name: [] for d in docs}
    done, widths = 0, {}
    while done < cap:
        size = min(batch, cap - done)
        for d in docs:
            got, gone, status = run_scenario(d, None, runs=size, seed=seed, workers=workers, start=done,
                                             scheduler=scheduler)
            reps[d.scenario.name].extend(got)
            lost[d.scenario.name].extend(gone)
            if status != "complete":
                return reps, lost, "interrupted", encirclement_half_widths(reps)
        done += size
        widths = encirclement_half_widths(reps)
        print(f"{done} replications: widest interval of P(encirclement) +/- {max(widths.values()):.3f} "
              f"(target +/- {precision:.3f})", file=sys.stderr)
        if max(widths.values()) <= precision:
            break
    return reps, lost, "complete", widths


def run_command(req: RunRequest) -> int:
    """``sim run``: replications of one scenario, their files, a summary, figures and maps."""
    doc = load_scenario(req.scenario, list(req.sets))
    out = Path(req.out)
    with out_lock(out):
        check_out_dir(out, req.force)
        return _run_into(out, doc, req)


def _run_into(out: Path, doc: ScenarioDoc, req: RunRequest) -> int:
    from sim.plots.report import print_summary
    from sim.plots.run import plot_results

    started = time.time()
    if req.precision:
        by_name, lost_by_name, status, widths = run_adaptive([doc], precision=req.precision, cap=req.runs,
                                                             seed=req.seed, workers=req.workers, scheduler=req.scheduler)
        reps, lost = by_name[doc.scenario.name], lost_by_name[doc.scenario.name]
        print(f"{len(reps)} replications for P(encirclement) +/- {max(widths.values()):.3f} "
              f"(asked +/- {req.precision}, cap {req.runs})")
    else:
        reps, lost, status = run_scenario(doc, out, runs=req.runs, seed=req.seed, workers=req.workers, start=req.first,
                                          scheduler=req.scheduler)
    if not reps:
        print(failed_line(lost) or "interrupted before any replication finished; nothing written", file=sys.stderr)
        return 1 if lost and status == "complete" else 130
    write_results(out, doc, reps, root_seed=req.seed, requested=req.runs, started=started, status=status,
                  workers=req.workers, lost=lost, evaluator=make_evaluator(req.workers, req.scheduler).name)
    runs = pd.read_parquet(out / "runs.parquet")
    print_summary(runs, f"{doc.scenario.name}: {len(runs)} replications, seed {req.seed}", int(doc.scenario.days))
    if lost:
        print(failed_line(lost))
    if not req.no_plots:
        figures = plot_results(out, req.map_levels)
        print(f"figures and maps: {', '.join(str(p.name) for p in figures)}")
    if req.animate:
        from sim.model.model import PokrovskModel
        from sim.plots.animate import animate

        model = PokrovskModel(doc.scenario, replication_seed(req.seed, req.first), theater_of(doc))
        for path in animate(model, out / "animation.gif"):
            print(f"animation: {path}")
    print(f"results in {out}/ ({status})")
    return 130 if status == "interrupted" else 0


# ------------------------------------------------------------------ compare
def compare_command(req: CompareRequest) -> int:
    """Run every scenario with the same seeds; tables, paired differences, figures and a report."""
    docs = option_docs(list(req.scenarios), list(req.sets), list(req.sets_for))
    names = [d.scenario.name for d in docs]
    check_compare_names(docs, req.baseline, list(req.towns))
    out = Path(req.out)
    with out_lock(out):
        check_compare_out(out, names, req.force)
        return _compare_into(out, docs, req)


def option_docs(files: list[str], sets: list[str], sets_for: list[str]) -> list[ScenarioDoc]:
    """Load each option; ``--set-for OPTION:KEY=VALUE`` overrides a value in the option named OPTION only."""
    docs = [load_scenario(s, sets) for s in files]
    names = [d.scenario.name for d in docs]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"two scenarios share the name {dup[0]!r}; each option needs its own name", source="sim compare")
    own: dict[str, list[str]] = {}
    for item in sets_for:
        name, sep, assignment = item.partition(":")
        if not sep or "=" not in assignment:
            raise InputError(f"--set-for {item!r}: expected OPTION:KEY=VALUE (e.g. withdraw:option.withdraw.trigger_day=10)",
                             source="sim compare")
        if name not in names:
            raise InputError(f"--set-for {item!r}: no option named {name!r} (options: {', '.join(names)})",
                             source="sim compare")
        own.setdefault(name, []).append(assignment)
    return [load_scenario(f, sets + own[d.scenario.name]) if d.scenario.name in own else d for f, d in zip(files, docs)]


def check_compare_names(docs: list[ScenarioDoc], baseline: str | None, towns: list[str] | None) -> None:
    """--baseline names an option; --towns name settlements of every option's theater (one line otherwise)."""
    names = [d.scenario.name for d in docs]
    if baseline is not None and baseline not in names:
        raise InputError(f"--baseline {baseline!r} is not an option (options: {', '.join(names)})", source="sim compare")
    for doc in docs:
        known = theater_of(doc).settlement_names
        for town in towns or []:
            if town not in known:
                raise InputError(f"--towns: no settlement {town!r} in {doc.scenario.name}'s theater "
                                 f"(e.g. {', '.join(known[:6])})", source="sim compare")
    if len(docs) < 2:
        raise InputError("needs at least two scenarios to compare (for one, use sim run)", source="sim compare")


@dataclass
class OptionResults:
    """What each option's run left in its folder, as the comparison reads it."""

    runs: dict[str, pd.DataFrame]
    series: dict[str, pd.DataFrame]
    folders: dict[str, Path]
    horizons: dict[str, int]
    lost: dict[str, list[LostReplication]]
    status: str = "complete"


def _run_options(out: Path, docs: list[ScenarioDoc], req: CompareRequest, started: float) -> OptionResults:
    """Run (or take from the adaptive run) each option's replications and write its folder."""
    res = OptionResults({}, {}, {}, {}, {})
    adaptive = None
    if req.precision:
        adaptive, adaptive_lost, st, widths = run_adaptive(docs, precision=req.precision, cap=req.runs,
                                                           seed=req.seed, workers=req.workers, scheduler=req.scheduler)
        print(f"{len(adaptive[docs[0].scenario.name])} replications per option for +/- {max(widths.values()):.3f} "
              f"on P(encirclement) and its paired differences (asked +/- {req.precision}, cap {req.runs})")
    for doc in docs:
        name = doc.scenario.name
        if adaptive is not None:
            reps, lost = adaptive[name], adaptive_lost[name]
        else:
            reps, lost, st = run_scenario(doc, out / name, runs=req.runs, seed=req.seed, workers=req.workers,
                                          scheduler=req.scheduler)
        res.lost[name] = lost
        if not reps:
            res.status = "interrupted" if st != "complete" else "failed"
            break
        write_results(out / name, doc, reps, root_seed=req.seed, requested=req.runs, started=started, status=st,
                      workers=req.workers, lost=lost, evaluator=make_evaluator(req.workers, req.scheduler).name)
        res.runs[name] = pd.read_parquet(out / name / "runs.parquet")
        res.series[name] = pd.read_parquet(out / name / "timeseries.parquet")
        res.folders[name], res.horizons[name] = out / name, int(doc.scenario.days)
        if st != "complete":
            res.status = st
            break
    return res


def _compare_into(out: Path, docs: list[ScenarioDoc], req: CompareRequest) -> int:
    started = time.time()
    res = _run_options(out, docs, req, started)
    for name, lost in res.lost.items():
        if lost:
            print(failed_line(lost, name), file=sys.stderr)
    if res.status == "failed":
        print("an option has no replication left; nothing compared", file=sys.stderr)
        return 1
    if not res.runs:
        print("interrupted before any replication finished; nothing written", file=sys.stderr)
        return 130
    # compare only the replications every option finished
    common = set.intersection(*(set(r["replication"]) for r in res.runs.values()))
    results = {k: v[v["replication"].isin(common)].reset_index(drop=True) for k, v in res.runs.items()}
    manifest = new_manifest(
        COMPARE, started, scenarios=[d.scenario.name for d in docs], root_seed=req.seed, replications=len(common),
        replications_requested=req.runs, baseline=req.baseline or docs[0].scenario.name, towns=list(req.towns),
        all_pairs=req.all_pairs, start_date=docs[0].scenario.start_date.isoformat(),
        replications_failed={name: failed_listing(lost) for name, lost in res.lost.items() if lost},
        status=res.status, evaluator=make_evaluator(req.workers, req.scheduler).name,
        scenario_sha256={d.scenario.name: d.digest for d in docs})
    write_comparison(out, results, res, manifest, req.map_levels)
    write_manifest(out, manifest)
    print(f"report: {out / 'report.md'} and {out / 'report.html'} ({res.status})")
    return 130 if res.status == "interrupted" else 0


def redraw_comparison(out: Path, levels=None) -> list[str]:
    """``sim plot`` on a compare folder: its tables, figures, reports and maps again, from the files
    the comparison wrote (the options' folders and the manifest), without running anything."""
    manifest = read_manifest(out, (COMPARE,))
    res = OptionResults({}, {}, {}, {}, {})
    for name in manifest["scenarios"]:
        folder = out / name
        if not (folder / "runs.parquet").exists():
            raise InputError(f"option {name!r} has no results folder here (its run did not finish)", source=str(out))
        res.runs[name], res.series[name] = pd.read_parquet(folder / "runs.parquet"), pd.read_parquet(folder / "timeseries.parquet")
        res.folders[name], res.horizons[name] = folder, int(load_scenario(folder / "scenario.yaml").scenario.days)
    common = set.intersection(*(set(r["replication"]) for r in res.runs.values()))
    results = {k: v[v["replication"].isin(common)].reset_index(drop=True) for k, v in res.runs.items()}
    write_comparison(out, results, res, manifest, levels)
    return ["report.md", "report.html"]


def write_comparison(out: Path, results: dict[str, pd.DataFrame], res: OptionResults, manifest: dict,
                     map_levels=None) -> None:
    """The comparison's tables, figures and reports, and each option's own figures (its seed, baseline,
    towns and all-pairs choice read from ``manifest``; ``map_levels``: the GIS contours' levels)."""
    from sim.analysis import compare as cmp
    from sim.analysis.report import build_report
    from sim.plots.html import compare_html
    from sim.plots.report import print_frame, write_report
    from sim.analysis.surprises import surprises
    from sim.outcomes import headline
    from sim.plots.compare import plot_comparison
    from sim.plots.gis import DEFAULT_LEVELS, write_comparison_gis
    from sim.plots.run import plot_results

    horizons, baseline, towns, seed = res.horizons, manifest["baseline"], list(manifest.get("towns", [])), manifest["root_seed"]
    table = cmp.option_table(results, horizons, towns)
    diff = cmp.difference_table(results, horizons, baseline, manifest.get("all_pairs", False), towns)
    best = cmp.probability_best(results, horizons, headline())
    for name, frame in (("options.csv", table), ("differences.csv", diff), ("best.csv", best)):
        write_atomic(out / name, lambda p, f=frame: f.to_csv(p, index=False))
    allruns = pd.concat(results.values(), ignore_index=True)
    write_atomic(out / "runs.parquet", lambda p: allruns.to_parquet(p, index=False))
    start = dt.date.fromisoformat(manifest["start_date"])
    figures = plot_comparison(out, results, res.series, res.folders, horizons, baseline=baseline, start=start,
                              towns=towns, same=cmp.identical_outcomes(diff))
    for folder in res.folders.values():
        plot_results(folder, map_levels)
    write_comparison_gis(out, res.folders, map_levels or DEFAULT_LEVELS)
    kinds = {n: str(load_scenario(f / "scenario.yaml").scenario.option.kind) for n, f in res.folders.items()}
    rep = build_report(scenarios=list(results), runs=manifest["replications"], seed=seed, horizons=horizons,
                       table=table, diff=diff, best=best, figures=figures, manifest=manifest, baseline=baseline,
                       start=start, towns=towns, surprises=surprises(results, horizons, diff, kinds, baseline, seed))
    write_report(out / "report.md", rep)
    compare_html(out, rep, manifest=manifest, folders=res.folders)
    print("\n".join(["Bottom line: " + rep.setting.replace("*", ""), *[b.replace("*", "") for b in rep.bottom_line],
                     *[f"Warning: {w}" for w in rep.warnings]]))
    for heading, _note, frame in rep.tables:
        print_frame(frame, heading)


# ------------------------------------------------------------------ sweep
def sweep_command(req: SweepRequest) -> int:
    """Run (or finish) an experiment's sweep into ``--out``; when it is complete, draw its figures."""
    from sim.experiment import load_experiment
    from sim.experiment.sweep import sweep

    doc = load_experiment(req.experiment, list(req.sets))
    out = Path(req.out)
    with out_lock(out):
        runs, status = sweep(doc, out, evaluator=make_evaluator(req.workers, req.scheduler), resume=req.resume,
                             force=req.force)
        failed = int((runs["status"] == "failed").sum()) if len(runs) else 0
        print(f"{len(runs)} runs in {out}/runs.parquet ({status}; {failed} failed)")
        if not req.no_plots and status == "complete":
            for path in sweep_figures(out):
                print(f"wrote {path}")
    return 130 if status == "interrupted" else 0


def sweep_figures(out_dir: str | Path) -> list[Path]:
    """Every figure of a sweep folder, plus summary.csv, indices csv files and prim.json (``sim sweep`` when
    it is complete, and ``sim plot DIR``): the statistics from analysis, drawn by sim/plots/sweep.py."""
    from sim.analysis.sensitivity import prim_box
    from sim.analysis.sweep import is_probability, point_summary
    from sim.experiment import Experiment
    from sim.plots.sweep import plot_point_distributions, plot_prim, plot_surfaces

    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir, (SWEEP,))
    exp = Experiment.model_validate(manifest["experiment_resolved"])
    runs = pd.read_parquet(out_dir / "runs.parquet")
    design = pd.read_parquet(out_dir / "design.parquet")
    knobs = list(exp.parameters)
    outcomes = [o for o in exp.outcomes if o in runs]
    fixed = exp.fixed.get("days")   # a folder written before its manifest gave the horizons
    horizons = manifest.get("horizons") or ({sc: int(fixed) for sc in runs["scenario"].unique()}
                                            if isinstance(fixed, int | float) else None)
    written = []
    summary = point_summary(runs, knobs, outcomes, horizons)
    write_atomic(out_dir / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    written.append(plot_surfaces(summary, knobs, outcomes, out_dir / "surfaces.png", exp.name,
                                 horizon=sorted(set(horizons.values())) if horizons else None))
    numeric = [o for o in outcomes if not is_probability(o)]
    if numeric:
        p = plot_point_distributions(runs, numeric[0], out_dir / "point_distributions.png", exp.name, knobs)
        if p is not None:
            written.append(p)
    scenarios = list(dict.fromkeys(runs["scenario"]))
    figures, notes = _index_figures(exp, runs, design, outcomes, scenarios, out_dir)
    written += figures
    ok = runs[runs["status"] == "ok"]
    numeric_knobs = [k for k in knobs if pd.api.types.is_numeric_dtype(ok[k]) and ok[k].nunique() > 1]
    prims = {}
    if "encircled" in ok and numeric_knobs:
        for sc in scenarios:
            part = ok[ok["scenario"] == sc]
            hits = part["encircled"].astype(bool)
            box = prim_box(part, numeric_knobs, hits)
            why = ""
            if box is None:
                why = (f"no PRIM box for {sc}: encirclement in {'every one' if hits.all() else 'none'} of its "
                       f"{len(part)} runs, so nothing to tell apart")
            elif not box["restricted"] or box["coverage"] >= 1.0 - 1e-9:
                why = (f"no PRIM box for {sc}: no restriction of {', '.join(numeric_knobs)} concentrates encirclement "
                       f"above its base rate {box['base_rate']:.2f} (the box is the whole swept range)")
            if why:
                print(why)
                prims[sc] = {"not drawn": why}
                (out_dir / f"prim_{sc}.png").unlink(missing_ok=True)  # of an earlier drawing
                continue
            bounds = {k: (float(part[k].min()), float(part[k].max())) for k in numeric_knobs}
            written.append(plot_prim(box, bounds, out_dir / f"prim_{sc}.png", f"{exp.name} ({sc})", "encirclement"))
            prims[sc] = {k: v for k, v in box.items() if k != "trajectory"}
    if prims:
        write_text_atomic(out_dir / "prim.json", json.dumps(prims, indent=2))
    from sim.plots.html import sweep_html

    written.append(sweep_html(out_dir, written, manifest, notes))
    return written


def _index_figures(exp, runs: pd.DataFrame, design: pd.DataFrame, outcomes: list[str], scenarios: list[str],
                   out_dir: Path) -> tuple[list[Path], list[str]]:
    """A Sobol or Morris design's indices (csv and figure) per scenario for the first three outcomes; an outcome
    that is the same in every run has no index to draw: a note says so instead of an empty figure."""
    from sim.analysis.sensitivity import morris_indices, sobol_indices
    from sim.plots.sweep import plot_indices

    written, notes = [], []
    if exp.sampler not in ("sobol", "morris"):
        return written, notes
    ok = runs[runs["status"] == "ok"]
    for o in outcomes[:3]:
        for sc in scenarios:
            values = pd.to_numeric(ok.loc[ok["scenario"] == sc, o], errors="coerce").dropna()
            if values.nunique() <= 1:
                note = (f"no {exp.sampler} indices for {o} ({sc}): it is {values.iloc[0] if len(values) else 'empty'} "
                        "in every run, so no input moves it")
                print(note)
                notes.append(note)
                for stale in (f"{exp.sampler}_{sc}_{o}.png", f"{exp.sampler}_{sc}_{o}.csv"):  # of an earlier drawing
                    (out_dir / stale).unlink(missing_ok=True)
                continue
            fn = sobol_indices if exp.sampler == "sobol" else morris_indices
            table = fn(exp, runs, design, o, sc)
            write_atomic(out_dir / f"{exp.sampler}_{sc}_{o}.csv", lambda tmp, t=table: t.to_csv(tmp, index=False))
            written.append(plot_indices(table, exp.sampler, o, out_dir / f"{exp.sampler}_{sc}_{o}.png",
                                        f"{exp.name} ({sc})"))
    return written, notes


# ------------------------------------------------------------------ calibrate
def calibrate_command(req: CalibrateRequest) -> int:
    """``sim calibrate``: run (or finish) a campaign's waves; the posterior and the report."""
    from sim.calibrate import calibrate, load_campaign

    campaign = load_campaign(req.campaign, list(req.sets))
    out = Path(req.out)
    result = calibrate(campaign, out, evaluator=make_evaluator(req.workers, req.scheduler), resume=req.resume,
                       force=req.force)
    for w in result["waves"]:
        print(f"wave {w['wave']}: {w['points']} points, {w['runs']} runs, {w['kept']} kept")
    if result["status"] == "complete":
        print(f"posterior: {', '.join(str(p) for p in result['posterior'])}; report: {out / 'report.md'}")
        return 0
    if result["status"] == "no set kept":
        print(f"no parameter set is consistent with the targets; see {out / 'report.md'}")
        return 1
    print(f"interrupted; `sim calibrate {req.campaign} --out {out} --resume` finishes it")
    return 130


# ------------------------------------------------------------------ validate-model
def validate_model_command(req: ValidateModelRequest) -> int:
    """``sim validate-model``: the validation tables and figures (unless ``record_only``), then the record
    test bench (unless ``record_runs`` is 0), whose hindcasts take ``sets`` (``posterior=FILE``)."""
    status = 0 if req.record_only else _validation_tables(req)
    if status == 0 and req.record_runs > 0:
        posterior = f" --posterior {req.posterior}" if req.posterior else ""
        validate_record(Path(req.out), runs=req.record_runs, seed=req.seed, workers=req.workers, sets=list(req.sets),
                        command=f"sim validate-model --out {req.out} --record-runs {req.record_runs} "
                                f"--seed {req.seed}{posterior}")
    return status


def _validation_tables(req: ValidateModelRequest) -> int:
    """Regenerate the validation figures and tables of docs/CALIBRATION.md into ``--out``."""
    from sim.analysis import validation as v
    from sim.experiment.engagements import engel_trajectory, standard_engagement
    from sim.plots.validation import plot_fall_days, plot_validation
    from sim.scenario import BASE_SCENARIO

    out = Path(req.out)
    out.mkdir(parents=True, exist_ok=True)
    base = load_scenario(BASE_SCENARIO)
    engel = v.engel_check(engel_trajectory())
    engel[0].to_csv(out / "lanchester_iwo_jima.csv", index=False)
    success = v.engagement_success(standard_engagement(base.scenario, v.STANDARD_RATIOS), req.engagement_days)
    dupuy = v.dupuy_table(v.engagement_success(standard_engagement(base.scenario, v.dupuy_ratios()),
                                               req.engagement_days))
    success.to_csv(out / "force_ratio_success.csv", index=False)
    dupuy.to_csv(out / "dupuy_institute_vs_model.csv", index=False)
    figures = plot_validation(out, engel, success, dupuy, req.engagement_days)

    lines = ["# Validation", "", f"`sim validate-model --out {req.out} --runs {req.runs} --seed {req.seed}`", ""]
    lines += ["## Lanchester square law: Engel's Iwo Jima", "", engel[0].round(1).to_markdown(index=False), ""]
    lines += [f"## Force ratio and success (standard engagement of {req.engagement_days} days)", "",
              dupuy.round(3).to_markdown(index=False), ""]
    checks = []
    for scenario, horizon_record, name in (
            ("hindcast_2025.yaml", [(v.RECORD_FALL_DAY_CLAIM, "Russian claim, 1 Dec 2025"),
                                    (v.RECORD_NORTH_HELD_DAY, "Ukraine holds 45%, 9 Dec 2025")], "hindcast"),
            ("hold_pokrovsk.yaml", [(v.RECORD_NOV_CLAIM_DAY, "Russian claim, 1 Dec 2025"),
                                    (v.RECORD_NOV_HELD45_DAY, "Ukraine holds 45%, 9 Dec 2025")], "november")):
        doc = load_scenario(BASE_SCENARIO.parent / scenario)
        reps, _lost, status = run_scenario(doc, out / name, runs=req.runs, seed=req.seed, workers=req.workers)
        if status != "complete":
            print("interrupted; the validation is incomplete", file=sys.stderr)
            return 130
        write_results(out / name, doc, reps, root_seed=req.seed, requested=req.runs, started=time.time(),
                      status=status, workers=req.workers)
        runs = pd.read_parquet(out / name / "runs.parquet")
        ts = pd.read_parquet(out / name / "timeseries.parquet")
        fall = runs["pokrovsk_fall_day"]
        figures.append(plot_fall_days(out, fall, horizon_record, f"fall_day_{name}.png",
                                        f"{doc.scenario.name}: day Pokrovsk falls, {len(runs)} runs, beside the record"))
        q = pd.to_numeric(fall, errors="coerce").dropna()
        for day, label in horizon_record:
            checks.append({"scenario": doc.scenario.name, "record": label, "record_day": day,
                           "model_median_fall_day": float(q.median()) if len(q) else float("nan"),
                           "model_p05": float(q.quantile(0.05)) if len(q) else float("nan"),
                           "model_p95": float(q.quantile(0.95)) if len(q) else float("nan"),
                           "share_of_runs_fallen_before": v.percentile_of(day, fall)})
        if name == "hindcast":
            month = ts[ts["day"] == 30].set_index("replication")["attacker_casualties"]
            checks.append({"scenario": doc.scenario.name, "record": "attacker casualties, first 30 days (Jan 2025)",
                           "record_day": v.RECORD_JAN_2025_ATTACKER_CASUALTIES,
                           "model_median_fall_day": float(month.median()), "model_p05": float(month.quantile(0.05)),
                           "model_p95": float(month.quantile(0.95)),
                           "share_of_runs_fallen_before": float((month < v.RECORD_JAN_2025_ATTACKER_CASUALTIES).mean())})
    record = pd.DataFrame(checks).rename(columns={"record_day": "record_value", "model_median_fall_day": "model_median",
                                                  "share_of_runs_fallen_before": "share_of_runs_below_record"})
    record.to_csv(out / "record_vs_model.csv", index=False)
    lines += ["## The record beside the model", "", record.round(3).to_markdown(index=False), "",
              "## Figures", "", *[f"![{p.name}]({p.name})" for p in figures], ""]
    (out / "validation.md").write_text("\n".join(lines))
    print(record.round(2).to_string(index=False))
    print(f"validation in {out}/validation.md")
    return 0


def validate_record(out: Path, *, runs: int, seed: int, workers: int, command: str, sets=(),
                    starts=tuple(hindcast.START_SCENARIOS), horizons=None) -> pd.DataFrame:
    """Run and score every start date (at ``horizons``, or at each date's own: ``hindcast.horizons_of``);
    write ``record/record_scores.csv``, ``record/record.md`` and one figure per start date into ``out``;
    put the section into ``validation.md`` if there (in place of an earlier run's)."""
    from sim.analysis import skill
    from sim.plots import record as rec
    from sim.theater import record
    folder = Path(out) / "record"
    folder.mkdir(parents=True, exist_ok=True)
    frames, figures = [], []
    for start in starts:
        scores, _, snapshots, grid = hindcast.run_and_score(start, runs=runs, seed=seed, workers=workers, horizons=horizons,
                                                              sets=sets)
        frames.append(scores)
        shown = sorted(d for d in snapshots if d > 0)
        figures.append(rec.plot_hindcast_maps(
            folder, start, grid, skill.AGGLOMERATION,
            {h: skill.attacker_probability(snapshots[h]) for h in shown},
            {h: record.occupied_geometry(start + dt.timedelta(days=h)) for h in shown},
            record.occupied_geometry(start), {s.name: (s.lat, s.lon) for s in grid.theater.settlements},
            runs, f"record_{start}.png"))
    scores = pd.concat(frames, ignore_index=True)
    write_atomic(folder / "record_scores.csv", lambda p: scores.to_csv(p, index=False))
    section = rec.record_section(scores, figures, command, runs)
    write_text_atomic(folder / "record.md", section.replace(f"]({folder.name}/", "]("))
    validation = Path(out) / "validation.md"
    if validation.exists():  # in place of the section of an earlier run, if any
        before = validation.read_text(encoding="utf-8").split(rec.SECTION_TITLE)[0].rstrip()
        write_text_atomic(validation, before + "\n\n" + section)
    print(rec.front_table(scores).to_string(index=False))
    print(f"the record test bench in {folder}/record.md")
    return scores
