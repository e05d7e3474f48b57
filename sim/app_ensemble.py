"""The browser view's second page (/ensemble): several options, many replications, watched as they finish.

The analyst picks options (from the option registry), replications per option, a seed, a horizon and
optionally a posterior file, and presses Run. The replications run in the background on the runner's
pools (sim/ensemble.py: the same runs as ``sim compare`` of those options with that seed); the page
redraws, as replications finish, each option's control-probability map (the first option's, then each
other's difference from it), the survival of the city on calendar dates with its band, and fan charts
(median, 5-95%) of ground lost and defender strength. Cancel stops the pool.
"""

from __future__ import annotations

import os
import threading

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import solara  # noqa: E402

from sim.core.errors import InputError  # noqa: E402
from sim.ensemble import PENDING, RUNNING, EnsembleJob, EnsembleRequest, option_kinds  # noqa: E402
from sim.scenario import BASE_SCENARIO  # noqa: E402

SCENARIO_FILE = os.environ.get("SIM_APP_SCENARIO", str(BASE_SCENARIO.parent / "hold_pokrovsk.yaml"))
WORKERS = max(1, min(2, os.cpu_count() or 1))


def page_link(href: str, text: str):
    """A plain link to another page of the app (a relative address, so it works under a prefix too)."""
    return solara.HTML(tag="a", unsafe_innerHTML=text, attributes={"href": href},
                       style={"font-weight": "500", "text-decoration": "none", "padding": "6px 0"})


def _figure(fig):
    plt.close(fig)
    return solara.FigureMatplotlib(fig, format="png")


@solara.component
def Figures(job: EnsembleJob, common: int):
    """The maps, the survival curve and the fans over the replications every option has finished."""
    from sim.analysis.ensemble import summarise
    from sim.plots.ensemble import fans_figure, maps_figure, survival_figure
    from sim.theater import build_grid, theater_of

    def base():
        doc = job.docs[0]
        grid = build_grid(theater_of(doc), doc.scenario.grid.cell_km)
        return grid, grid.initial_control(doc.scenario.start_date)[1]

    grid, initial = solara.use_memo(base, [job])
    pictures = solara.use_memo(lambda: summarise(job.frames(), job.horizons) if common else None, [job, common])
    if not pictures:
        solara.Text("The figures appear when every option has finished a replication.")
        return
    city = job.docs[0].scenario.outcomes.city
    solara.Text("Control probability: share of runs in which each cell is attacker-held at the horizon")
    _figure(maps_figure(pictures, initial, grid, city))
    with solara.Row():
        _figure(survival_figure(pictures, job.start_date, city))
        _figure(fans_figure(pictures, job.start_date))


@solara.component
def EnsemblePage():
    """Options, replications, seed, horizon, posterior; Run and Cancel; progress; the figures."""
    from sim.theater import load_scenario

    doc = solara.use_memo(lambda: load_scenario(SCENARIO_FILE), [])
    kinds = option_kinds()
    chosen = solara.use_reactive(list(kinds))
    runs = solara.use_reactive(20)
    seed = solara.use_reactive(1)
    days = solara.use_reactive(int(doc.scenario.days))
    posterior = solara.use_reactive("")
    job, set_job = solara.use_state(None)
    error, set_error = solara.use_state("")
    seen, set_seen = solara.use_state((None, 0, 0, PENDING))  # (job, finished, common, status) as last read

    def watch(cancel: threading.Event) -> None:
        """Re-render while the job runs, each time a replication finishes or its status changes."""
        last = None
        while job is not None and not cancel.is_set():
            status = job.status  # read first: once the job has ended, the counts read next are its last
            now = (job, job.done, len(job.common()), status)
            if now != last:
                set_seen(now)
                last = now
            if status not in (PENDING, RUNNING):
                return
            cancel.wait(0.4)

    watching = solara.use_thread(watch, dependencies=[job], intrusive_cancel=False)
    solara.use_effect(lambda: (lambda: job.cancel()) if job is not None else None, [job])  # a page left stops its job

    def run() -> None:
        try:
            request = EnsembleRequest(SCENARIO_FILE, tuple(k for k in kinds if k in chosen.value), int(runs.value),
                                      int(seed.value), posterior.value.strip() or None, int(days.value), WORKERS)
            new = EnsembleJob(request)
        except InputError as exc:
            set_error(str(exc))
            return
        set_error("")
        set_job(new.start())

    def toggle(kind: str, on: bool) -> None:
        chosen.set([k for k in kinds if (k == kind and on) or (k != kind and k in chosen.value)])

    running = job is not None and job.status in (PENDING, RUNNING)
    with solara.Column(style={"padding": "12px"}):
        solara.AppBarTitle("Pokrovsk: ensemble of options")
        page_link("./", "← Single run: one replication, day by day")
        solara.Text(f"Ensemble of {doc.scenario.name}: options side by side, replications with common random "
                    f"numbers (the same runs as sim compare with this seed), from {doc.scenario.start_date:%d %b %Y}")
        with solara.Row():
            for kind in kinds:
                solara.Checkbox(label=kind, value=kind in chosen.value, on_value=lambda on, k=kind: toggle(k, on),
                                disabled=running)
        with solara.Row():
            solara.InputInt("Replications per option", value=runs, disabled=running)
            solara.InputInt("Seed", value=seed, disabled=running)
            solara.InputInt("Days (horizon)", value=days, disabled=running)
            solara.InputText("Posterior file (optional)", value=posterior, disabled=running)
        with solara.Row():
            solara.Button("Run", on_click=run, disabled=running, color="primary")
            solara.Button("Cancel", on_click=lambda: job.cancel(), disabled=not running)
        if error:
            solara.Error(error)
        if job is None:
            solara.Text("Choose the options and press Run; the first option is the reference of the difference maps.")
            return
        if watching.error:
            solara.Error(f"the page stopped following the job: {watching.error}")
        _, done, common, status = seen if seen[0] is job else (job, 0, 0, job.status)
        solara.Text(f"{done} of {job.total} replications ({len(job.names)} options × {job.request.runs}, "
                    f"seed {job.request.seed}, {job.request.workers} workers): {status}; "
                    f"{common} replications finished by every option"
                    + (f"; {job.error}" if job.error else ""))
        solara.ProgressLinear(value=100 * done / max(job.total, 1))
        Figures(job, common)
