"""The defender's options, one module each, and the registry that maps ``option.kind`` to its module.

Everything one option does is in its own module (see :mod:`sim.model.options.base` for
the hooks and where the schedule calls them). Adding an option: one module with a
subclass of :class:`Option`, one settings class (sim/scenario.py), one line below.
"""

from __future__ import annotations

from sim.model.options.base import Option
from sim.model.options.hold import Hold
from sim.model.options.kursk_pressure import KurskPressure
from sim.model.options.reinforce import Reinforce
from sim.model.options.withdraw import Withdraw

OPTIONS: dict[str, type[Option]] = {o.kind: o for o in (Hold, Withdraw, Reinforce, KurskPressure)}


def register(option: type[Option]) -> type[Option]:
    """Add an option to the registry under its ``kind`` (a class decorator)."""
    OPTIONS[option.kind] = option
    return option


def build_option(model, scenario_option) -> Option:
    """The scenario's option, built for one replication from its own settings block."""
    kind = scenario_option.kind
    return OPTIONS[kind](model, getattr(scenario_option, str(kind)))


__all__ = ["OPTIONS", "Option", "build_option", "register"]
