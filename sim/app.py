"""The browser view (Mesa SolaraViz): watch the pincer close or fail, day by day.

Started by ``sim app [SCENARIO] [--port P] [--host H]``, which runs this file with
``solara run`` bound to 127.0.0.1 unless another host is asked for. The scenario
file comes in the ``SIM_APP_SCENARIO`` environment variable (default
``scenarios/hold_pokrovsk.yaml``). The controls set the main knobs and the option;
they are applied on Reset, through the same loader and validation as ``--set``.

Two pages: ``/``, one replication stepped day by day (this file), and ``/ensemble``,
several options x many replications watched as they finish (sim/app_ensemble.py).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import solara  # noqa: E402
from mesa.visualization import SolaraViz  # noqa: E402

from sim.app_ensemble import SCENARIO_FILE, EnsemblePage  # noqa: E402
from sim.model.model import PokrovskModel  # noqa: E402
from sim.theater import load_scenario  # noqa: E402
from sim.core.seeding import replication_seed  # noqa: E402
from sim.theater import theater_of  # noqa: E402
from sim.vocab import OptionKind  # noqa: E402


class AppModel(PokrovskModel):
    """The model with the app's knobs as keyword arguments (what SolaraViz passes on Reset)."""

    def __init__(self, option: str = "hold", fog_frequency: float = 0.15, attacker_personnel: int = 150000,
                 defender_personnel: int = 45000, defender_sorties: int = 3000, pincer_arms: int = 2,
                 seed: int = 1, scenario=None) -> None:
        sets = [f"option.kind={option}", f"weather.fog_frequency={float(fog_frequency)}",
                f"forces.attacker.personnel={int(attacker_personnel)}",
                f"forces.defender.personnel={int(defender_personnel)}",
                f"drones.defender.sorties_per_day={int(defender_sorties)}", f"attacker.pincer_arms={int(pincer_arms)}"]
        doc = load_scenario(SCENARIO_FILE, sets)
        super().__init__(doc.scenario, replication_seed(int(seed), 0), theater_of(doc))


model_params = {
    "option": {"type": "Select", "value": OptionKind.HOLD.value, "values": [k.value for k in OptionKind],
               "label": "Option"},
    "fog_frequency": {"type": "SliderFloat", "value": 0.15, "min": 0.0, "max": 0.6, "step": 0.05,
                      "label": "Fog frequency"},
    "attacker_personnel": {"type": "SliderInt", "value": 150000, "min": 80000, "max": 220000, "step": 10000,
                           "label": "Attacker personnel"},
    "defender_personnel": {"type": "SliderInt", "value": 45000, "min": 20000, "max": 80000, "step": 5000,
                           "label": "Defender personnel"},
    "defender_sorties": {"type": "SliderInt", "value": 3000, "min": 0, "max": 8000, "step": 500,
                         "label": "Defender drone sorties per day"},
    "pincer_arms": {"type": "SliderInt", "value": 2, "min": 0, "max": 2, "step": 1, "label": "Pincer arms"},
    "seed": {"type": "InputText", "value": 1, "label": "Seed"},
}


def MapView(model):
    """Control, towns, roads, units sized by strength, pockets outlined."""
    from sim.plots.map import draw_day

    fig, ax = plt.subplots(figsize=(7.5, 7.5), dpi=80)
    draw_day(ax, model, zoom_km=28.0)
    fig.tight_layout()
    plt.close(fig)
    return solara.FigureMatplotlib(fig, format="png")


def Status(model):
    """The day's numbers in words."""
    r = model.recorder.data
    d = model.day
    state = model.supply_state
    corridor = "cut" if state is not None and state.corridor_km == 0 else (
        f"{state.corridor_km:.0f} km" if state is not None else "–")
    city = model.spec.outcomes.city
    # plain text, not Markdown: Markdown would fetch a maths renderer from a CDN
    return solara.Column(children=[
        solara.Text(f"Day {d} · weather {model.weather_name} · option {model.spec.option.kind}"),
        solara.Text(f"defender {r['defender_personnel'][d]:,.0f} · attacker {r['attacker_personnel'][d]:,.0f} · "
                    f"{city} held {100 * r['city_held_share'][d]:.0f}% · corridor {corridor} · "
                    f"in pockets {r['pocket_personnel'][d]:,.0f}"),
    ])


def Charts(model):
    """Personnel, defender-held area and corridor width so far."""
    r = model.recorder.data
    days = range(model.day + 1)
    fig, axes = plt.subplots(1, 3, figsize=(11, 2.8), dpi=80)
    axes[0].plot(days, r["defender_personnel"][: model.day + 1], color="#1f77b4", label="defender")
    axes[0].plot(days, r["attacker_personnel"][: model.day + 1], color="#d62728", label="attacker")
    axes[0].set_title("personnel", fontsize=9)
    axes[0].legend(fontsize=7)
    axes[1].plot(days, r["defender_area_km2"][: model.day + 1], color="#1f77b4")
    axes[1].set_title("defender-held area, km²", fontsize=9)
    axes[2].plot(days, r["corridor_km"][: model.day + 1], color="#2ca02c")
    axes[2].set_title("corridor to Pokrovsk, km", fontsize=9)
    for ax in axes:
        ax.tick_params(labelsize=7)
        ax.set_xlabel("day", fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return solara.FigureMatplotlib(fig, format="png")


def EnsembleLink(model):
    """To the ensemble page (sim/app_ensemble.py)."""
    from sim.app_ensemble import page_link

    return page_link("ensemble", "Ensemble: options × replications →")


MODEL = AppModel()


@solara.component
def SingleRun():
    """One replication, stepped day by day."""
    SolaraViz(MODEL, components=[(EnsembleLink, 0), (Status, 0), (MapView, 0), (Charts, 0)],
              model_params=model_params, name="Pokrovsk: hold, withdraw or reinforce", play_interval=400)


routes = [solara.Route(path="/", component=SingleRun, label="Single run"),
          solara.Route(path="ensemble", component=EnsemblePage, label="Ensemble")]
