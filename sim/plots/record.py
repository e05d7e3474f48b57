"""Figures of the record test bench: the model's control-probability map beside the real front.

One figure per hindcast start date, one panel per horizon: the share of runs in which
each cell of the agglomeration window is attacker-held (colour), DeepState's occupied
area on that day (red outline) and at the start (black dashed outline), and the towns.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from sim.plots.run import _save  # noqa: E402

REAL_COLOUR = "#d62728"


def _outline(ax, geometry, **style) -> None:
    """Every ring of a geometry (lon/lat) as a line."""
    for polygon in geometry:
        for ring in polygon:
            ax.plot(ring[:, 0], ring[:, 1], **style)


def _cell_edges(grid) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes of the grid's column edges and latitudes of its row edges."""
    k = grid.cell_km
    lat, _ = grid.to_latlon(np.zeros(grid.rows + 1), np.arange(grid.rows + 1) * k)
    _, lon = grid.to_latlon(np.arange(grid.cols + 1) * k, np.zeros(grid.cols + 1))
    return lon, lat


def plot_hindcast_maps(out: Path, start: dt.date, grid, window, probability: dict[int, np.ndarray],
                       real: dict[int, list], real_start: list, towns: dict[str, tuple[float, float]],
                       runs: int, name: str) -> Path:
    """``probability``: horizon -> rows x cols share of runs attacker-held; ``real``: horizon ->
    DeepState geometry of that day; ``real_start``: the geometry of the start; ``towns``: name ->
    (lat, lon)."""
    horizons = sorted(probability)
    fig, axes = plt.subplots(1, len(horizons), figsize=(5.2 * len(horizons) + 1.2, 5.4), squeeze=False)
    lon_edges, lat_edges = _cell_edges(grid)
    mesh = None
    for ax, h in zip(axes[0], horizons):
        mesh = ax.pcolormesh(lon_edges, lat_edges, probability[h], cmap="Oranges", vmin=0, vmax=1, shading="flat")
        _outline(ax, real_start, color="black", lw=1.0, ls="--")
        _outline(ax, real[h], color=REAL_COLOUR, lw=1.6)
        for town, (lat, lon) in towns.items():
            if window.contains(lat, lon):
                ax.plot(lon, lat, "o", color="#1f3b73", ms=3)
                ax.annotate(town, (lon, lat), xytext=(3, 3), textcoords="offset points", fontsize=7, color="#1f3b73",
                            path_effects=[patheffects.withStroke(linewidth=2, foreground="white")])
        ax.set_xlim(window.lon_min, window.lon_max)
        ax.set_ylim(window.lat_min, window.lat_max)
        ax.set_aspect(1 / math.cos(math.radians((window.lat_min + window.lat_max) / 2)))
        ax.set_title(f"day {h}: {start + dt.timedelta(days=h):%d %b %Y}", fontsize=10)
        ax.set_xlabel("longitude")
    axes[0][0].set_ylabel("latitude")
    handles = [Line2D([], [], color=REAL_COLOUR, lw=1.6, label="DeepState occupied area on that day"),
               Line2D([], [], color="black", lw=1.0, ls="--", label=f"DeepState occupied area at the start, {start:%d %b %Y}")]
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.suptitle(f"Hindcast from {start:%d %b %Y}: the model's front beside the record", fontsize=11)
    fig.subplots_adjust(bottom=0.16, top=0.88, left=0.05, right=0.88, wspace=0.15)
    bar = fig.colorbar(mesh, cax=fig.add_axes((0.905, 0.2, 0.012, 0.62)))
    bar.set_label(f"model: share of {runs} runs attacker-held", fontsize=8)
    return _save(fig, out / name)
