"""Observation, drone availability and fires (drones and artillery).

* **Availability** (schedule step 2): each side's sorties today are its
  nominal sorties times :func:`sim.model.weather.drone_availability`. The day
  counts as a *drone-grounded day* when the defender's common drones can fly
  less than half their sorties (precipitation or fog).
* **Fires** (step 4): each side's sorties and shells inflict casualties on the
  enemy's present units, weighted by how close each unit is to the front
  (``exp(-distance / range)``), and add combat power at the front:
  ``(sorties x power_per_sortie + shells/1000 x power_per_1000_shells) x
  observation``, spread evenly along the active front. When the defender's
  drones are grounded its fires shrink to its short shell budget: the drones no
  longer fill the artillery gap (seed 000).
"""

from __future__ import annotations

import numpy as np

from sim.model import assault as kernel
from sim.model.agents import ATTACKER_SIDE, DEFENDER_SIDE
from sim.model.mechanisms import foliage_factor, kill_zone_factor
from sim.model.weather import drone_availability

SIDES = (DEFENDER_SIDE, ATTACKER_SIDE)


def availability(model, day: int) -> None:
    """Sorties that fly today, fire intensity (0..1 of nominal) and the grounded-day flag."""
    sc = model.spec
    eff = model.effect
    state = model.weather_state
    w = sc.logistics.fire_control_drone_share
    for side, drones in ((DEFENDER_SIDE, sc.drones.defender), (ATTACKER_SIDE, sc.drones.attacker)):
        share = drone_availability(eff, state, drones.weather_resistant_share)
        model.sorties_today[side] = drones.sorties_per_day * share
        model.drone_share[side] = share
        # intensity of fire control over roads: drones (when they fly) and observed artillery
        model.fire_intensity[side] = w * share + (1 - w) * eff.observation
    model.grounded_today = eff.drone_availability < 0.5
    mech = sc.mechanisms
    kz = mech.kill_zone
    # the kill zone (docs/ODD.md 7.19, mechanisms 1 and 6): each side's drones stop a share of the other's
    # assaults, less of the attacker's in the leafy months
    month = int(model.month_of_day[min(day, len(model.month_of_day) - 1)])
    leaves = foliage_factor(month, mech.foliage.months, mech.foliage.kill_zone_factor)
    model.infiltration_foliage = foliage_factor(month, mech.foliage.months, mech.foliage.infiltration_factor)
    model.assault_kill_zone = kill_zone_factor(model.drone_share[DEFENDER_SIDE], kz.assault_suppression * leaves)
    model.counter_kill_zone = kill_zone_factor(model.drone_share[ATTACKER_SIDE], kz.counter_suppression)


def fire(model) -> None:
    """Casualties from drones and artillery, and each side's fire power per km of front."""
    sc = model.spec
    f = model.forces
    obs = model.effect.observation
    front_km = max(model.front_km, 1.0)
    for side, enemy, drones, guns in ((DEFENDER_SIDE, ATTACKER_SIDE, sc.drones.defender, sc.artillery.defender),
                                      (ATTACKER_SIDE, DEFENDER_SIDE, sc.drones.attacker, sc.artillery.attacker)):
        sorties = model.sorties_today[side]
        shells = guns.shells_per_day
        model.fire_power_per_km[side] = (sorties * drones.power_per_sortie
                                         + shells / 1000 * guns.power_per_1000_shells) * obs / front_km
        drone_kills = sorties * drones.casualties_per_sortie * obs
        kills = drone_kills + shells / 1000 * guns.casualties_per_1000_shells * obs
        targets = np.flatnonzero(f.side_mask(enemy))
        if targets.size == 0 or kills <= 0:
            continue
        # shared by personnel x exp(-distance to the front / drone range), at most half a unit (compiled)
        lost = kernel.fire_losses(targets, f.x, f.y, f.personnel, f.casualties, f.side, model.losses_today,
                                  model.contact_xy, drones.range_km, kills)
        model.drone_casualties[enemy] += lost * (drone_kills / kills)
