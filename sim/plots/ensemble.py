"""The ensemble page's figures (sim/app_ensemble.py): the control-probability maps, the survival of the
city on calendar dates with its band, and fan charts (median and 5-95%) by option.

Numbers from ``sim.analysis.ensemble``; the maps are ``sim compare``'s (``control_maps_figure``),
the colours and date axes those of its other figures.
"""

from __future__ import annotations

import datetime as dt

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.analysis.ensemble import FAN_QUANTILES, FANS, OptionPicture  # noqa: E402
from sim.plots.compare import _date_axis, _dates, colour, control_maps_figure  # noqa: E402


def maps_figure(pictures: dict[str, OptionPicture], initial: np.ndarray, grid, city: str, zoom_km: float = 35.0):
    """P(attacker-held at the horizon) of the first option, and each other option's difference from it."""
    prob = {n: p.probability for n, p in pictures.items()}
    fig = control_maps_figure(prob, initial, grid, city, zoom_km, ncols=min(4, len(prob)), size=(5.6, 5.0))
    n = next(iter(pictures.values())).replications
    fig.suptitle(f"Where the attacker ends, {n} replications per option (dashed: the front at the start;\n"
                 "red on a difference: the attacker holds the cell more often than under the first option)",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    return fig


def survival_figure(pictures: dict[str, OptionPicture], start: dt.date, city: str):
    """Share of runs in which the city still holds, by date, with 95% bands."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for k, (name, p) in enumerate(pictures.items()):
        s = p.survival
        x = _dates(start, s.days)
        ax.fill_between(x, s.low, s.high, step="post", color=colour(k), alpha=0.15, lw=0)
        ax.step(x, s.share, where="post", color=colour(k), lw=1.8, label=f"{name} ({p.replications} runs)")
    ax.set_ylim(-0.02, 1.02)
    _date_axis(ax, start)
    ax.set_ylabel(f"share of runs still holding {city}", fontsize=8)
    ax.set_title(f"{city} still held (band: 95%)", fontsize=10)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def fans_figure(pictures: dict[str, OptionPicture], start: dt.date):
    """One panel per fan outcome: each option's median over days and its 5-95% band."""
    lo, mid, hi = 0, FAN_QUANTILES.index(0.5), len(FAN_QUANTILES) - 1
    fig, axes = plt.subplots(1, len(FANS), figsize=(7.5 * len(FANS), 4.2), squeeze=False)
    for ax, (col, label, unit) in zip(axes[0], FANS):
        for k, (name, p) in enumerate(pictures.items()):
            f = p.fans[col]
            x = _dates(start, f.days)
            ax.fill_between(x, f.quantiles[lo], f.quantiles[hi], color=colour(k), alpha=0.18, lw=0)
            ax.plot(x, f.quantiles[mid], color=colour(k), lw=1.6, label=name)
        if unit == "personnel":
            ax.set_ylim(bottom=0)
        ax.set_title(f"{label}: median and 5-95%", fontsize=10)
        ax.set_ylabel(unit, fontsize=8)
        _date_axis(ax, start)
        ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig
