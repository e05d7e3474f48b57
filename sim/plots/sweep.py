"""Figures of a sweep folder: surfaces over the knobs, distributions per point, Sobol/Morris, PRIM."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.analysis.compare import LABELS  # noqa: E402
from sim.analysis.stats import mean_interval, wilson_interval  # noqa: E402
from sim.core.io import write_atomic, write_text_atomic  # noqa: E402
from sim.plots.run import _save  # noqa: E402

BOOLEAN = ("encircled", "pokrovsk_held")


def _label(outcome: str) -> str:
    return {"encircled": "P(encirclement)", "pokrovsk_held": "P(Pokrovsk held)"}.get(outcome, LABELS.get(outcome, outcome))


def point_summary(runs: pd.DataFrame, knobs: list[str], outcomes: list[str]) -> pd.DataFrame:
    """Per scenario and point: each knob's value, and each outcome's mean with its 95% interval."""
    ok = runs[runs["status"] == "ok"]
    rows = []
    for (scenario, point), g in ok.groupby(["scenario", "point"], sort=True):
        row = {"scenario": scenario, "point": point, "n": len(g), **{k: g[k].iloc[0] for k in knobs}}
        for o in outcomes:
            if o not in g:
                continue
            if o in BOOLEAN:
                x = g[o].astype(bool)
                lo, hi = wilson_interval(int(x.sum()), len(x))
                row.update({o: x.mean(), f"{o}_low": lo, f"{o}_high": hi})
            else:
                m, lo, hi = mean_interval(pd.to_numeric(g[o], errors="coerce"))
                row.update({o: m, f"{o}_low": lo, f"{o}_high": hi})
        rows.append(row)
    return pd.DataFrame(rows)


def plot_surfaces(summary: pd.DataFrame, knobs: list[str], outcomes: list[str], out: Path, title: str) -> Path:
    scenarios = list(dict.fromkeys(summary["scenario"]))
    outs = [o for o in outcomes if o in summary][:4]
    fig, axes = plt.subplots(len(scenarios), len(outs), figsize=(4.8 * len(outs), 4.2 * len(scenarios)), squeeze=False)
    for i, sc in enumerate(scenarios):
        part = summary[summary["scenario"] == sc]
        for j, o in enumerate(outs):
            ax = axes[i, j]
            if len(knobs) >= 2 and part[knobs[0]].nunique() * part[knobs[1]].nunique() == len(part):
                grid = part.pivot_table(index=knobs[1], columns=knobs[0], values=o)
                im = ax.imshow(grid.to_numpy(), origin="lower", aspect="auto", cmap="viridis",
                               vmin=0 if o in BOOLEAN else None, vmax=1 if o in BOOLEAN else None)
                ax.set_xticks(range(grid.shape[1]), [f"{v:g}" for v in grid.columns], fontsize=7, rotation=45)
                ax.set_yticks(range(grid.shape[0]), [f"{v:g}" for v in grid.index], fontsize=7)
                for (r, c), v in np.ndenumerate(grid.to_numpy()):
                    ax.text(c, r, f"{v:.2f}" if abs(v) < 10 else f"{v:,.0f}", ha="center", va="center", fontsize=6,
                            color="white")
                fig.colorbar(im, ax=ax, shrink=0.8)
                ax.set_xlabel(knobs[0], fontsize=8)
                ax.set_ylabel(knobs[1], fontsize=8)
            elif len(knobs) == 1 or part[knobs[0]].nunique() == len(part):
                k = knobs[0]
                p = part.sort_values(k)
                ax.plot(p[k], p[o], "o-", color="#1f77b4")
                ax.fill_between(p[k], p[f"{o}_low"], p[f"{o}_high"], alpha=0.25, color="#1f77b4")
                ax.set_xlabel(k, fontsize=8)
            else:  # a scattered design: the outcome against the first knob, coloured by the second
                sc_ = ax.scatter(part[knobs[0]], part[o], c=part[knobs[1]] if len(knobs) > 1 else None, s=14,
                                 cmap="viridis")
                ax.set_xlabel(knobs[0], fontsize=8)
                if len(knobs) > 1:
                    fig.colorbar(sc_, ax=ax, shrink=0.8, label=knobs[1])
            ax.set_title(f"{sc}: {_label(o)}", fontsize=9)
            ax.tick_params(labelsize=7)
    fig.suptitle(f"{title}: mean outcome at each point (lines: 95% interval)", fontsize=11)
    fig.tight_layout()
    return _save(fig, out)


def plot_point_distributions(runs: pd.DataFrame, outcome: str, out: Path, title: str, max_points: int = 40) -> Path | None:
    ok = runs[runs["status"] == "ok"]
    if outcome not in ok or outcome in BOOLEAN:
        return None
    points = sorted(ok["point"].unique())[:max_points]
    scenarios = list(dict.fromkeys(ok["scenario"]))
    fig, axes = plt.subplots(len(scenarios), 1, figsize=(max(8, 0.35 * len(points) + 3), 3.6 * len(scenarios)),
                             squeeze=False)
    for ax, sc in zip(axes[:, 0], scenarios):
        part = ok[ok["scenario"] == sc]
        data = [pd.to_numeric(part[part["point"] == p][outcome], errors="coerce").dropna().to_numpy() for p in points]
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(range(1, len(points) + 1), [str(p) for p in points], fontsize=6)
        ax.set_xlabel("design point (see design.parquet)", fontsize=8)
        ax.set_title(f"{sc}: {_label(outcome)} per point", fontsize=9)
    fig.suptitle(f"{title}: distribution over replications at each point", fontsize=11)
    fig.tight_layout()
    return _save(fig, out)


def plot_indices(table: pd.DataFrame, kind: str, outcome: str, out: Path, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(table) + 2.5))
    y = np.arange(len(table))
    if kind == "sobol":
        ax.barh(y - 0.2, table["S1"], 0.4, xerr=table["S1_conf"], label="first order S1", color="#1f77b4")
        ax.barh(y + 0.2, table["ST"], 0.4, xerr=table["ST_conf"], label="total ST", color="#ff7f0e")
        ax.set_xlabel("Sobol index (bars: 95% bootstrap interval)")
    else:
        ax.barh(y, table["mu_star"], 0.5, xerr=table["mu_star_conf"], color="#2ca02c", label="mu*")
        ax.set_xlabel("Morris mu* (bars: 95% interval)")
    ax.set_yticks(y, table["parameter"], fontsize=8)
    ax.legend(fontsize=8)
    ax.set_title(f"{title}: {kind} indices for {_label(outcome)}", fontsize=10)
    fig.tight_layout()
    return _save(fig, out)


def plot_prim(box: dict, bounds: dict[str, tuple[float, float]], out: Path, title: str, what: str) -> Path:
    params = list(box["limits"])
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 0.55 * len(params) + 3), gridspec_kw={"width_ratios": [3, 2]})
    for i, p in enumerate(params):
        lo, hi = bounds[p]
        blo, bhi = box["limits"][p]
        span = (hi - lo) or 1.0
        ax.plot([0, 1], [i, i], color="#cccccc", lw=6, solid_capstyle="butt")
        ax.plot([(blo - lo) / span, (bhi - lo) / span], [i, i], color="#d62728" if p in box["restricted"] else "#1f77b4",
                lw=6, solid_capstyle="butt")
        ax.text(1.02, i, f"{blo:.3g} – {bhi:.3g}", va="center", fontsize=8)
    ax.set_yticks(range(len(params)), params, fontsize=8)
    ax.set_xlim(0, 1.35)
    ax.set_xlabel("share of the swept range (red: restricted by the box)")
    ax.set_title(f"PRIM box for {what}: coverage {box['coverage']:.2f}, density {box['density']:.2f} "
                 f"(base rate {box['base_rate']:.2f})", fontsize=9)
    traj = box["trajectory"]
    ax2.plot(traj["coverage"], traj["density"], "o-", ms=3)
    ax2.set_xlabel("coverage")
    ax2.set_ylabel("density")
    ax2.set_title("peeling trajectory", fontsize=9)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return _save(fig, out)


def plot_sweep(out_dir: str | Path) -> list[Path]:
    """Every figure of a sweep folder, plus summary.csv, indices csv files and prim.json."""
    from sim.analysis.sensitivity import morris_indices, prim_box, sobol_indices
    from sim.experiment import Experiment

    out_dir = Path(out_dir)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    exp = Experiment.model_validate(manifest["experiment_resolved"])
    runs = pd.read_parquet(out_dir / "runs.parquet")
    design = pd.read_parquet(out_dir / "design.parquet")
    knobs = list(exp.parameters)
    outcomes = [o for o in exp.outcomes if o in runs]
    written = []
    summary = point_summary(runs, knobs, outcomes)
    write_atomic(out_dir / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    written.append(plot_surfaces(summary, knobs, outcomes, out_dir / "surfaces.png", exp.name))
    numeric = [o for o in outcomes if o not in BOOLEAN]
    if numeric:
        p = plot_point_distributions(runs, numeric[0], out_dir / "point_distributions.png", exp.name)
        if p is not None:
            written.append(p)
    scenarios = list(dict.fromkeys(runs["scenario"]))
    if exp.sampler in ("sobol", "morris"):
        for o in outcomes[:3]:
            for sc in scenarios:
                fn = sobol_indices if exp.sampler == "sobol" else morris_indices
                table = fn(exp, runs, design, o, sc)
                write_atomic(out_dir / f"{exp.sampler}_{sc}_{o}.csv", lambda tmp, t=table: t.to_csv(tmp, index=False))
                written.append(plot_indices(table, exp.sampler, o, out_dir / f"{exp.sampler}_{sc}_{o}.png",
                                            f"{exp.name} ({sc})"))
    ok = runs[runs["status"] == "ok"]
    numeric_knobs = [k for k in knobs if pd.api.types.is_numeric_dtype(ok[k]) and ok[k].nunique() > 1]
    prims = {}
    if "encircled" in ok and numeric_knobs:
        for sc in scenarios:
            part = ok[ok["scenario"] == sc]
            box = prim_box(part, numeric_knobs, part["encircled"].astype(bool))
            if box is None:
                continue
            bounds = {k: (float(part[k].min()), float(part[k].max())) for k in numeric_knobs}
            written.append(plot_prim(box, bounds, out_dir / f"prim_{sc}.png", f"{exp.name} ({sc})", "encirclement"))
            prims[sc] = {k: v for k, v in box.items() if k != "trajectory"}
    if prims:
        write_text_atomic(out_dir / "prim.json", json.dumps(prims, indent=2))
    from sim.analysis.html import sweep_html

    written.append(sweep_html(out_dir, written))
    return written
