"""The protocol every defender option implements (docs/ODD.md A.11; SOURCES.md s.11 "Options as doctrine").

An option is one module: one subclass of :class:`Option` that overrides only the hooks it
needs, built once per replication from its settings (the scenario's ``option.<kind>``
block). The model calls the hooks at fixed rows of the schedule (docs/ODD.md section 3):

* ``__init__`` at build: what the option prepares from the grid and its settings;
* :meth:`Option.enter` at build (ODD 5): the units that enter, as records;
* :meth:`Option.counterattack_objective` at build: where counter-attacks head first;
* :meth:`Option.replacement_factor` at build: each side's replacements, scaled;
* :meth:`Option.under_fire` in step 4: losses the option's own movements suffer;
* :meth:`Option.march` in step 6: the option's own movements;
* :meth:`Option.decide` in step 8 (the defender commander, after its doctrine);
* :meth:`Option.report` for the run's outcome row.

The base class does nothing at every hook, so a new option is one module with the hooks
it needs, one settings class in sim/scenario.py, and one line in the registry.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from sim.model.agents import ATTACK, CENTRE, DEFEND, DEFENDER_SIDE, NE, SOURCE_REINFORCE, UnitRecord


class Option:
    """An option that changes nothing: the hooks' defaults. ``model`` is the ``PokrovskModel``."""

    kind: ClassVar[str]  # the scenario's ``option.kind`` (a sim.vocab.OptionKind)

    def __init__(self, model, settings: Any) -> None:
        self.settings = settings

    def enter(self, model, records: list[UnitRecord]) -> list[UnitRecord]:
        """The units that enter over the run, after the option's changes (build; ODD 5)."""
        return records

    def counterattack_objective(self, model) -> tuple[float, float]:
        """Where the defender's counter-attacks head at the start: the north-east arm's first objective."""
        return model.arm_objective(NE)

    def replacement_factor(self, side: int) -> float:
        """Each side's daily replacements as a share of the scenario's (build)."""
        return 1.0

    @property
    def counterattacking(self) -> bool:
        """Whether a reserve the defender commits now goes in to counter-attack (step 8)."""
        return False

    def held_back(self) -> set[int]:
        """Units the defender's lateral shifts leave where they are (step 8)."""
        return set()

    def under_fire(self, model) -> None:
        """Losses of the option's own movements to the enemy's fires (step 4)."""

    def march(self, model) -> None:
        """The option's own movements (step 6)."""

    def decide(self, model) -> None:
        """The option's orders, after the defender's doctrine, which they may overrule (step 8)."""

    def report(self) -> dict[str, float]:
        """The option's numbers for the run's outcome row (every option reports the same columns)."""
        return {"defenders_withdrawn": 0.0}


class HoldsTheCity(Option):
    """The defence of the city that every option keeps but withdraw (docs/ODD.md 7.13, defender 3).

    Hold, reinforce and kursk_pressure differ in what happens at Kursk, not at Pokrovsk: the
    garrison holds, and while the city's corridor is narrower than
    ``option.hold.counterattack_corridor_km`` (and open) defender power within
    ``option.hold.counterattack_radius_km`` of the city is multiplied by
    ``option.hold.counterattack_power_factor``, the reserves committed meanwhile counter-attack, and
    the objective is :meth:`narrow_objective`. When the corridor widens again (or is cut) the
    counter-attack groups dig in, except the Kursk brigades. (Until 2026-12-03 only hold did this, so
    reinforce and kursk_pressure against hold compared two decisions at once: docs/CALIBRATION.md
    15.9.) The settings are the scenario's ``option.hold`` block, whichever option runs.
    """

    def __init__(self, model, settings: Any) -> None:
        super().__init__(model, settings)
        self.hold = model.spec.option.hold
        X, Y = model.centre_x, model.centre_y
        near_city = np.hypot(X - model.city_xy[0], Y - model.city_xy[1]) <= self.hold.counterattack_radius_km
        self.zone_boost = np.where(near_city, self.hold.counterattack_power_factor, 1.0)
        self._counterattacking = False

    @property
    def counterattacking(self) -> bool:
        return self._counterattacking

    def narrow_objective(self, model) -> tuple[float, float]:
        """Where the counter-attacks head while the corridor is narrow: the flank arm's objective
        nearest the city (the centre's, with no flank arm)."""
        cx, cy = model.city_xy
        return min((model.arm_objective(a) for a in model.active_arms if a != CENTRE),
                   key=lambda p: np.hypot(p[0] - cx, p[1] - cy), default=model.arm_objective(CENTRE))

    def decide(self, model) -> None:
        f = model.forces
        state = model.supply_state
        narrow = state is not None and 0 < state.corridor_km < self.hold.counterattack_corridor_km
        model.defender_boost = self.zone_boost if narrow else model.no_boost
        if self._counterattacking and not narrow:  # the corridor widened again: counter-attack groups dig in
            back = np.flatnonzero(f.side_mask(DEFENDER_SIDE) & (f.posture == ATTACK) & (f.source_code != SOURCE_REINFORCE))
            f.posture[back] = DEFEND
            f.target_x[back] = np.nan
            f.target_y[back] = np.nan
        self._counterattacking = bool(narrow)
        if narrow:
            model.counterattack_objective = self.narrow_objective(model)
