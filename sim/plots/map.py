"""The theater map: terrain, roads, railways, rivers, towns, fortifications and control."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from sim.core.io import write_atomic  # noqa: E402

from sim.theater.grid import ATTACKER, CONTESTED, Grid  # noqa: E402

TERRAIN_COLOURS = ListedColormap(["#f3efe2", "#9e9e9e", "#b7d3a8", "#9cc3e6"])
ATTACKER_COLOUR = "#d62728"
CONTESTED_COLOUR = "#ff9f1c"
DEFENDER_COLOUR = "#1f77b4"

# towns labelled on the map, by population or by role in the seeds
MIN_LABEL_POPULATION = 5000
ALWAYS_LABEL = {"Shevchenko (lithium)", "Kotlyne", "Udachne", "Hryshyne", "Rodynske", "Bilytske", "Shevchenko", "Zvirove", "Lazurnyi", "Hrodivka"}


def _extent(grid: Grid) -> list[float]:
    return [0, grid.cols * grid.cell_km, 0, grid.rows * grid.cell_km]


def draw_base(ax, grid: Grid, *, labels: bool = True, roads: bool = True) -> None:
    """Terrain, water, roads, railways, rivers, fortification belts and towns."""
    ext = _extent(grid)
    ax.imshow(grid.terrain, origin="lower", extent=ext, cmap=TERRAIN_COLOURS, vmin=0, vmax=3, interpolation="nearest")
    fort = np.ma.masked_where(grid.fortification <= 0, grid.fortification)
    ax.imshow(fort, origin="lower", extent=ext, cmap="Purples", vmin=0, vmax=4, alpha=0.35, interpolation="nearest")
    th = grid.theater

    def line(places):
        pts = [th.place_latlon(p) for p in places]
        return grid.to_km([p[0] for p in pts], [p[1] for p in pts])

    for river in th.rivers:
        ax.plot(*line(river.line), color="#3a7dc9", lw=1.0, alpha=0.9)
    if roads:
        for road in th.roads:
            ax.plot(*line(road.via), color="#5a3e1b", lw=2.0 if road.road_class == "primary" else 1.0, alpha=0.85)
        for rail in th.railways:
            ax.plot(*line(rail.via), color="black", lw=0.8, ls=(0, (3, 2)), alpha=0.8)
    if labels:
        for s in th.settlements:
            if s.name not in grid.settlement_cell:
                continue
            x, y = grid.to_km(s.lat, s.lon)
            size = 2 + 2.2 * np.log10(max(s.population, 100))
            ax.plot(x, y, "o", ms=size, mfc="white", mec="black", mew=0.8, zorder=5)
            if s.population >= MIN_LABEL_POPULATION or s.name in ALWAYS_LABEL:
                ax.annotate(s.name, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=7,
                            zorder=6, bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.6))


def draw_control(ax, grid: Grid, control: np.ndarray, *, alpha: float = 0.45) -> None:
    """Attacker-held and contested cells, and the front line between the sides."""
    ext = _extent(grid)
    att = np.ma.masked_where(control != ATTACKER, np.ones(control.shape))
    ax.imshow(att, origin="lower", extent=ext, cmap=ListedColormap([ATTACKER_COLOUR]), alpha=alpha, interpolation="nearest")
    con = np.ma.masked_where(control != CONTESTED, np.ones(control.shape))
    ax.imshow(con, origin="lower", extent=ext, cmap=ListedColormap([CONTESTED_COLOUR]), alpha=0.75, interpolation="nearest")
    X, Y = grid.centres_km()
    ax.contour(X, Y, (control == ATTACKER).astype(float), levels=[0.5], colors=[ATTACKER_COLOUR], linewidths=1.4)


def draw_latlon_ticks(ax, grid: Grid) -> None:
    b = grid.theater.bbox
    lats = np.arange(np.ceil(b.south * 10) / 10, b.north, 0.2)
    lons = np.arange(np.ceil(b.west * 10) / 10, b.east, 0.2)
    ax.set_yticks([float(grid.to_km(la, b.west)[1]) for la in lats], [f"{la:.1f}°N" for la in lats], fontsize=7)
    ax.set_xticks([float(grid.to_km(b.south, lo)[0]) for lo in lons], [f"{lo:.1f}°E" for lo in lons], fontsize=7)


def legend_handles() -> list:
    return [
        Patch(color=ATTACKER_COLOUR, alpha=0.45, label="attacker-held"),
        Patch(color=CONTESTED_COLOUR, alpha=0.75, label="contested"),
        Patch(color="#f3efe2", label="open (defender-held if not shaded)"),
        Patch(color="#9e9e9e", label="urban"),
        Patch(color="#b7d3a8", label="forest"),
        Patch(color="#9cc3e6", label="water"),
        Patch(color="#9f8fc7", alpha=0.5, label="fortification"),
        Line2D([], [], color="#5a3e1b", lw=2, label="highway"),
        Line2D([], [], color="#5a3e1b", lw=1, label="road"),
        Line2D([], [], color="black", lw=0.8, ls=(0, (3, 2)), label="railway"),
        Line2D([], [], color="#3a7dc9", lw=1, label="river"),
    ]


def save_map(grid: Grid, control: np.ndarray, out: str | Path, *, title: str,
             sources: list[tuple[int, int]] | None = None, sector: np.ndarray | None = None,
             focus: tuple[float, float] | None = None, zoom_km: float = 22.0) -> Path:
    """Write the theater and its front as a PNG: the whole theater and a zoom on ``focus`` (x, y km)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    aspect = grid.rows / grid.cols
    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(19, 10 * aspect + 0.8), gridspec_kw={"width_ratios": [1, 1]})
    for a in (ax, zoom):
        draw_base(a, grid)
        draw_control(a, grid, control)
        if sector is not None:
            X, Y = grid.centres_km()
            a.contour(X, Y, sector.astype(float), levels=[0.5], colors=["#444444"], linewidths=0.8, linestyles="dotted")
        if sources:
            k = grid.cell_km
            for r, c in sources:
                a.plot((c + 0.5) * k, (r + 0.5) * k, marker="s", ms=7, mfc=DEFENDER_COLOUR, mec="white", zorder=7)
        draw_latlon_ticks(a, grid)
    ax.set_xlim(0, grid.cols * grid.cell_km)
    ax.set_ylim(0, grid.rows * grid.cell_km)
    handles = legend_handles()
    if sources:
        handles.append(Line2D([], [], marker="s", ls="", mfc=DEFENDER_COLOUR, mec="white", label="supply source"))
    if sector is not None:
        handles.append(Line2D([], [], color="#444444", lw=0.8, ls="dotted", label="active sector"))
    ax.legend(handles=handles, loc="upper left", fontsize=7, framealpha=0.85)
    ax.set_title(title, fontsize=11)
    cx, cy = focus if focus is not None else (grid.cols * grid.cell_km / 2, grid.rows * grid.cell_km / 2)
    zoom.set_xlim(cx - zoom_km, cx + zoom_km)
    zoom.set_ylim(cy - zoom_km, cy + zoom_km)
    zoom.set_title(f"The agglomeration and its flanks ({2 * zoom_km:.0f} x {2 * zoom_km:.0f} km)", fontsize=11)
    ax.add_patch(plt.Rectangle((cx - zoom_km, cy - zoom_km), 2 * zoom_km, 2 * zoom_km, fill=False, ec="black", lw=1, ls="--"))
    ax.text(0.995, 0.005, grid.theater.credit, transform=ax.transAxes, ha="right", va="bottom", fontsize=6, alpha=0.8)
    fig.tight_layout()
    try:
        return write_atomic(out, lambda tmp: fig.savefig(tmp, dpi=130, format="png"))
    finally:
        plt.close(fig)


def map_title(theater_name: str, date: dt.date, front_date: dt.date, cell_km: float) -> str:
    front = f"front of {front_date:%d %b %Y}" + ("" if front_date == date else f" (scenario starts {date:%d %b %Y})")
    return f"Theater '{theater_name}': {front}, {cell_km:g} km cells"



def draw_units(ax, model) -> None:
    """Units as dots coloured by side, sized by strength."""
    f = model.forces
    for side, colour in ((0, DEFENDER_COLOUR), (1, ATTACKER_COLOUR)):
        idx = np.flatnonzero(f.present & (f.side == side))
        if idx.size:
            ax.scatter(f.x[idx], f.y[idx], s=np.sqrt(f.personnel[idx]) * 0.8, c=colour, edgecolors="white",
                       linewidths=0.6, zorder=8, alpha=0.9)


def draw_day(ax, model, zoom_km: float = 28.0, title: str | None = None) -> None:
    """One replication's state today around the city: control, units, pockets (hatched and outlined).

    The one drawing of a model's day, used by snapshots, the animation and the app.
    """
    import datetime as dt

    grid = model.grid
    draw_base(ax, grid)
    draw_control(ax, grid, model.control)
    state = model.supply_state
    if state is not None and state.pocket.any():
        X, Y = grid.centres_km()
        ax.contourf(X, Y, state.pocket.astype(float), levels=[0.5, 1.5], colors=["none"], hatches=["////"])
        ax.contour(X, Y, state.pocket.astype(float), levels=[0.5], colors=["black"], linewidths=1.4)
    draw_units(ax, model)
    cx, cy = model.city_xy
    draw_latlon_ticks(ax, grid)
    ax.set_xlim(max(0.0, cx - zoom_km), min(grid.cols * grid.cell_km, cx + zoom_km))
    ax.set_ylim(max(0.0, cy - zoom_km), min(grid.rows * grid.cell_km, cy + zoom_km))
    if title is None:
        date = dt.date.fromordinal(model.spec.start_date.toordinal() + model.day)
        corridor = state.corridor_km if state is not None else float("nan")
        title = (f"{model.spec.name}: day {model.day} ({date:%d %b %Y}), {model.weather_name}; "
                 f"corridor {corridor:.0f} km")
    ax.set_title(title, fontsize=9)


def snapshot(model, out: str | Path, *, zoom_km: float = 30.0, title: str | None = None) -> Path:
    """One replication's state (control, units, pockets) around the city, as a PNG."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(8, 8))
    draw_day(ax, model, zoom_km, title)
    fig.tight_layout()
    try:
        return write_atomic(out, lambda tmp: fig.savefig(tmp, dpi=90, format="png"))
    finally:
        plt.close(fig)
