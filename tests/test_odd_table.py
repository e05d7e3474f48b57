"""The code's day and docs/ODD.md section 3 say the same thing, row by row.

``PokrovskModel.step()`` has one line per row of the ODD's schedule table, each ending in
a comment with the row's number; the table names the function that line calls. A row
added, dropped or reordered on one side only fails here.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from pathlib import Path

from sim.model.model import PokrovskModel

ODD = Path(__file__).resolve().parents[1] / "docs" / "ODD.md"
ROW = re.compile(r"#\s*(\d[a-z]?)\s")


def code_rows() -> list[tuple[str, str]]:
    """(row number, the dotted name of the call) for every numbered line of ``step()``."""
    source = textwrap.dedent(inspect.getsource(PokrovskModel.step))
    rows = []
    for line in source.splitlines():
        m = ROW.search(line)
        if not m:
            continue
        call = next(n for n in ast.walk(ast.parse(line.split("#")[0].strip())) if isinstance(n, ast.Call))
        rows.append((m.group(1), ast.unparse(call.func).removeprefix("self.")))
    return rows


def odd_rows() -> list[tuple[str, str]]:
    """(row number, the function named first in the function column) of ODD section 3's table."""
    text = ODD.read_text()
    section = text[text.index("## 3. Process overview"):text.index("## 4. Design concepts")]
    rows = []
    for line in section.splitlines():
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cols) >= 3 and re.fullmatch(r"\d[a-z]?", cols[0]):
            rows.append((cols[0], re.search(r"`([^`]+)`", cols[2]).group(1)))
    return rows


def same_function(code: str, odd: str) -> bool:
    """``fires.availability`` is ``fires.availability``; ``model.update_front`` is ``self.update_front``;
    ``Recorder.record`` is ``recorder.record``."""
    return code.split(".")[-1] == odd.split(".")[-1] and (
        odd.split(".")[0] in ("model", "option", "Recorder") or code.split(".")[0] == odd.split(".")[0])


def test_step_has_one_numbered_line_per_row_of_the_odd_table_in_its_order():
    code, odd = code_rows(), odd_rows()
    assert [n for n, _ in code] == [n for n, _ in odd]
    wrong = [(n, c, o) for (n, c), (_, o) in zip(code, odd) if not same_function(c, o)]
    assert not wrong, f"rows whose code and ODD name different functions: {wrong}"


def test_step_is_nothing_but_the_table():
    """Apart from the clock and the day's ledger, every statement of ``step()`` is a row."""
    source = textwrap.dedent(inspect.getsource(PokrovskModel.step))
    body = ast.parse(source).body[0].body
    statements = [s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    assert len(statements) - len(code_rows()) <= 3  # today, losses_today, running
