"""Reinforce from Kursk: brigades leave the Kursk front and counter-attack a flank; the attacker answers.

Scenario ``option.reinforce`` (docs/ODD.md A.11 and 5; SOURCES.md s.11 "Options as doctrine"):
``brigades`` brigades leave on ``depart_day``, arrive at the railheads ``transit_days``
later (in turn) and counter-attack toward ``counterattack_toward``. The attacker answers
after ``attacker_response_delay_days`` with ``attacker_response_share`` of the personnel
sent, entering at ``attacker_response_at``. At Pokrovsk the defender holds as under hold
(:class:`sim.model.options.base.HoldsTheCity`), its counter-attacks, the brigades' and the
reserves', heading for ``counterattack_toward`` whether the corridor is narrow or not.
"""

from __future__ import annotations

from sim.model.agents import ATTACK, ATTACKER_SIDE, DEFENDER_SIDE, RESERVE, UnitRecord
from sim.model.options.base import HoldsTheCity
from sim.vocab import Echelon, OptionKind, UnitKind


class Reinforce(HoldsTheCity):
    kind = OptionKind.REINFORCE

    def counterattack_objective(self, model) -> tuple[float, float]:
        return model.xy_of_place(self.settings.counterattack_toward)

    def narrow_objective(self, model) -> tuple[float, float]:
        return self.counterattack_objective(model)

    def enter(self, model, records: list[UnitRecord]) -> list[UnitRecord]:
        return records + self._brigades(model) + self._answer(model)

    def _brigades(self, model) -> list[UnitRecord]:
        """The Kursk brigades (defender), arriving at the railheads in turn."""
        opt = self.settings
        arrive = opt.depart_day + opt.transit_days
        return [UnitRecord(name=f"Kursk bde {k + 1}", side=DEFENDER_SIDE, kind=UnitKind.of(opt.kind),
                           echelon=Echelon.BRIGADE, sector="reinforce", personnel=opt.personnel_per_brigade,
                           arrival_day=arrive, at=model.xy_of_place(opt.railheads[k % len(opt.railheads)]),
                           posture=ATTACK, source="reinforce")
                for k in range(opt.brigades)]

    def _answer(self, model) -> list[UnitRecord]:
        """The attacker's answer from Kursk: a share of the personnel sent, in reserve."""
        opt = self.settings
        answer = opt.attacker_response_share * opt.brigades * opt.personnel_per_brigade
        if answer <= 0:
            return []
        return [UnitRecord(name="attacker answer from Kursk", side=ATTACKER_SIDE, kind=UnitKind.MECHANISED,
                           echelon=Echelon.BRIGADE, sector="reserve", personnel=answer,
                           arrival_day=opt.depart_day + opt.attacker_response_delay_days,
                           at=model.xy_of_place(opt.attacker_response_at), posture=RESERVE, source="response")]
