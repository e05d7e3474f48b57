"""The record test bench's report: its tables (Markdown) and figures (``sim validate-model``).

One figure per hindcast start date, one panel per horizon: the share of runs in which
each cell of the agglomeration window is attacker-held (colour), DeepState's occupied
area on that day (red outline) and at the start (black dashed outline), and the towns.
The runs and the scores come from ``sim/hindcast.py``.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from sim import hindcast  # noqa: E402
from sim.plots.run import _save  # noqa: E402
from sim.outcomes import BREAKTHROUGH_DAYS, BREAKTHROUGH_KM, RETAKEN_AFTER_DAYS  # noqa: E402

REAL_COLOUR = "#d62728"
PANELS_PER_ROW = 3    # the long hindcast's six horizons draw as two rows
SECTION_TITLE = "## The record as a test bench"


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
    rows = -(-len(horizons) // PANELS_PER_ROW)
    cols = min(len(horizons), PANELS_PER_ROW)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols + 1.2, 5.0 * rows + 0.4), squeeze=False)
    for ax in axes.flat[len(horizons):]:
        ax.set_visible(False)
    lon_edges, lat_edges = _cell_edges(grid)
    mesh = None
    for ax, h in zip(axes.flat, horizons):
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
    for row in axes:
        row[0].set_ylabel("latitude")
    handles = [Line2D([], [], color=REAL_COLOUR, lw=1.6, label="DeepState occupied area on that day"),
               Line2D([], [], color="black", lw=1.0, ls="--", label=f"DeepState occupied area at the start, {start:%d %b %Y}")]
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.suptitle(f"Hindcast from {start:%d %b %Y}: the model's front beside the record", fontsize=11)
    fig.subplots_adjust(bottom=0.16 / rows, top=1 - 0.12 / rows, left=0.05, right=0.88, wspace=0.15, hspace=0.25)
    bar = fig.colorbar(mesh, cax=fig.add_axes((0.905, 0.2 / rows, 0.012, 1 - 0.38 / rows)))
    bar.set_label(f"model: share of {runs} runs attacker-held", fontsize=8)
    return _save(fig, out / name)


# ------------------------------------------------------------------ the report
def _day(value: float, run_days) -> str:
    if np.isinf(value):
        return f">{int(run_days)}"
    return "" if np.isnan(value) else f"{value:.0f}"


def front_table(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per start date and horizon: Brier scores, skill, ground taken model against real."""
    skill_rows = scores[scores["target"] == "brier_skill"].set_index(["start_date", "horizon_days"])
    ground = scores[scores["target"] == "ground_taken_km2"].set_index(["start_date", "horizon_days"])
    out = pd.DataFrame({
        "date": skill_rows["date"],
        "Brier model": skill_rows["brier_model"].round(3),
        "Brier persistence": skill_rows["brier_persistence"].round(3),
        "skill": skill_rows["model"].round(2),
        "Brier at start": skill_rows["brier_start"].round(3),
        "ground taken real km²": ground["real"].round(0),
        "model median km²": ground["model"].round(0),
        "model 5-95%": [f"{a:.0f}-{b:.0f}" for a, b in zip(ground["model_p05"], ground["model_p95"])],
        "model / real": (ground["model"] / ground["real"]).round(2),
    })
    return out.reset_index().rename(columns={"start_date": "start", "horizon_days": "day"})


def town_table(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per start date and town: the real capture day against the model's."""
    towns = scores[scores["target"] == "capture_day"]
    last = hindcast.record_end()
    rows = []
    for _, r in towns.iterrows():
        real = (f"{r['real']:.0f} ({r['date']:%d %b})" if np.isfinite(r["real"])
                else f"not by {last:%d %b %Y} (day {(last - r['start_date']).days})")
        rows.append({"start": r["start_date"], "town": r["town"], "real day": real,
                     "model median": _day(r["model"], r["horizon_days"]),
                     "model 5-95%": f"{_day(r['model_p05'], r['horizon_days'])} to {_day(r['model_p95'], r['horizon_days'])}",
                     "runs fallen in the run": round(float(r["share_fallen_in_run"]), 2),
                     "runs fallen by the real day": ("" if np.isnan(r["share_fallen_by_real"])
                                                     else round(float(r["share_fallen_by_real"]), 2))})
    return pd.DataFrame(rows)


def breakthrough_table(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per start date: the record's breakthroughs against the model's."""
    rows = []
    for start, g in scores[scores["target"].astype(str).str.startswith("breakthrough")].groupby("start_date"):
        t = g.set_index("target")
        depth, share = t.loc["breakthrough_depth_km"], t.loc["breakthrough_retaken_share"]
        real = ("none" if t.loc["breakthrough_runs_share", "real"] == 0 else
                f"{t.loc['breakthrough_runs_share', 'date']:%d %b %Y}, {depth['real']:.0f} km, {share['real']:.0%} retaken")
        model = ("none in any run" if t.loc["breakthrough_runs_share", "model"] == 0 else
                 f"{depth['model']:.0f} km ({depth['model_p05']:.0f}-{depth['model_p95']:.0f}), "
                 f"{share['model']:.0%} retaken ({share['model_p05']:.0%}-{share['model_p95']:.0%})")
        rows.append({"start": start, "days": int(t["horizon_days"].iloc[0]), "record": real,
                     "runs with one": round(float(t.loc["breakthrough_runs_share", "model"]), 2),
                     "model's first (median, 5-95%)": model})
    return pd.DataFrame(rows)


def record_section(scores: pd.DataFrame, figures: list[Path], command: str, runs: int) -> str:
    """The Markdown of the record test bench: the two tables and the figures."""
    lines = [SECTION_TITLE, "",
             f"`{command}`: {runs} runs per start date, scored against DeepState's occupied area in the "
             "agglomeration window (lon 36.80-37.50, lat 48.05-48.55); skill = 1 - Brier model / Brier "
             "persistence (above 0: better than \"nothing moves\"). \"Brier at start\": the model's day 0 "
             "against the record's start (0 when the model starts from the real front).", "",
             "### The front", "", front_table(scores).to_markdown(index=False), "",
             "### Town capture days (first day the town's centre is attacker-held; days from the start)", "",
             town_table(scores).to_markdown(index=False), "",
             f"### Breakthroughs (ground {BREAKTHROUGH_KM:g} km beyond the front of {BREAKTHROUGH_DAYS} days before; "
             f"share of the wedge retaken {RETAKEN_AFTER_DAYS} days on, or on the last day)", "",
             breakthrough_table(scores).to_markdown(index=False), "", "### Figures", "",
             *[f"![{p.name}]({p.parent.name}/{p.name})" for p in figures], ""]
    return "\n".join(lines)
