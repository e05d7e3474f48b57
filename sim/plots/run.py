"""Figures of a results folder: outcome distributions, fan charts and the control probability map."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.core.errors import InputError  # noqa: E402
from sim.core.io import write_atomic  # noqa: E402

DISTRIBUTIONS = ("pokrovsk_fall_day", "encirclement_day", "corridor_cut_day", "defender_casualties",
                 "attacker_casualties", "defenders_cut_off", "defenders_captured", "territory_lost_km2")
FANS = (
    (("defender_personnel", "attacker_personnel"), "personnel", ("#1f77b4", "#d62728")),
    (("defender_area_km2",), "defender-held area, km²", ("#1f77b4",)),
    (("corridor_km",), "corridor to Pokrovsk, km", ("#2ca02c",)),
    (("supply_index",), "defender supply index", ("#9467bd",)),
)


def _save(fig, path: Path) -> Path:
    try:
        return write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    finally:
        plt.close(fig)


def plot_distributions(runs: pd.DataFrame, out: Path, title: str, start_date: str | None = None) -> Path:
    """Histograms of the run's outcomes; an event day's axis counts days from the start date (when known)."""
    import datetime as dt

    from sim.analysis.compare import outcome_values
    from sim.outcomes import EVENT_DAY, axis_unit, outcome

    start = dt.date.fromisoformat(start_date) if start_date else None

    fig, axes = plt.subplots(2, 4, figsize=(16, 7))
    n = len(runs)
    for ax, col in zip(axes.ravel(), DISTRIBUTIONS):
        o = outcome(col)
        values = pd.to_numeric(runs[col], errors="coerce").astype(float).dropna() if col in runs else pd.Series(dtype=float)
        if len(values):
            ax.hist(values, bins=min(30, max(5, len(values) // 4)), color="#4c72b0", alpha=0.85)
            ax.axvline(values.median(), color="black", lw=1, ls="--")
        share = f"in {len(values)} of {n} runs" if o.kind == EVENT_DAY else f"n={len(values)}"
        ax.set_title(f"{o.label} ({share})", fontsize=9)
        unit = axis_unit(o)
        if o.kind == EVENT_DAY and start is not None:
            unit = unit.replace("days;", f"days after {start:%d %b %Y};", 1)
        ax.set_xlabel(unit, fontsize=8)
        ax.set_ylabel("runs", fontsize=8)
        ax.tick_params(labelsize=7)
    held = {d: outcome_values(runs, f"pokrovsk_held_day{d}", 0).mean() for d in (30, 60, 90)}
    p_enc = runs["encircled"].mean() if "encircled" in runs else float("nan")
    fig.suptitle(f"{title}: P(Pokrovsk still held) day 30 {held[30]:.2f}, day 60 {held[60]:.2f}, day 90 {held[90]:.2f}; "
                 f"P(encircled) {p_enc:.2f}; dashed: median (for a day, of the runs in which it happens)", fontsize=11)
    fig.tight_layout()
    return _save(fig, out)


def fan_figure(ts: pd.DataFrame, title: str, start_date: str | None = None, events=()):
    """The fan charts; on calendar dates when the start date is known, with ``events`` (day, label: the
    attackers' arrivals, the withdrawal's start, the Kursk brigades' arrival) as labelled dashed lines."""
    import datetime as dt

    from sim.plots.compare import _date_axis, _dates, events_key, mark_events

    start = dt.date.fromisoformat(start_date) if start_date else None
    marks = sorted((float(day), label, "black") for day, label in events) if start else []
    fig, axes = plt.subplots(1, len(FANS), figsize=(18, 5.4 if marks else 4.8))
    for ax, (cols, label, colours) in zip(axes, FANS):
        for col, colour in zip(cols, colours):
            if col not in ts:
                continue
            wide = ts.pivot(index="day", columns="replication", values=col)
            q = wide.quantile([0.05, 0.25, 0.5, 0.75, 0.95], axis=1).T
            x = _dates(start, q.index) if start else q.index
            ax.fill_between(x, q[0.05], q[0.95], color=colour, alpha=0.15, lw=0)
            ax.fill_between(x, q[0.25], q[0.75], color=colour, alpha=0.3, lw=0)
            ax.plot(x, q[0.5], color=colour, lw=1.8, label=col.replace("_", " "))
        ax.set_title(label, fontsize=10)
        if start:
            _date_axis(ax, start)
            lines, texts = mark_events(ax, start, marks)
        else:
            ax.set_xlabel("day", fontsize=8)
        if "personnel" in cols[0] or cols[0] == "corridor_km":  # counts and widths from 0; areas zoomed in
            ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=7)
        if len(cols) > 1:
            ax.legend(fontsize=7, loc="lower left")
    note = "; dashed: events (median day where uncertain), their key below" if marks else ""
    fig.suptitle(f"{title}: median, 50% and 90% bands over replications{note}", fontsize=11)
    if marks:
        events_key(fig, lines, texts, top=0.95)
    else:
        fig.tight_layout()
    return fig


def plot_fans(ts: pd.DataFrame, out: Path, title: str, start_date: str | None = None, events=()) -> Path:
    return _save(fan_figure(ts, title, start_date, events), out)


def run_events(out_dir: Path, runs: pd.DataFrame) -> list[tuple[float, str]]:
    """The events of a run folder's scenario (sim.analysis.compare.option_events); none without scenario.yaml."""
    from sim.analysis.compare import option_events
    from sim.theater import load_scenario

    if not (out_dir / "scenario.yaml").exists():
        return []
    return option_events(load_scenario(out_dir / "scenario.yaml").scenario, runs)


def plot_control_probability(out_dir: Path, out: Path, title: str, zoom_km: float = 40.0) -> Path | None:
    from matplotlib.colors import LinearSegmentedColormap

    from sim.plots.map import draw_base, draw_latlon_ticks
    from sim.theater import load_scenario
    from sim.theater import build_grid, theater_of
    from sim.theater.grid import ATTACKER

    scenario_file = out_dir / "scenario.yaml"
    if not scenario_file.exists():
        return None
    doc = load_scenario(scenario_file)
    grid = build_grid(theater_of(doc), doc.scenario.grid.cell_km)
    data = np.load(out_dir / "control.npz")
    n = int(data["replications"])
    if n == 0:
        return None
    prob = data["attacker_held_count"] / n
    initial = data["initial_control"]
    fig, ax = plt.subplots(figsize=(9, 8.5))
    draw_base(ax, grid)
    cmap = LinearSegmentedColormap.from_list("p", ["#ffffff00", "#fdae61", "#d7191c", "#67000d"])
    shown = np.ma.masked_where(prob <= 0.0, prob)
    im = ax.imshow(shown, origin="lower", extent=[0, grid.cols * grid.cell_km, 0, grid.rows * grid.cell_km],
                   cmap=cmap, vmin=0, vmax=1, alpha=0.75, interpolation="nearest")
    X, Y = grid.centres_km()
    ax.contour(X, Y, (initial == ATTACKER).astype(float), levels=[0.5], colors=["black"], linewidths=1.2,
               linestyles="dashed")
    lat, lon = grid.theater.place_latlon(doc.scenario.outcomes.city)
    cx, cy = grid.to_km(lat, lon)
    draw_latlon_ticks(ax, grid)
    ax.set_xlim(float(cx) - zoom_km, float(cx) + zoom_km)
    ax.set_ylim(float(cy) - zoom_km, float(cy) + zoom_km)
    fig.colorbar(im, ax=ax, shrink=0.7, label="P(attacker-held on the last day)")
    ax.set_title(f"{title}: where the attacker ends ({n} replications); dashed: front at the start", fontsize=10)
    fig.tight_layout()
    return _save(fig, out)


def plot_results(out_dir: str | Path, levels=None) -> list[Path]:
    """Every figure of a ``sim run`` results folder, and its maps for GIS (contours at ``levels``,
    sim/plots/gis.py); returns the files written."""
    from sim.plots.gis import DEFAULT_LEVELS, write_gis

    out_dir = Path(out_dir)
    if not (out_dir / "runs.parquet").exists():
        raise InputError("no runs.parquet here: not a results folder of sim run", source=str(out_dir))
    runs = pd.read_parquet(out_dir / "runs.parquet")
    ts = pd.read_parquet(out_dir / "timeseries.parquet")
    manifest = json.loads((out_dir / "manifest.json").read_text()) if (out_dir / "manifest.json").exists() else {}
    title = manifest.get("scenario", out_dir.name)
    written = [plot_distributions(runs, out_dir / "outcomes.png", title, manifest.get("start_date")),
               plot_fans(ts, out_dir / "fan.png", title, manifest.get("start_date"), run_events(out_dir, runs))]
    cp = plot_control_probability(out_dir, out_dir / "control_probability.png", title)
    if cp is not None:
        written.append(cp)
    return written + write_gis(out_dir, levels or DEFAULT_LEVELS)
