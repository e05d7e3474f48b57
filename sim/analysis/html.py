"""Self-contained HTML reports: figures embedded, tables, the inputs as resolved, the manifest.

A report opens offline: no script, no stylesheet or image is fetched; every figure is a
``data:`` URI inside the file.
"""

from __future__ import annotations

import base64
import html
import json
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
def compare_html(out: Path, *, table_df: pd.DataFrame, diff: pd.DataFrame, findings: list[str], figures: list[str],
                 manifest: dict, folders: dict[str, Path]) -> Path:
    from sim.analysis.compare import LABELS
    from sim.analysis.report import _num

    names = list(dict.fromkeys(table_df["option"]))
    rows = []
    for outcome, part in table_df.groupby("outcome", sort=False):
        row = {"outcome": LABELS.get(outcome, outcome)}
        for n in names:
            r = part[part["option"] == n].iloc[0]
            row[n] = f"{_num(r['estimate'], r['kind'])} ({_num(r['ci_low'], r['kind'])}–{_num(r['ci_high'], r['kind'])})"
        rows.append(row)
    options = table(pd.DataFrame(rows))
    drows = []
    for outcome, part in diff.groupby("outcome", sort=False):
        kind = "probability" if outcome in ("pokrovsk_held", "encircled", "next_line_reached") else "mean"
        row = {"outcome": LABELS.get(outcome, outcome)}
        for _, r in part.iterrows():
            mark = " ✱" if r["clear"] else ""
            row[f"{r['option']} − {r['versus']}"] = (f"{_num(r['diff'], kind)} ({_num(r['ci_low'], kind)}–"
                                                     f"{_num(r['ci_high'], kind)}){mark}")
        drows.append(row)
    sure = "<ul>" + "".join(f"<li>{html.escape(f.lstrip('- ').replace('**', ''))}</li>" for f in findings) + "</ul>" \
        if findings else "<p>No difference from the first option is distinguishable from noise at this number of " \
                         "replications.</p>"
    scen = "".join(details(f"{n}: scenario as resolved", pre((folders[n] / "scenario.yaml").read_text()))
                   for n in names if (folders[n] / "scenario.yaml").exists())
    sections = [
        ("How sure: differences whose 95% interval excludes zero", sure),
        ("Outcomes by option", "<p class='note'>Estimate and 95% interval (probabilities: Wilson; means: t). "
                               "Days until an event are restricted means over the horizon.</p>" + options),
        ("Paired differences against the first option",
         "<p class='note'>Mean of per-replication differences (common random numbers) and its paired 95% interval; "
         "✱ where the interval excludes zero.</p>" + (table(pd.DataFrame(drows)) if drows else "")),
        ("Figures", "".join(image(out / f) for f in figures if (out / f).exists())),
        ("Scenarios", scen),
        ("Manifest", pre(json.dumps(manifest, indent=2))),
    ]
    intro = (f"{manifest.get('replications')} replications per option, root seed {manifest.get('root_seed')}, "
             f"package {manifest.get('package_version')}. Replication i of every option has the same seed: the same "
             "weather and the same draws of every input the options share.")
    return write(out / "report.html", page(f"Comparison: {', '.join(names)}", sections, intro))


# ------------------------------------------------------------------ sweep
def sweep_html(out: Path, figures: list[Path]) -> Path:
    manifest = json.loads((out / "manifest.json").read_text())
    sections = []
    if (out / "summary.csv").exists():
        summary = pd.read_csv(out / "summary.csv")
        keep = [c for c in summary.columns if not c.endswith(("_low", "_high"))]
        sections.append(("Mean outcome at each point", table(summary[keep].round(3).head(200))))
    if (out / "prim.json").exists():
        prim = json.loads((out / "prim.json").read_text())
        rows = []
        for sc, box in prim.items():
            for k, (lo, hi) in box["limits"].items():
                rows.append({"scenario": sc, "input": k, "box low": lo, "box high": hi,
                             "restricted": k in box["restricted"], "coverage": box["coverage"],
                             "density": box["density"], "base rate": box["base_rate"]})
        sections.append(("Scenario discovery (PRIM): where encirclement concentrates", table(pd.DataFrame(rows).round(3))))
    for csv in sorted(out.glob("sobol_*.csv")) + sorted(out.glob("morris_*.csv")):
        sections.append((csv.stem.replace("_", " "), table(pd.read_csv(csv).round(3))))
    sections.append(("Figures", "".join(image(p) for p in figures if Path(p).exists())))
    sections.append(("Experiment as resolved", pre(json.dumps(manifest.get("experiment_resolved", {}), indent=2))))
    sections.append(("Manifest", pre(json.dumps({k: v for k, v in manifest.items() if k != "experiment_resolved"},
                                                indent=2))))
    intro = (f"{manifest.get('runs')} runs ({manifest.get('runs_failed')} failed) over {manifest.get('points')} points, "
             f"root seed {manifest.get('root_seed')}, status {manifest.get('status')}.")
    return write(out / "report.html", page(f"Sweep: {manifest.get('experiment')}", sections, intro))
