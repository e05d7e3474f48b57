"""How wide the defenders' route out of Pokrovsk was: on the record's own front, month by month, against
the model's 2025 hindcast (docs/CALIBRATION.md section 14; docs/ODD.md 7.19, mechanism 9).

The width is the model's own measure (``PokrovskModel.city_route_km``: twice the largest bottleneck
half-width within the route window of the city's centre, docs/ODD.md 7.5), read on DeepState's front of
each date (a model built at that start date, supply computed once) and, for the model, on each
replication of ``scenarios/hindcast_2025.yaml`` every 30 days (median and range over the runs).

    .venv/bin/python experiments/city_route.py --runs 12 [--posterior scenarios/posterior_tempo.yaml] [--set PATH=VALUE ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import yaml

from sim.core.seeding import replication_seed
from sim.model import logistics
from sim.model.model import PokrovskModel
from sim.scenario import replace_values
from sim.theater import load_scenario, theater_of

ROOT = Path(__file__).resolve().parents[1]
EVERY = 30


def route_on_record(doc, date: dt.date) -> float:
    """The city's route out on DeepState's front of ``date``."""
    spec = doc.scenario.model_copy(update={"start_date": date})
    model = PokrovskModel(spec, 0, theater_of(doc))
    logistics.update(model)
    return model.city_route_km()


def route_in_runs(spec, theater, runs: int, seed: int) -> np.ndarray:
    """(runs, days // EVERY) the city's route out every EVERY days of each replication."""
    out = []
    for i in range(runs):
        model = PokrovskModel(spec, replication_seed(seed, i), theater)
        widths = []
        while model.running:
            model.step()
            if model.steps % EVERY == 0:
                widths.append(model.city_route_km())
        out.append(widths)
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--posterior", default=None)
    parser.add_argument("--set", dest="sets", action="append", default=[])
    args = parser.parse_args()
    doc = load_scenario(ROOT / "scenarios" / "hindcast_2025.yaml")
    spec = doc.scenario
    if args.posterior:
        spec = spec.model_copy(update={"posterior": str(Path(args.posterior).resolve())})
    spec = replace_values(spec, {k: yaml.safe_load(v) for k, v in (kv.split("=", 1) for kv in args.sets)}, source="--set")
    widths = route_in_runs(spec, theater_of(doc), args.runs, args.seed)
    print("| day | date | record (km) | model: median (min-max) |\n|---|---|---|---|")
    for k in range(widths.shape[1]):
        day = (k + 1) * EVERY
        date = spec.start_date + dt.timedelta(days=day)
        real = f"{route_on_record(doc, date):.0f}" if date <= dt.date(2025, 11, 11) else "(held back)"
        w = widths[:, k]
        print(f"| {day} | {date} | {real} | {np.median(w):.0f} ({w.min():.0f}-{w.max():.0f}) |")


if __name__ == "__main__":
    main()
