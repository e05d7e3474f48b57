"""Hold: defend in place; counter-attack the flanks when the city's corridor narrows.

Scenario ``option.hold`` (docs/ODD.md A.11 and 7.13; SOURCES.md s.11 "Options as doctrine"): the
defence of the city alone, :class:`sim.model.options.base.HoldsTheCity` (when the city's corridor
is narrower than ``counterattack_corridor_km``, defender power within ``counterattack_radius_km``
of the city is multiplied by ``counterattack_power_factor``, reserves committed meanwhile
counter-attack the flank nearest the city, and when the corridor widens again the counter-attack
groups dig in). Reinforce and kursk_pressure keep the same defence of the city and add what they
do at Kursk; hold adds nothing.
"""

from __future__ import annotations

from sim.model.options.base import HoldsTheCity
from sim.vocab import OptionKind


class Hold(HoldsTheCity):
    kind = OptionKind.HOLD
