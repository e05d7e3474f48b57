"""Figures of a robust folder (sim robust): where in the uncertainty space each option wins, the regret
of each option over the worlds, and the expected value of perfect information per input."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from sim.analysis.robust import TOO_CLOSE, input_label  # noqa: E402
from sim.outcomes import PROBABILITY, Outcome, axis_unit  # noqa: E402
from sim.plots.compare import colour  # noqa: E402
from sim.plots.run import _save  # noqa: E402

CLOSE_COLOUR = "#bbbbbb"


def _panels(n: int) -> tuple:
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.6 * cols, 4.6 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, axes.flat


def _short(name: str, meta: dict) -> str:
    """An axis label: the last parts of the dotted path, marked when it is a posterior parameter."""
    label = input_label(name, meta)
    parts = label.split(".")
    keep = 3 if any(p.isdigit() for p in parts[-2:]) else 2   # forces.attacker.arrivals.0.day -> arrivals.0.day
    return ".".join(parts[-keep:]) if len(parts) > keep else label


def top_inputs(evpi: pd.DataFrame, outcome: str, n: int = 2) -> list[str]:
    """The ``n`` most informative inputs of an outcome: highest EVPI above its noise floor first."""
    part = evpi[evpi["outcome"] == outcome].assign(excess=lambda d: d["evpi"] - d["floor"])
    return list(part.sort_values("excess", ascending=False, kind="mergesort")["input"].head(n))


def separating_axes(evpi: pd.DataFrame, outcome: str, design: pd.DataFrame) -> list[str]:
    """The figure's two axes for an outcome: the most informative input, and the most informative other
    input that, with it, puts every world at a point of its own (worlds that share a posterior set share
    all its parameters, so two of them would draw those worlds on one spot); the second best if none does."""
    order = top_inputs(evpi, outcome, n=len(evpi))
    if len(order) < 2:
        return order
    first = order[0]
    for other in order[1:]:
        if not design[[first, other]].duplicated().any():
            return [first, other]
    return order[:2]


def plot_where_wins(worlds: pd.DataFrame, design: pd.DataFrame, evpi: pd.DataFrame, outcomes: list[Outcome],
                    meta: dict, out: Path) -> Path:
    """The commander's figure: for each headline outcome, every world a point placed by the two inputs whose
    knowledge is worth most (EVPI above the noise floor; :func:`separating_axes`) and coloured by the option
    that wins it; grey and hatched where the world is too close to call, its rim in the colour of the option
    ahead."""
    options = meta["options"]
    fig, axes = _panels(len(outcomes))
    at = design.set_index("point")
    for ax, o in zip(axes, outcomes):
        part = worlds[worlds["outcome"] == o.name]
        xs = separating_axes(evpi, o.name, design)
        if len(xs) < 2:
            xs = xs + ["point"] * (2 - len(xs))
        pos = at.reindex(part["world"])
        px = pos.index.to_numpy() if xs[0] == "point" else pos[xs[0]].to_numpy(dtype=float)
        py = pos.index.to_numpy() if xs[1] == "point" else pos[xs[1]].to_numpy(dtype=float)
        winner = part["winner"].to_numpy()
        close = winner == TOO_CLOSE
        ahead = [colour(options.index(b)) if gap > 0 else "#666666"       # a tie: nobody ahead
                 for b, gap in zip(part["best"].to_numpy()[close], part["gap"].to_numpy()[close])]
        ax.scatter(px[close], py[close], s=55, facecolor=CLOSE_COLOUR, edgecolor=ahead, hatch="////", lw=1.6)
        for k, opt in enumerate(options):
            mine = winner == opt
            ax.scatter(px[mine], py[mine], s=70, color=colour(k), edgecolor="black", lw=0.6)
        ax.set_xlabel(_short(xs[0], meta), fontsize=8)
        ax.set_ylabel(_short(xs[1], meta), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_title(f"{o.label}\n({o.better} is better)", fontsize=9)
    handles = [Line2D([], [], marker="o", ls="", color=colour(k), markeredgecolor="black", label=opt)
               for k, opt in enumerate(options)]
    handles.append(Patch(facecolor=CLOSE_COLOUR, edgecolor="#666666", hatch="////",
                         label=f"{TOO_CLOSE}\n(rim: the option ahead;\ngrey: a tie)"))
    fig.legend(handles=handles, loc="lower right", fontsize=9, title="best option in the world")
    fig.suptitle(f"{meta['experiment']}: which option wins where ({meta['worlds']} worlds x {meta['replications']} "
                 "replications; axes: the two inputs worth most to know for that outcome)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return _save(fig, out)


def plot_regret(regrets: dict[str, pd.DataFrame], summary: pd.DataFrame, outcomes: list[Outcome], meta: dict,
                out: Path) -> Path:
    """Per headline outcome, each option's regret over the worlds (a box, the worlds as dots, the largest
    regret as a diamond); the robust option's name in bold."""
    fig, axes = _panels(len(outcomes))
    rng = np.random.default_rng(0)   # jitter only
    for ax, o in zip(axes, outcomes):
        reg = regrets[o.name]
        names = list(reg.columns)
        data = [reg[n].to_numpy(dtype=float) for n in names]
        box = ax.boxplot(data, showfliers=False, patch_artist=True, widths=0.5)
        for k, patch in enumerate(box["boxes"]):
            patch.set_facecolor(colour(meta["options"].index(names[k])))
            patch.set_alpha(0.35)
        for k, values in enumerate(data):
            ax.scatter(k + 1 + rng.uniform(-0.12, 0.12, len(values)), values, s=8, color="black", alpha=0.5)
            ax.scatter([k + 1], [np.nanmax(values)], marker="D", s=40, color=colour(meta["options"].index(names[k])),
                       edgecolor="black", zorder=3)
        part = summary[summary["outcome"] == o.name].set_index("option")
        ax.set_xticks(range(1, len(names) + 1), names, fontsize=7, rotation=15)
        for tick, n in zip(ax.get_xticklabels(), names):
            if bool(part.loc[n, "robust"]):
                tick.set_fontweight("bold")
        unit = "share of runs" if o.kind == PROBABILITY else axis_unit(o).split(";")[0]
        ax.set_ylabel(f"regret ({unit}; 0 = best in the world)", fontsize=8)
        ax.set_title(o.label, fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle(f"{meta['experiment']}: regret of each option over {meta['worlds']} worlds (diamond: the largest; "
                 "bold: the robust choice, least largest regret)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return _save(fig, out)


def plot_evpi(evpi: pd.DataFrame, outcomes: list[Outcome], meta: dict, out: Path) -> Path:
    """Per headline outcome, the expected value of perfect information of each input with its bootstrap 95%
    interval; the grey bar behind is the input's noise floor (what it gets shuffled across the worlds), the
    dashed line the floor for the best of all inputs (the largest EVPI of any input, worlds shuffled)."""
    n_inputs = evpi["input"].nunique()
    fig, axes = _panels(len(outcomes))
    fig.set_size_inches(fig.get_size_inches()[0], max(fig.get_size_inches()[1], 0.3 * n_inputs * math.ceil(len(outcomes) / 3) + 2))
    for ax, o in zip(axes, outcomes):
        part = evpi[evpi["outcome"] == o.name].sort_values("evpi")
        y = np.arange(len(part))
        ax.barh(y, part["floor"], 0.8, color="#dddddd", label="noise floor (95% of shuffled)")
        ax.barh(y, part["evpi"], 0.45, color=["#d62728" if c else "#1f77b4" for c in part["clears"]],
                xerr=[part["evpi"] - part["ci_low"], part["ci_high"] - part["evpi"]], capsize=2,
                error_kw={"lw": 0.8}, label="EVPI (red: clears both floors)")
        if len(part):
            ax.axvline(float(part["floor_all"].iloc[0]), color="black", ls="--", lw=0.9,
                       label="floor for the best of all inputs")
        ax.set_yticks(y, [_short(i, meta) for i in part["input"]], fontsize=7)
        unit = "share of runs" if o.kind == PROBABILITY else (o.unit or "value")
        ax.set_xlabel(f"EVPI ({unit}, the defender's gain)", fontsize=8)
        ax.set_title(o.label, fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
        ax.set_xlim(left=0)
        if not (part["ci_high"] > 0).any():   # one option best in every world: nothing to learn
            ax.set_xlim(0, 1)
            ax.text(0.5, 0.5, "one option is best in every world:\nno fact would change the choice",
                    transform=ax.transAxes, ha="center", va="center", fontsize=9,
                    bbox={"facecolor": "white", "edgecolor": "#999999"})
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{meta['experiment']}: expected value of perfect information per input (bars: bootstrap 95% "
                 "interval over worlds)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return _save(fig, out)
