"""Figures of a comparison: distributions side by side, survival curves with bands and dates, fans with
the events that shape them, and maps of the difference each option makes against the baseline.

Labels, units and the direction that is better for the defender come from the outcome declarations
(``sim.outcomes``); the statistics come from ``sim.analysis.compare``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.analysis.compare import option_events, outcome_values, survival_band, survival_curve  # noqa: E402
from sim.analysis.ensemble import fan_frame  # noqa: E402
from sim.outcomes import AMOUNT, EVENT_DAY, RATIO, axis_unit, fall_day_column, outcome, tabled  # noqa: E402
from sim.plots.run import _save  # noqa: E402
from sim.vocab import Terrain  # noqa: E402

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def colour(k: int) -> str:
    return COLOURS[k % len(COLOURS)]


def _dates(start: dt.date, days) -> list[dt.date]:
    return [start + dt.timedelta(days=int(d)) for d in days]


def _date_axis(ax, start: dt.date) -> None:
    ax.xaxis.set_major_locator(mdates.MonthLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%Y"))
    ax.set_xlabel(f"date (day 0 = {start:%d %b %Y})", fontsize=8)


def plot_distributions(results: dict[str, pd.DataFrame], horizons, out: Path, same=frozenset()) -> Path:
    """Amounts and ratios side by side; an outcome that is the same in every run, or the same under every option
    run by run (``same``: sim.analysis.compare.identical_outcomes), is named, not drawn."""
    names = list(results)
    shown, flat, shared = [], [], []
    for o in (o for o in tabled() if o.kind in (AMOUNT, RATIO)):
        data = [outcome_values(results[n], o, horizons[n]).dropna().to_numpy() for n in names]
        values = np.concatenate(data) if data else np.array([])
        if not (values.size and np.ptp(values) > 0):
            flat.append((o, data))
        else:
            (shared if o.name in same else shown).append((o, data))
    ncols = 4
    nrows = max(1, -(-len(shown) // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(18, 4.1 * nrows), squeeze=False)
    for ax in axes.ravel()[len(shown):]:
        ax.axis("off")
    for ax, (o, data) in zip(axes.ravel(), shown):
        parts = ax.boxplot(data, showfliers=False, patch_artist=True, widths=0.6)
        for k, patch in enumerate(parts["boxes"]):
            patch.set_facecolor(colour(k))
            patch.set_alpha(0.45)
        for k, values in enumerate(data):
            jitter = np.random.default_rng(k).uniform(-0.15, 0.15, len(values))  # display only
            ax.scatter(np.full(len(values), k + 1) + jitter, values, s=4, color=colour(k), alpha=0.5)
        ax.set_xticks(range(1, len(names) + 1), [n.replace("_", "\n") for n in names], fontsize=7)
        ax.set_title(o.label, fontsize=9)
        ax.set_ylabel(axis_unit(o), fontsize=8)
        ax.tick_params(labelsize=7)
    note = ("\nthe same in every run (not drawn): " + ", ".join(o.label for o, _ in flat)) if flat else ""
    note += ("\nthe same under every option, run by run (not drawn; the options share the weather): "
             + ", ".join(o.label for o, _ in shared)) if shared else ""
    fig.suptitle("Outcome distributions by option (boxes: quartiles; whiskers: 1.5 IQR; dots: replications)" + note,
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return _save(fig, out)


def plot_survival(results: dict[str, pd.DataFrame], horizons, out: Path, start: dt.date, towns=()) -> Path:
    """Share of replications in which each event has not happened yet, with 95% bands, on calendar dates."""
    panels = [*(o.name for o in tabled() if o.kind == EVENT_DAY), *(fall_day_column(t) for t in towns)]
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(6 * ncols, 4.6 * nrows), squeeze=False)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    for ax, col in zip(axes.ravel(), panels):
        o = outcome(col)
        happened = False
        for k, (name, runs) in enumerate(results.items()):
            days = runs[col] if col in runs else pd.Series([None] * len(runs))
            t, s = survival_curve(days, horizons[name])
            lo, hi = survival_band(days, horizons[name])
            x = _dates(start, t)
            ax.fill_between(x, lo, hi, step="post", color=colour(k), alpha=0.15, lw=0)
            ax.step(x, s, where="post", color=colour(k), lw=1.8, label=name)
            happened |= bool((s < 1).any())
        if not happened:
            ax.text(0.5, 0.5, "no run reached this event\nwithin the horizon", transform=ax.transAxes,
                    ha="center", va="center", fontsize=9, color="#555")
        ax.set_ylim(-0.02, 1.02)
        _date_axis(ax, start)
        ax.set_ylabel("share of runs in which it has not happened", fontsize=8)
        ax.set_title(f"{o.label.replace('days until ', 'not yet: ')}", fontsize=10)
        ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Survival curves with 95% bands: share of replications in which the event has not happened "
                 "by each date (higher is better for the defender)", fontsize=11)
    fig.tight_layout()
    return _save(fig, out)


FAN_SERIES = (("defender_personnel", "defender personnel", "personnel", True),
              ("attacker_personnel", "attacker personnel", "personnel", True),
              ("ground_lost_km2", "ground lost since the start (attacker-held: the record's measure)", "km²", False),
              ("corridor_km", "supply corridor to Pokrovsk (0: cut)", "km", True))


def event_marks(events: dict[str, list[tuple[float, str]]]) -> list[tuple[float, str, str]]:
    """(day, label, colour) once per event: black when several options share it (named unless all do),
    the option's colour when it is one option's."""
    names = list(events)
    who: dict[tuple[float, str], list[str]] = {}
    for n, evs in events.items():
        for ev in evs:
            who.setdefault(ev, []).append(n)
    marks = []
    for (day, label), opts in who.items():
        if len(opts) == 1:
            marks.append((day, f"{label} ({opts[0]})", colour(names.index(opts[0]))))
        else:
            rest = [n for n in names if n not in opts]
            which = "" if not rest else (f" (all but {rest[0]})" if len(rest) == 1 else f" ({', '.join(opts)})")
            marks.append((day, label + which, "black"))
    return sorted(marks)


def mark_events(ax, start: dt.date, marks: list[tuple[float, str, str]]) -> tuple[list, list[str]]:
    """Dashed vertical lines at the events' days; returns the lines and their key's texts (what, and the date)."""
    lines, texts = [], []
    for day, label, col in marks:
        when = start + dt.timedelta(days=float(day))
        lines.append(ax.axvline(when, color=col, ls="--", lw=1.0, alpha=0.85))
        texts.append(f"{label}: {when:%d %b %Y} (day {float(day):g})")
    return lines, texts


def events_key(fig, lines: list, texts: list[str], top: float = 1.0) -> None:
    """The events' key as a legend of the figure, below the panels (never over a curve), and the panels laid out
    above it (``top``: the share of the height left to them under the title)."""
    if not lines:
        fig.tight_layout(rect=(0, 0, 1, top))
        return
    ncol = min(3, len(lines))
    rows = -(-len(lines) // ncol)
    bottom = min(0.4, (0.3 + 0.2 * (rows + 1)) / fig.get_figheight())
    fig.legend(lines, texts, loc="lower center", ncol=ncol, fontsize=8, title="events (dashed lines)",
               title_fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, bottom, 1, top))


def plot_fans(timeseries: dict[str, pd.DataFrame], out: Path, start: dt.date,
              events: dict[str, list[tuple[float, str]]]) -> Path:
    """Median and 50% band by option, on calendar dates, with the events as dashed lines (black: shared by
    several options; coloured: one option's), labelled on the first panel."""
    marks = event_marks({n: events.get(n, []) for n in timeseries})
    fig, axes = plt.subplots(2, 2, figsize=(16, 9))
    for ax, (col, title, unit, from_zero) in zip(axes.ravel(), FAN_SERIES):
        for k, (name, ts) in enumerate(timeseries.items()):
            if col not in ts:
                ts = fan_frame(ts)
            wide = ts.pivot(index="day", columns="replication", values=col)
            q = wide.quantile([0.25, 0.5, 0.75], axis=1).T
            x = _dates(start, q.index)
            ax.fill_between(x, q[0.25].clip(lower=0), q[0.75], color=colour(k), alpha=0.2, lw=0)
            ax.plot(x, q[0.5], color=colour(k), lw=1.6, label=name)
        if from_zero:
            ax.set_ylim(bottom=0)
        if col == "ground_lost_km2":
            ax.axhline(0, color="0.5", lw=0.6)
        lines, texts = mark_events(ax, start, marks)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(unit, fontsize=8)
        _date_axis(ax, start)
        ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7, loc="lower left")
    fig.suptitle("Daily trajectories by option: median and 50% band; dashed: events (black: shared by "
                 "options; coloured: one option's; median day where uncertain; their key below)", fontsize=11)
    events_key(fig, lines, texts, top=0.97)
    return _save(fig, out)


def plot_control_maps(folders: dict[str, Path], out: Path, baseline: str, zoom_km: float = 35.0) -> Path | None:
    """The baseline's P(attacker-held on the last day), then each option's difference from it
    (a diverging map centred on 0: blue where the option leaves the attacker less)."""
    from sim.theater import build_grid, load_scenario, theater_of

    names = [baseline, *(n for n in folders if n != baseline)]
    doc = load_scenario(folders[baseline] / "scenario.yaml")
    grid = build_grid(theater_of(doc), doc.scenario.grid.cell_km)
    prob = {}
    for n in names:
        data = np.load(folders[n] / "control.npz")
        prob[n] = data["attacker_held_count"] / max(int(data["replications"]), 1)
        initial = data["initial_control"]
    fig = control_maps_figure(prob, initial, grid, doc.scenario.outcomes.city, zoom_km)
    sc = doc.scenario
    end = sc.start_date + dt.timedelta(days=int(sc.days))
    fig.suptitle(f"Where the attacker ends on {end:%d %b %Y} (day {int(sc.days)} from {sc.start_date:%d %b %Y}): the "
                 "baseline, and each option's difference from it (dashed: front at the start)", fontsize=11)
    return _save(fig, out)


def control_maps_figure(prob: dict[str, np.ndarray], initial: np.ndarray, grid, city: str, zoom_km: float = 35.0,
                        ncols: int = 2, size: tuple[float, float] = (7.4, 6.6)):
    """The first option's P(attacker-held on the last day), then each other option's difference from it,
    zoomed on ``city``, with the front at the start (``initial`` control) dashed. Returns the figure."""
    from matplotlib.colors import LinearSegmentedColormap, ListedColormap

    from sim.analysis.ensemble import differences
    from sim.plots.map import draw_base, draw_latlon_ticks
    from sim.theater.grid import ATTACKER

    names = list(prob)
    baseline = names[0]
    ncols = min(ncols, len(names))
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    ext = [0, grid.cols * grid.cell_km, 0, grid.rows * grid.cell_km]
    cx, cy = grid.to_km(*grid.theater.place_latlon(city))
    X, Y = grid.centres_km()
    diffs = differences(prob)
    spread = max((float(np.abs(d).max()) for d in diffs.values()), default=0.0)
    top = max(0.2, float(np.ceil(spread * 10) / 10))  # one scale for every difference panel
    seq = LinearSegmentedColormap.from_list("p", ["#ffffff00", "#fdae61", "#d7191c", "#67000d"])
    for k, (ax, n) in enumerate(zip(axes.ravel(), names)):
        draw_base(ax, grid, labels=True)
        if k == 0:
            im = ax.imshow(np.ma.masked_where(prob[n] <= 0, prob[n]), origin="lower", cmap=seq, vmin=0, vmax=1,
                           alpha=0.75, extent=ext, interpolation="nearest")
            fig.colorbar(im, ax=ax, shrink=0.75, label=f"P(attacker-held on the last day), {n}")
            ax.set_title(f"baseline: {n}", fontsize=10)
        else:
            d = diffs[n]
            # water in grey, not the base map's light blue, which reads as "attacker holds less" here
            water = np.ma.masked_where(grid.terrain != Terrain.WATER, np.ones(grid.shape))
            ax.imshow(water, origin="lower", cmap=ListedColormap(["#b8b8b8"]), extent=ext, interpolation="nearest")
            im = ax.imshow(np.ma.masked_where(np.abs(d) < 0.02, d), origin="lower", cmap="RdBu_r", vmin=-top, vmax=top,
                           alpha=0.85, extent=ext, interpolation="nearest")
            fig.colorbar(im, ax=ax, shrink=0.75, label=f"difference in P(attacker-held)\nblue: attacker holds less than under {baseline}; grey: water")
            ax.set_title(f"{n} − {baseline}", fontsize=10)
        ax.contour(X, Y, (initial == ATTACKER).astype(float), levels=[0.5], colors=["black"], linewidths=1.0,
                   linestyles="dashed")
        draw_latlon_ticks(ax, grid)
        ax.set_xlim(float(cx) - zoom_km, float(cx) + zoom_km)
        ax.set_ylim(float(cy) - zoom_km, float(cy) + zoom_km)
    return fig


def plot_comparison(out: Path, results, series, folders, horizons, *, baseline: str, start: dt.date,
                    towns=(), same=frozenset()) -> list[str]:
    """Every figure of a comparison; returns the file names written (``same``: the outcomes that are the same
    under every option, run by run, named and not drawn)."""
    from sim.theater import load_scenario

    events = {n: option_events(load_scenario(folders[n] / "scenario.yaml").scenario, results[n]) for n in folders}
    figures = [plot_distributions(results, horizons, out / "distributions.png", same),
               plot_survival(results, horizons, out / "survival.png", start, towns),
               plot_fans(series, out / "fans.png", start, events),
               plot_control_maps(folders, out / "control_maps.png", baseline)]
    return [f.name for f in figures if f is not None]
