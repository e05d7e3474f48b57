"""Self-contained HTML reports: figures embedded, tables, the inputs as resolved, the manifest (presentation:
what the report says comes from sim/analysis/, as a ``Report``, tables and text).

A report opens offline: no script, no stylesheet or image is fetched; every figure is a
``data:`` URI inside the file.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

import pandas as pd

from sim.core.io import write_text_atomic

STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; max-width: 1200px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; border-bottom: 2px solid #444; padding-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #bbb; }
table { border-collapse: collapse; margin: .8em 0; font-size: .88em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
td.clear { font-weight: bold; background: #fff4d6; }
img { max-width: 100%; border: 1px solid #ddd; margin: .6em 0; }
pre { background: #f7f7f7; padding: .8em; overflow-x: auto; font-size: .8em; }
.note { color: #555; font-size: .92em; }
.warn { background: #fff4d6; border-left: 4px solid #e0a800; padding: .4em .8em; }
dt { font-weight: bold; margin-top: .4em; }
"""


def image(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<figure><img alt="{html.escape(Path(path).name)}" src="data:image/png;base64,{data}"></figure>'


def table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, escape=True, border=0, na_rep="–")


def pre(text: str) -> str:
    return f"<pre>{html.escape(text)}</pre>"


def details(summary: str, body: str) -> str:
    return f"<details><summary>{html.escape(summary)}</summary>{body}</details>"


def page(title: str, sections: list[tuple[str, str]], intro: str = "") -> str:
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    if intro:
        parts.append(f"<p class='note'>{intro}</p>")
    for heading, body in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>{body}")
    parts.append("</body></html>")
    return "\n".join(parts)


def write(path: Path, text: str) -> Path:
    return write_text_atomic(path, text)


# ------------------------------------------------------------------ compare
def inline(text: str) -> str:
    """Markdown's **bold** and *italic* of the report's sentences, as HTML."""
    out = html.escape(text.lstrip("- "))
    out = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
    out = re.sub(r"\*(.+?)\*", r"<i>\1</i>", out)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", out)


def compare_html(out: Path, rep, *, manifest: dict, folders: dict[str, Path]) -> Path:
    """The comparison report (a ``sim.analysis.report.Report``) as one self-contained page."""
    from sim.analysis.report import SURE_NOTE, SURPRISES_NOTE

    names = list(folders)
    bottom = "<ul>" + "".join(f"<li>{inline(s)}</li>" for s in rep.bottom_line) + "</ul>"
    bottom += "".join(f"<p class='warn'><b>Warning.</b> {inline(w)}</p>" for w in rep.warnings)
    if rep.surprises:
        from sim.analysis.surprises import expected_line

        bottom += f"<h3>Surprises: the runs behind them</h3><p class='note'>{inline(SURPRISES_NOTE)}.</p>"
        bottom += "".join(f"<p>{inline(sp.sentence)}</p>" + table(sp.runs.replace(r"^`|`$", "", regex=True))
                          for sp in rep.surprises if not sp.expected)
        if line := expected_line(rep.surprises):
            bottom += f"<p class='note'>{inline(line)}</p>"
    bottom += ("<h3>How sure: probability that each option is best</h3>"
               f"<p class='note'>{inline(SURE_NOTE)}</p>" + table(rep.how_sure))
    scen = "".join(details(f"{n}: scenario as resolved", pre((folders[n] / "scenario.yaml").read_text()))
                   for n in names if (folders[n] / "scenario.yaml").exists())
    sections = [("Bottom line", bottom)]
    sections += [(h, f"<p class='note'>{inline(note)}.</p>" + table(df)) for h, note, df in rep.tables]
    sections += [
        ("Glossary", "<dl>" + "".join(f"<dt>{inline(t)}</dt><dd>{inline(d)}</dd>" for t, d in rep.glossary) + "</dl>"),
        ("Figures", "".join(image(out / f) for f in rep.figures if (out / f).exists())),
        ("Scenarios", scen),
        ("Manifest", pre(json.dumps(manifest, indent=2))),
    ]
    return write(out / "report.html", page(rep.title, sections, inline(rep.setting)))


# ------------------------------------------------------------------ sweep
def point_table(summary: pd.DataFrame) -> pd.DataFrame:
    """summary.csv with each outcome as "mean (low–high)" in one cell, rounded as the report rounds, under its
    label with its unit and the direction that is better for the defender (sim/outcomes.py)."""
    from sim.analysis.report import num
    from sim.outcomes import BY_NAME

    out = summary[[c for c in summary.columns if not c.endswith(("_low", "_high"))]].head(200).copy()
    for col in [c for c in out.columns if f"{c}_low" in summary]:
        kind = BY_NAME[col].kind if col in BY_NAME else "amount"
        out[col] = [f"{num(m, kind)} ({num(lo, kind)}–{num(hi, kind)})"
                    for m, lo, hi in zip(summary[col], summary[f"{col}_low"], summary[f"{col}_high"])]
    return out.rename(columns={c: BY_NAME[c].axis_label() for c in out.columns if c in BY_NAME})


def sweep_html(out: Path, figures: list[Path], manifest: dict, notes: list[str] = ()) -> Path:
    """A sweep's page: its points' table, PRIM, indices (and ``notes``: why some are not drawn), figures, the
    experiment and ``manifest`` (the results store's, read by the command)."""
    from sim.analysis.sweep import few_replications

    sections = []
    if (out / "summary.csv").exists():
        summary = pd.read_csv(out / "summary.csv")
        warning = few_replications(int(summary["n"].min())) if len(summary) else ""  # sim/analysis/sweep.py
        horizons = sorted(set((manifest.get("horizons") or {}).values()))
        note = ("" if not horizons else "<p class='note'>Event days: restricted mean to day "
                f"{', '.join(map(str, horizons))} (a run without the event counts as the horizon), as in sim compare."
                "</p>")
        sections.append(("Mean outcome at each point (95% interval)",
                         (f"<p class='warn'><b>Warning.</b> {html.escape(warning)}</p>" if warning else "") + note
                         + table(point_table(summary))))
    if (out / "prim.json").exists():
        prim = json.loads((out / "prim.json").read_text())
        rows = []
        for sc, box in prim.items():
            if "not drawn" in box:
                rows.append({"scenario": sc, "input": box["not drawn"]})
                continue
            for k, (lo, hi) in box["limits"].items():
                rows.append({"scenario": sc, "input": k, "box low": lo, "box high": hi,
                             "restricted": k in box["restricted"], "coverage": box["coverage"],
                             "density": box["density"], "base rate": box["base_rate"]})
        sections.append(("Scenario discovery (PRIM): where encirclement concentrates", table(pd.DataFrame(rows).round(3))))
    for csv in sorted(out.glob("sobol_*.csv")) + sorted(out.glob("morris_*.csv")):
        sections.append((csv.stem.replace("_", " "), table(pd.read_csv(csv).round(3))))
    if notes:
        sections.append(("Not drawn", "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"))
    sections.append(("Figures", "".join(image(p) for p in figures if Path(p).exists())))
    sections.append(("Experiment as resolved", pre(json.dumps(manifest.get("experiment_resolved", {}), indent=2))))
    sections.append(("Manifest", pre(json.dumps({k: v for k, v in manifest.items() if k != "experiment_resolved"},
                                                indent=2))))
    intro = (f"{manifest.get('runs')} runs ({manifest.get('runs_failed')} failed) over {manifest.get('points')} points, "
             f"root seed {manifest.get('root_seed')}, status {manifest.get('status')}.")
    return write(out / "report.html", page(f"Sweep: {manifest.get('experiment')}", sections, intro))


# ------------------------------------------------------------------ robust
def robust_html(out: Path, markdown_text: str, figures: list[Path]) -> Path:
    """The robust report (report.md's text) as one self-contained page with its figures embedded."""
    body, sections, title, intro = [], [], "Robust choice", ""
    heading = None
    for line in markdown_text.splitlines():
        if line.startswith("# "):
            title = line[2:]
        elif line.startswith("## "):
            if heading is not None:
                sections.append((heading, "\n".join(body)))
            heading, body = line[3:], []
        elif line.startswith("!["):
            continue
        elif line.startswith("|"):
            body.append(line)
        elif line.startswith("#"):
            body.append(f"<h3>{inline(line.lstrip('#').strip())}</h3>")
        elif line.startswith("- "):
            body.append(f"<li>{inline(line)}</li>")
        elif line.strip():
            body.append(f"<p>{inline(line.strip('_') if line.startswith('_') else line)}</p>")
        if heading is None and line.startswith("_"):
            intro = inline(line.strip("_"))
    if heading is not None:
        sections.append((heading, "\n".join(body)))
    sections = [(h, _lists(_tables(b))) for h, b in sections]
    sections = [(h, b + "".join(image(p) for p in figures if Path(p).exists()) if h == "Figures" else b)
                for h, b in sections]
    return write(out / "report.html", page(title, sections, intro))


def _lists(body: str) -> str:
    """Runs of <li> lines wrapped in <ul>."""
    out, inside = [], False
    for line in body.splitlines():
        item = line.startswith("<li>")
        if item != inside:
            out.append("<ul>" if item else "</ul>")
            inside = item
        out.append(line)
    return "\n".join(out + (["</ul>"] if inside else []))


def _tables(body: str) -> str:
    """Markdown tables (lines starting with |) as HTML tables."""
    out, rows = [], []
    for line in body.splitlines() + [""]:
        if line.startswith("|"):
            rows.append(line)
            continue
        if rows:
            cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows if not set(r) <= set("|-")]
            head = "".join(f"<th>{inline(c)}</th>" for c in cells[0])
            rest = "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>" for r in cells[1:])
            out.append(f"<table><tr>{head}</tr>{rest}</table>")
            rows = []
        if line:
            out.append(line)
    return "\n".join(out)
