"""The model core's shape (issue 14): short functions, a frozen World.

A function over 50 lines in sim/model/ is a schedule row or a build step that hides
several; the World (what is constant in a replication) is read-only, so a process that
writes into it fails at once instead of changing later days unnoticed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import MINI, build_model
from sim.theater import load_scenario

MODEL = Path(__file__).resolve().parents[1] / "sim" / "model"
MAX_LINES = 50


def long_functions(root: Path = MODEL, limit: int = MAX_LINES) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > limit:
                    out.append(f"{path.relative_to(root.parent.parent)}:{node.lineno} {node.name} ({lines} lines)")
    return out


def test_no_function_in_the_model_is_over_50_lines():
    assert not long_functions(), "split these: " + "; ".join(long_functions())


def test_the_line_count_sees_a_long_function(tmp_path):
    (tmp_path / "m.py").write_text("def f():\n" + "    x = 1\n" * MAX_LINES)
    (tmp_path / "short.py").write_text("def g():\n" + "    x = 1\n" * (MAX_LINES - 1))
    found = long_functions(tmp_path)
    assert len(found) == 1 and found[0].endswith(f" f ({MAX_LINES + 1} lines)")


def test_the_world_is_read_only():
    m = build_model(load_scenario(MINI))
    arrays = {name: v for name, v in vars(m.world).items() if isinstance(v, np.ndarray)}
    assert {"defence_cell", "initial_control", "weather_seq", "city_mask"} <= set(arrays)
    assert not [name for name, a in arrays.items() if a.flags.writeable]
    with pytest.raises(ValueError):
        m.defence_cell[0, 0] = 2.0
    with pytest.raises(AttributeError):
        m.defence_cell = m.defence_cell * 2.0  # nor can a process put another layer in its place
    m.control[0, 0] = m.control[0, 0]  # the state stays writable
