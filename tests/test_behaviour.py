"""Behaviour a modeller would check: fog, force ratio and the pincer move the outcomes the right way.

Each comparison runs the same replication seeds under both settings (common random
numbers), so the difference comes from the mechanism, not from the draw.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.experiment.replication import iterate
from sim.scenario import replace_values
from sim.theater import load_scenario
from sim.theater import theater_of

ROOT = Path(__file__).resolve().parents[1]
RUNS = 40
SEED = 20251111


@pytest.fixture(scope="module")
def doc():
    return load_scenario(ROOT / "scenarios" / "hold_pokrovsk.yaml")


def outcomes(doc, runs=RUNS, **over) -> pd.DataFrame:
    spec = replace_values(doc.scenario, over)
    rows = [r.row for r in iterate(spec, theater_of(doc), SEED, list(range(runs)), workers=2)]
    return pd.DataFrame(rows).sort_values("replication").reset_index(drop=True)


def test_more_fog_more_advance_fewer_drone_casualties(doc):
    clear = outcomes(doc, runs=24, days=60, **{"weather.fog_frequency": 0.02})
    foggy = outcomes(doc, runs=24, days=60, **{"weather.fog_frequency": 0.40})
    assert foggy["territory_lost_km2"].mean() > clear["territory_lost_km2"].mean()
    # paired: in most replications the foggy twin loses at least as much ground
    assert (foggy["territory_lost_km2"] >= clear["territory_lost_km2"]).mean() > 0.5
    # the attacker suffers fewer casualties from the defender's drones under fog
    assert foggy["attacker_drone_casualties"].mean() < 0.9 * clear["attacker_drone_casualties"].mean()
    assert (foggy["attacker_drone_casualties"] < clear["attacker_drone_casualties"]).all()


def test_stronger_attacker_encircles_more_often(doc):
    weak = outcomes(doc, **{"forces.attacker.personnel": 90000})
    strong = outcomes(doc, **{"forces.attacker.personnel": 200000})
    assert strong["encircled"].mean() >= weak["encircled"].mean() + 0.15
    assert strong["territory_lost_km2"].mean() > weak["territory_lost_km2"].mean()


def test_one_arm_encircles_less_often_and_a_frontal_attack_less_still(doc):
    both = outcomes(doc, **{"attacker.pincer_arms": 2})
    one = outcomes(doc, **{"attacker.pincer_arms": 1})
    frontal = outcomes(doc, **{"attacker.pincer_arms": 0})
    p2, p1, p0 = both["encircled"].mean(), one["encircled"].mean(), frontal["encircled"].mean()
    assert p2 > p1 > p0, (p2, p1, p0)
    assert p2 - p0 >= 0.2
    # the pincer reaches deeper than a frontal attack
    assert both["attacker_max_advance_km"].mean() > frontal["attacker_max_advance_km"].mean()
