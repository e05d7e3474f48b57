"""Hold: defend in place; counter-attack the flanks when the city's corridor narrows.

Scenario ``option.hold`` (docs/ODD.md A.11 and 7.13; SOURCES.md s.11 "Options as doctrine"): when
the city's corridor is narrower than ``counterattack_corridor_km``, defender power within
``counterattack_radius_km`` of the city is multiplied by ``counterattack_power_factor``
(stronger defence and more contested cells retaken), reserves committed meanwhile
counter-attack, and the objective is the flank nearest the city. When the corridor
widens again the counter-attack groups dig in.
"""

from __future__ import annotations

import numpy as np

from sim.model.agents import ATTACK, CENTRE, DEFEND, DEFENDER_SIDE, SOURCE_REINFORCE
from sim.model.options.base import Option
from sim.vocab import OptionKind


class Hold(Option):
    kind = OptionKind.HOLD

    def __init__(self, model, settings) -> None:
        super().__init__(model, settings)
        X, Y = model.centre_x, model.centre_y
        near_city = np.hypot(X - model.city_xy[0], Y - model.city_xy[1]) <= settings.counterattack_radius_km
        self.zone_boost = np.where(near_city, settings.counterattack_power_factor, 1.0)
        self._counterattacking = False

    @property
    def counterattacking(self) -> bool:
        return self._counterattacking

    def decide(self, model) -> None:
        f = model.forces
        state = model.supply_state
        narrow = state is not None and 0 < state.corridor_km < self.settings.counterattack_corridor_km
        model.defender_boost = self.zone_boost if narrow else model.no_boost
        if self._counterattacking and not narrow:  # the corridor widened again: counter-attack groups dig in
            back = np.flatnonzero(f.side_mask(DEFENDER_SIDE) & (f.posture == ATTACK) & (f.source_code != SOURCE_REINFORCE))
            f.posture[back] = DEFEND
            f.target_x[back] = np.nan
            f.target_y[back] = np.nan
        self._counterattacking = bool(narrow)
        if narrow:  # the flank nearest the corridor is the counter-attack's objective
            cx, cy = model.city_xy
            model.counterattack_objective = min((model.arm_objective(a) for a in model.active_arms if a != CENTRE),
                                                key=lambda p: np.hypot(p[0] - cx, p[1] - cy),
                                                default=model.arm_objective(CENTRE))
