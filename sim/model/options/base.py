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

from sim.model.agents import NE, UnitRecord


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
