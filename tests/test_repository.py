"""The repository stands on its own: no document, scenario or comment points outside it, and every
"SOURCES.md s.N" that a file cites is a section of docs/SOURCES.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "docs" / "SOURCES.md"
# the project's outside files (the fact sheet, the brief, the seeds, shared data), spelled in pieces
# so that this file does not match itself
OUTSIDE = re.compile("|".join(["\\.\\./" + "shared", "FACTS" + "\\.md", "MODEL" + "\\.md", "settlements" + "\\.csv",
                               "\\.\\./" + "seeds", "\\.\\./" + "facts", "\\.\\./" + "data/"]))
CITATION = re.compile(r"SOURCES\.md,? s(?:ection|\.) ?(\d+)")


def project_text_files():
    for top in ["README.md", "Makefile", "pyproject.toml", ".importlinter", ".ci", "docs", "scenarios",
                "experiments", "sim", "tests"]:
        path = ROOT / top
        for f in ([path] if path.is_file() else sorted(path.rglob("*"))):
            if f.is_file() and "__pycache__" not in f.parts and f.suffix not in {".png", ".gif", ".npz", ".parquet"}:
                try:
                    yield f, f.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    continue


def test_nothing_points_outside_the_repository():
    found = [f"{f.relative_to(ROOT)}:{n}: {line.strip()}" for f, text in project_text_files()
             for n, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]
    assert found == []


def test_every_cited_section_of_the_sources_exists():
    sections = {int(m) for m in re.findall(r"^## (\d+)\. ", SOURCES.read_text(), flags=re.MULTILINE)}
    assert set(range(1, 13)) <= sections
    cited = {(f.relative_to(ROOT), int(n)) for f, text in project_text_files() for n in CITATION.findall(text)}
    assert cited, "the code and documents cite their sources"
    assert [c for c in cited if c[1] not in sections] == []
