"""Figures of a sweep: surfaces over the knobs, distributions per point, Sobol/Morris indices, PRIM boxes.

They draw what they are given (sim/analysis/sweep.py and sim/analysis/sensitivity.py compute it;
``sweep_figures`` in sim/commands.py reads a sweep folder and writes both)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.analysis.stats import wilson_interval  # noqa: E402
from sim.analysis.sweep import declared, is_probability  # noqa: E402
from sim.outcomes import axis_unit  # noqa: E402
from sim.plots.run import _save  # noqa: E402

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
FEW = 30  # replications per point below which a probability's interval is wider than about +/-0.15


def _label(o: str) -> str:
    d = declared(o)
    return d.axis_label() if d is not None else o


def few_note(summary: pd.DataFrame) -> str:
    """A warning for the figure's title when the replications per point are too few."""
    n = int(summary["n"].min()) if len(summary) else 0
    if n >= FEW:
        return ""
    lo, hi = wilson_interval(n // 2, max(n, 1))
    return (f"\nWARNING: {n} replications per point: a probability is known to about ±{(hi - lo) / 2:.2f}; "
            "differences between points smaller than that are noise")


def _heatmap(fig, ax, part: pd.DataFrame, knobs: list[str], o: str, scale: tuple) -> None:
    grid = part.pivot_table(index=knobs[1], columns=knobs[0], values=o)
    im = ax.imshow(grid.to_numpy(), origin="lower", aspect="auto", cmap="viridis", vmin=scale[0], vmax=scale[1])
    ax.set_xticks(range(grid.shape[1]), [f"{v:g}" for v in grid.columns], fontsize=7, rotation=45)
    ax.set_yticks(range(grid.shape[0]), [f"{v:g}" for v in grid.index], fontsize=7)
    for (r, c), v in np.ndenumerate(grid.to_numpy()):
        ax.text(c, r, f"{v:.2f}" if abs(v) < 10 else f"{v:,.0f}", ha="center", va="center", fontsize=6, color="white")
    fig.colorbar(im, ax=ax, shrink=0.8, label=_label(o))
    ax.set_xlabel(knobs[0], fontsize=8)
    ax.set_ylabel(knobs[1], fontsize=8)


def plot_surfaces(summary: pd.DataFrame, knobs: list[str], outcomes: list[str], out: Path, title: str) -> Path:
    """Each outcome against the knobs, every option on one shared axis (a line per option over the first
    knob's real values); a full two-knob grid is a heat map per option on one shared colour scale."""
    scenarios = list(dict.fromkeys(summary["scenario"]))
    outs = [o for o in outcomes if o in summary][:4]
    grid2 = len(knobs) >= 2 and all(
        p[knobs[0]].nunique() * p[knobs[1]].nunique() == len(p) for _, p in summary.groupby("scenario"))
    rows = len(scenarios) if grid2 else 1
    fig, axes = plt.subplots(rows, len(outs), figsize=(5.2 * len(outs), 4.4 * rows), squeeze=False)
    for j, o in enumerate(outs):
        scale = (0.0, 1.0) if is_probability(o) else (float(summary[o].min()), float(summary[o].max()))
        for i, sc in enumerate(scenarios):
            part = summary[summary["scenario"] == sc].sort_values(knobs[0])
            if grid2:
                _heatmap(fig, axes[i, j], part, knobs, o, scale)
                axes[i, j].set_title(f"{sc}: {declared(o).label if declared(o) else o}", fontsize=9)
                continue
            ax = axes[0, j]
            x = pd.to_numeric(part[knobs[0]], errors="coerce")
            ax.plot(x, part[o], "o-", color=COLOURS[i % len(COLOURS)], label=sc, ms=4)
            ax.fill_between(x, part[f"{o}_low"], part[f"{o}_high"], alpha=0.18, color=COLOURS[i % len(COLOURS)])
            ax.set_xlabel(f"{knobs[0]} (swept value)", fontsize=8)
            ax.set_ylabel(axis_unit(declared(o)) if declared(o) else o, fontsize=8)
            ax.set_title(declared(o).label if declared(o) else o, fontsize=9)
        if not grid2:
            axes[0, j].legend(fontsize=7)
        for ax in axes[:, j]:
            ax.tick_params(labelsize=7)
    fig.suptitle(f"{title}: mean outcome (share for probabilities) at each point, 95% band" + few_note(summary),
                 fontsize=11)
    fig.tight_layout()
    return _save(fig, out)


def point_labels(ok: pd.DataFrame, points: list, knobs: list[str]) -> list[str]:
    """Each design point named by its knobs' values (the first two)."""
    first = ok.drop_duplicates("point").set_index("point")
    return ["\n".join(f"{k.rsplit('.', 1)[-1]}={first.loc[p, k]:.3g}" if isinstance(first.loc[p, k], float | int)
                      else f"{k.rsplit('.', 1)[-1]}={first.loc[p, k]}" for k in knobs[:2]) for p in points]


def plot_point_distributions(runs: pd.DataFrame, outcome_name: str, out: Path, title: str, knobs: list[str],
                             max_points: int = 40) -> Path | None:
    ok = runs[runs["status"] == "ok"]
    if outcome_name not in ok or is_probability(outcome_name):
        return None
    first = ok.drop_duplicates("point").sort_values(knobs[0]) if knobs else ok.drop_duplicates("point")
    points = list(first["point"])[:max_points]
    scenarios = list(dict.fromkeys(ok["scenario"]))
    fig, axes = plt.subplots(len(scenarios), 1, figsize=(max(8, 0.5 * len(points) + 3), 3.8 * len(scenarios)),
                             squeeze=False)
    for ax, sc in zip(axes[:, 0], scenarios):
        part = ok[ok["scenario"] == sc]
        data = [pd.to_numeric(part[part["point"] == p][outcome_name], errors="coerce").dropna().to_numpy()
                for p in points]
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(range(1, len(points) + 1), point_labels(ok, points, knobs), fontsize=6)
        ax.set_xlabel("design point, by its swept values (sorted by " + (knobs[0] if knobs else "point") + ")",
                      fontsize=8)
        ax.set_ylabel(axis_unit(declared(outcome_name)) if declared(outcome_name) else outcome_name, fontsize=8)
        ax.set_title(f"{sc}: {declared(outcome_name).label if declared(outcome_name) else outcome_name}", fontsize=9)
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
