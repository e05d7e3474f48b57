"""The fence: `make lint` fails on an undefined name and on an import that points up a floor.

Each test copies the package to a temporary folder, plants one fault, and runs the
same linter `make lint` runs there, so a linter that stopped checking would fail here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "sim", tmp_path / "sim", ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    for name in (".importlinter", "pyproject.toml"):
        shutil.copy(REPO / name, tmp_path / name)
    return tmp_path


def _plant(root: Path, module: str, line: str) -> None:
    path = root / module
    path.write_text(path.read_text() + "\n" + line + "\n")


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "lint-imports")], cwd=root, capture_output=True, text=True,
                          env={"PATH": str(BIN), "PYTHONPATH": str(root)})


def test_the_floors_hold_today(tmp_path):
    result = _lint_imports(_copy(tmp_path))
    assert result.returncode == 0, result.stdout[-2000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, line, contract", [
    ("sim/core/errors.py", "import sim.experiment.replication  # noqa", "floors"),
    ("sim/vocab.py", "from sim.theater import grid  # noqa", "floors"),
    ("sim/theater/grid.py", "from sim.model import combat  # noqa", "floors"),
    ("sim/model/combat.py", "import pandas  # noqa", "model core"),
    ("sim/analysis/stats.py", "from sim.model import combat  # noqa", "analysis reads frames"),
    ("sim/analysis/compare.py", "from sim.experiment.replication import run_one  # noqa", "analysis reads frames"),
    # validation's tables read frames too: its old debt (running the combat formulas) is gone for good
    ("sim/analysis/validation.py", "from sim.model.combat import lanchester_square  # noqa", "analysis reads frames"),
    # analysis returns what a report says; the presentation floor writes it
    ("sim/analysis/report.py", "from sim.core.io import write_text_atomic  # noqa", "analysis reads frames"),
    ("sim/plots/map.py", "from sim.experiment import store  # noqa", "presentation draws"),
    ("sim/experiment/store.py", "import matplotlib  # noqa", "experiment floor runs and stores"),
    ("sim/experiment/evaluators.py", "from sim.theater import grid  # noqa", "evaluators run any function"),
    ("sim/experiment/replication.py", "from sim.experiment import store  # noqa", "inside the experiment floor"),
])
def test_an_import_up_a_floor_breaks_the_build(tmp_path, module, line, contract):
    root = _copy(tmp_path)
    _plant(root, module, line)
    result = _lint_imports(root)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1].lower()
    assert contract in broken, result.stdout[-1500:]


def test_ruff_finds_an_undefined_name(tmp_path):
    root = _copy(tmp_path)
    _plant(root, "sim/bench.py", "def broken():\n    return load_default()")
    result = subprocess.run([str(BIN / "ruff"), "check", "sim"], cwd=root, capture_output=True, text=True)
    assert result.returncode != 0
    assert "F821" in result.stdout and "load_default" in result.stdout
