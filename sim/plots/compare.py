"""Figures of a comparison: distributions side by side, survival curves, fans, control maps."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.analysis.compare import LABELS, outcome_values, survival_curve  # noqa: E402
from sim.plots.run import _save  # noqa: E402

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
SIDE_BY_SIDE = ("defender_casualties", "defenders_captured", "attacker_casualties", "territory_lost_km2",
                "defenders_trapped", "defender_personnel_preserved", "min_corridor_km", "exchange_ratio")


def plot_distributions(results: dict[str, pd.DataFrame], horizons, out: Path) -> Path:
    names = list(results)
    fig, axes = plt.subplots(2, 4, figsize=(18, 8))
    for ax, outcome in zip(axes.ravel(), SIDE_BY_SIDE):
        data = [outcome_values(results[n], outcome, horizons[n]).dropna().to_numpy() for n in names]
        parts = ax.boxplot(data, showfliers=False, patch_artist=True, widths=0.6)
        for patch, colour in zip(parts["boxes"], COLOURS):
            patch.set_facecolor(colour)
            patch.set_alpha(0.45)
        for k, values in enumerate(data):
            jitter = np.random.default_rng(k).uniform(-0.15, 0.15, len(values))  # display only
            ax.scatter(np.full(len(values), k + 1) + jitter, values, s=4, color=COLOURS[k % len(COLOURS)], alpha=0.5)
        ax.set_xticks(range(1, len(names) + 1), [n.replace("_", "\n") for n in names], fontsize=7)
        ax.set_title(LABELS.get(outcome, outcome), fontsize=9)
        ax.tick_params(labelsize=7)
    fig.suptitle("Outcome distributions by option (boxes: quartiles; whiskers: 1.5 IQR; dots: replications)", fontsize=11)
    fig.tight_layout()
    return _save(fig, out)


def plot_survival(results: dict[str, pd.DataFrame], horizons, out: Path) -> Path:
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    for ax, (col, title) in zip(axes, (("pokrovsk_fall_day", "Pokrovsk still held (≥ half its urban cells)"),
                                       ("encirclement_day", "no encirclement yet"),
                                       ("next_line_reached_day", "next line not yet reached"))):
        for k, (name, runs) in enumerate(results.items()):
            t, s = survival_curve(runs[col], horizons[name])
            ax.step(t, s, where="post", color=COLOURS[k % len(COLOURS)], lw=1.8, label=name)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("day", fontsize=8)
        ax.set_ylabel("share of replications", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7)
    fig.suptitle("Survival curves: share of replications in which the event has not happened by each day", fontsize=11)
    fig.tight_layout()
    return _save(fig, out)


def plot_fans(timeseries: dict[str, pd.DataFrame], out: Path) -> Path:
    cols = (("defender_personnel", "defender personnel"), ("attacker_personnel", "attacker personnel"),
            ("defender_area_km2", "defender-held area, km²"), ("corridor_km", "corridor to Pokrovsk, km"))
    fig, axes = plt.subplots(1, len(cols), figsize=(20, 4.6))
    for ax, (col, title) in zip(axes, cols):
        for k, (name, ts) in enumerate(timeseries.items()):
            wide = ts.pivot(index="day", columns="replication", values=col)
            q = wide.quantile([0.25, 0.5, 0.75], axis=1).T
            colour = COLOURS[k % len(COLOURS)]
            ax.fill_between(q.index, q[0.25], q[0.75], color=colour, alpha=0.2, lw=0)
            ax.plot(q.index, q[0.5], color=colour, lw=1.6, label=name)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("day", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7)
    fig.suptitle("Daily trajectories by option: median and 50% band", fontsize=11)
    fig.tight_layout()
    return _save(fig, out)


def plot_control_maps(folders: dict[str, Path], out: Path, zoom_km: float = 35.0) -> Path | None:
    from matplotlib.colors import LinearSegmentedColormap

    from sim.plots.map import draw_base, draw_latlon_ticks
    from sim.theater import load_scenario
    from sim.theater import build_grid, theater_of
    from sim.theater.grid import ATTACKER

    names = list(folders)
    ncols = min(2, len(names))
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(7.2 * ncols, 6.6 * nrows), squeeze=False)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    cmap = LinearSegmentedColormap.from_list("p", ["#ffffff00", "#fdae61", "#d7191c", "#67000d"])
    im = None
    for ax, name in zip(axes.ravel(), names):
        folder = folders[name]
        doc = load_scenario(folder / "scenario.yaml")
        grid = build_grid(theater_of(doc), doc.scenario.grid.cell_km)
        data = np.load(folder / "control.npz")
        prob = data["attacker_held_count"] / max(int(data["replications"]), 1)
        draw_base(ax, grid, labels=True)
        im = ax.imshow(np.ma.masked_where(prob <= 0, prob), origin="lower", cmap=cmap, vmin=0, vmax=1, alpha=0.75,
                       extent=[0, grid.cols * grid.cell_km, 0, grid.rows * grid.cell_km], interpolation="nearest")
        X, Y = grid.centres_km()
        ax.contour(X, Y, (data["initial_control"] == ATTACKER).astype(float), levels=[0.5], colors=["black"],
                   linewidths=1.0, linestyles="dashed")
        cx, cy = grid.to_km(*grid.theater.place_latlon(doc.scenario.outcomes.city))
        draw_latlon_ticks(ax, grid)
        ax.set_xlim(float(cx) - zoom_km, float(cx) + zoom_km)
        ax.set_ylim(float(cy) - zoom_km, float(cy) + zoom_km)
        ax.set_title(name, fontsize=10)
    if im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.6, label="P(attacker-held on the last day)")
    fig.suptitle("Where the attacker ends, by option (dashed: front at the start)", fontsize=11)
    return _save(fig, out)
