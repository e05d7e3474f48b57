"""Shared helpers for the tests."""

from __future__ import annotations

from pathlib import Path

from sim.model.model import PokrovskModel
from sim.scenario import replace_values
from sim.core.seeding import replication_seed
from sim.theater import theater_of

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "data" / "mini_scenario.yaml"


def build_model(doc, index: int = 0, root: int = 0, **over) -> PokrovskModel:
    """Replication ``index`` of root seed ``root`` of a loaded scenario, with dotted-path overrides."""
    spec = replace_values(doc.scenario, over) if over else doc.scenario
    return PokrovskModel(spec, replication_seed(root, index), theater_of(doc))


def mini_withdraw(folder: Path) -> Path:
    """A withdraw option of the mini scenario (``mini_withdraw``, withdrawal on day 2), written into ``folder``."""
    path = folder / "withdraw.yaml"
    path.write_text(f"extends: {MINI}\nname: mini_withdraw\noption: {{kind: withdraw, withdraw: {{trigger_day: 2}}}}\n")
    return path
