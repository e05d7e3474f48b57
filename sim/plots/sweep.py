"""Figures of a sweep: surfaces over the knobs, distributions per point, Sobol/Morris indices, PRIM boxes.

They draw what they are given (sim/analysis/sweep.py and sim/analysis/sensitivity.py compute it;
``sweep_figures`` in sim/commands.py reads a sweep folder and writes both)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.analysis.sweep import declared, few_replications, is_event_day, is_probability  # noqa: E402
from sim.outcomes import axis_unit  # noqa: E402
from sim.plots.run import _save  # noqa: E402

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
PRIM_FEW = 20  # cases (runs with the event) below which a PRIM box is said to be fragile
WIDE_INDEX = 0.1  # a Sobol index known only to within more than +/- this cannot rank the inputs


def _label(o: str) -> str:
    d = declared(o)
    return d.axis_label() if d is not None else o


def _wrap(text: str, inches: float, fontsize: float = 11) -> str:
    """A title wrapped to a figure ``inches`` wide, line by line (a long warning stays on the page)."""
    width = max(40, int(inches * 110 / fontsize))
    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def few_note(summary: pd.DataFrame) -> str:
    """A warning for the figure's title when the replications per point are too few."""
    warning = few_replications(int(summary["n"].min()) if len(summary) else 0)
    return f"\nWARNING: {warning}" if warning else ""


def _heatmap(fig, ax, part: pd.DataFrame, knobs: list[str], o: str, scale: tuple) -> None:
    grid = part.pivot_table(index=knobs[1], columns=knobs[0], values=o)
    im = ax.imshow(grid.to_numpy(), origin="lower", aspect="auto", cmap="viridis", vmin=scale[0], vmax=scale[1])
    ax.set_xticks(range(grid.shape[1]), [f"{v:g}" for v in grid.columns], fontsize=7, rotation=45)
    ax.set_yticks(range(grid.shape[0]), [f"{v:g}" for v in grid.index], fontsize=7)
    for (r, c), v in np.ndenumerate(grid.to_numpy()):
        ax.text(c, r, f"{v:.2f}" if abs(v) < 10 else f"{v:,.0f}", ha="center", va="center", fontsize=6, color="white")
    fig.colorbar(im, ax=ax, shrink=0.8).set_label(_axis(o), fontsize=7)
    ax.set_xlabel(knobs[0], fontsize=8)
    ax.set_ylabel(knobs[1], fontsize=8)


def _axis(o: str) -> str:
    d = declared(o)
    return axis_unit(d) if d is not None else o


def _title(o: str) -> str:
    d = declared(o)
    return d.label if d is not None else o


def _scale(summary: pd.DataFrame, o: str) -> tuple[float, float]:
    """One y range for an outcome over every panel: 0..1 for a probability, else its intervals' span."""
    if is_probability(o):
        return (-0.02, 1.02)
    cols = [c for c in (o, f"{o}_low", f"{o}_high") if c in summary]
    values = summary[cols].to_numpy(dtype=float).ravel()
    values = values[np.isfinite(values)]   # one replication a point has no interval
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    pad = 0.05 * ((hi - lo) or abs(hi) or 1.0)
    return (lo - pad, hi + pad)


MAX_SLICES = 6  # a second knob with more levels than this is drawn as heat maps on one colour scale


def plot_surfaces(summary: pd.DataFrame, knobs: list[str], outcomes: list[str], out: Path, title: str,
                  horizon: list[int] | None = None) -> Path:
    """Each outcome against the first knob's real values, every option overlaid on the same axes (a line and
    its 95% band each), one y scale per outcome. A full grid over two knobs gives one row per level of the
    second knob (options still overlaid); more levels than ``MAX_SLICES``, heat maps on one colour scale.
    Any other design (LHS, Sobol, ...) draws the points without joining them (the other knobs vary too)."""
    scenarios = list(dict.fromkeys(summary["scenario"]))
    outs = [o for o in outcomes if o in summary][:4]
    grid2 = len(knobs) >= 2 and all(
        p[knobs[0]].nunique() * p[knobs[1]].nunique() == len(p) for _, p in summary.groupby("scenario"))
    grid1 = len(knobs) == 1 or grid2
    slices = sorted(summary[knobs[1]].unique()) if grid2 else [None]
    heat = grid2 and len(slices) > MAX_SLICES
    rows = len(scenarios) if heat else len(slices)
    fig, axes = plt.subplots(rows, len(outs), figsize=(5.2 * len(outs), (4.4 if heat else 3.6) * rows + 0.6),
                             squeeze=False)
    for j, o in enumerate(outs):
        scale = _scale(summary, o)
        for i in range(rows):
            ax = axes[i, j]
            if heat:
                sc = scenarios[i]
                part = summary[summary["scenario"] == sc].sort_values(knobs[0])
                _heatmap(fig, ax, part, knobs, o, (0.0, 1.0) if is_probability(o) else scale)
                ax.set_title(f"{sc}: {_title(o)}", fontsize=9)
                continue
            level = slices[i]
            part = summary if level is None else summary[summary[knobs[1]] == level]
            for k, sc in enumerate(scenarios):
                mine = part[part["scenario"] == sc].sort_values(knobs[0])
                x = pd.to_numeric(mine[knobs[0]], errors="coerce")
                colour = COLOURS[k % len(COLOURS)]
                if grid1:
                    ax.plot(x, mine[o], "o-", color=colour, label=sc, ms=4)
                    ax.fill_between(x, mine[f"{o}_low"], mine[f"{o}_high"], alpha=0.18, color=colour, lw=0)
                else:
                    ax.errorbar(x, mine[o], yerr=[mine[o] - mine[f"{o}_low"], mine[f"{o}_high"] - mine[o]], fmt="o",
                                color=colour, label=sc, ms=4, alpha=0.8, elinewidth=0.8)
            ax.set_ylim(*scale)
            ax.set_xlabel(f"{knobs[0]} (swept value)", fontsize=8)
            ax.set_ylabel(_axis(o), fontsize=8)
            ax.set_title(_title(o) + ("" if level is None else f"\n{knobs[1]} = {level:g}"), fontsize=9)
            ax.tick_params(labelsize=7)
    if not heat:
        axes[0, 0].legend(fontsize=7)
    what = "heat maps: mean (share for probabilities) at each point, one colour scale per outcome" if heat else \
        "mean (share for probabilities) at each point with its 95% band; options overlaid, one scale per outcome"
    days = "" if not horizon or not any(is_event_day(o) for o in outs) else (f"; event days: restricted mean to day {', '.join(map(str, horizon))} "
                                   "(a run without the event counts as the horizon)")
    if not grid1:
        what += f"; points not joined: the other knobs ({', '.join(knobs[1:])}) vary too"
    fig.suptitle(_wrap(f"{title}: {what}{days}" + few_note(summary), fig.get_figwidth()), fontsize=11)
    fig.tight_layout()
    return _save(fig, out)


def point_labels(ok: pd.DataFrame, points: list, knobs: list[str]) -> list[str]:
    """Each design point named by its knobs' values (the first two)."""
    first = ok.drop_duplicates("point").set_index("point")
    return ["\n".join(f"{k.rsplit('.', 1)[-1]}={first.loc[p, k]:.3g}" if isinstance(first.loc[p, k], float | int)
                      else f"{k.rsplit('.', 1)[-1]}={first.loc[p, k]}" for k in knobs[:2]) for p in points]


def plot_point_distributions(runs: pd.DataFrame, outcome_name: str, out: Path, title: str, knobs: list[str],
                             max_points: int = 40) -> Path | None:
    """The replications of one outcome at each design point (named by its swept values), every option side by
    side on one axis: a box (quartiles) and the replications as dots, so a rare large value is seen."""
    ok = runs[runs["status"] == "ok"]
    if outcome_name not in ok or is_probability(outcome_name):
        return None
    first = ok.drop_duplicates("point").sort_values(knobs[:2]) if knobs else ok.drop_duplicates("point")
    points = list(first["point"])[:max_points]
    scenarios = list(dict.fromkeys(ok["scenario"]))
    width = 0.8 / len(scenarios)
    fig, ax = plt.subplots(figsize=(max(8.0, 0.35 * len(points) * len(scenarios) + 3), 5.2))
    for k, sc in enumerate(scenarios):
        part = ok[ok["scenario"] == sc]
        data = [pd.to_numeric(part[part["point"] == p][outcome_name], errors="coerce").dropna().to_numpy()
                for p in points]
        where = np.arange(1, len(points) + 1) - 0.4 + width * (k + 0.5)
        colour = COLOURS[k % len(COLOURS)]
        boxes = ax.boxplot(data, positions=where, widths=width * 0.85, showfliers=False, patch_artist=True,
                           manage_ticks=False)
        for patch in boxes["boxes"]:
            patch.set_facecolor(colour)
            patch.set_alpha(0.35)
        for x, values in zip(where, data):
            jitter = np.random.default_rng(int(x * 100)).uniform(-width / 4, width / 4, len(values))  # display only
            ax.scatter(np.full(len(values), x) + jitter, values, s=6, color=colour, alpha=0.7, zorder=3)
        ax.plot([], [], "s", color=colour, alpha=0.6, label=sc)
    ax.set_xticks(range(1, len(points) + 1), point_labels(ok, points, knobs), fontsize=6)
    ax.set_xlabel("design point, by its swept values", fontsize=8)
    ax.set_ylabel(_axis(outcome_name), fontsize=8)
    ax.legend(fontsize=7)
    ax.set_title(_wrap(f"{title}: {_title(outcome_name)} over the replications at each point "
                       "(boxes: quartiles; dots: replications)", fig.get_figwidth(), 10), fontsize=10)
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
    conf = table[[c for c in table.columns if c.endswith("_conf")]].to_numpy(dtype=float)
    wide = float(np.nanmax(conf)) if np.isfinite(conf).any() else float("nan")
    warn = ("" if kind != "sobol" or not wide > WIDE_INDEX else f"\nWARNING: intervals up to ±{wide:.2f}: too few samples to rank the "
            "inputs; raise the experiment's samples")
    ax.set_title(_wrap(f"{title}: {kind} indices for {_label(outcome)}{warn}", fig.get_figwidth(), 10), fontsize=10)
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
    cases = box.get("cases")
    counts = "" if cases is None else f": {what} in {cases} of {box['runs']} runs"
    warn = "" if cases is None or cases >= PRIM_FEW else (f"\nWARNING: {cases} cases only; a box over so few runs may "
                                                          "fit noise: run more replications before acting on it")
    fig.suptitle(title + counts + warn, fontsize=11)
    fig.tight_layout()
    return _save(fig, out)
