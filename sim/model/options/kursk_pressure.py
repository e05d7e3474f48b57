"""Kursk pressure: no brigades for the sector; the attacker's arrivals come later and smaller.

Scenario ``option.kursk_pressure`` (docs/ODD.md A.11, 5 and 7.15; SOURCES.md s.11 "Options as
doctrine"): the attacker's scheduled arrivals come ``attacker_arrival_delay_days`` later
with ``attacker_arrival_factor`` of their personnel, and its daily replacements are cut by
the same factor. At Pokrovsk the defender holds as under hold
(:class:`sim.model.options.base.HoldsTheCity`): the option is what happens at Kursk.
"""

from __future__ import annotations

import dataclasses

from sim.model.agents import ATTACKER_SIDE, UnitRecord
from sim.model.options.base import HoldsTheCity
from sim.vocab import OptionKind, UnitSource


class KurskPressure(HoldsTheCity):
    kind = OptionKind.KURSK_PRESSURE

    def enter(self, model, records: list[UnitRecord]) -> list[UnitRecord]:
        delay, factor = self.settings.attacker_arrival_delay_days, self.settings.attacker_arrival_factor
        return [dataclasses.replace(r, personnel=r.personnel * factor, arrival_day=r.arrival_day + delay)
                if r.side == ATTACKER_SIDE and r.source == UnitSource.ARRIVAL.label else r
                for r in records]

    def replacement_factor(self, side: int) -> float:
        return self.settings.attacker_arrival_factor if side == ATTACKER_SIDE else 1.0
