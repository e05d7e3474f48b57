"""The Markdown report of a comparison: what differs between the options, and how sure we are."""

from __future__ import annotations

import math

import pandas as pd

from sim.analysis.compare import LABELS
from sim.core.io import write_text_atomic


def _num(x: float, kind: str = "mean") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if kind == "probability":
        return f"{x:.2f}"
    ax = abs(x)
    return f"{x:,.0f}" if ax >= 100 else (f"{x:.1f}" if ax >= 10 else f"{x:.2f}")


def options_markdown(table: pd.DataFrame) -> str:
    names = list(dict.fromkeys(table["option"]))
    lines = ["| outcome | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for outcome, part in table.groupby("outcome", sort=False):
        cells = []
        for name in names:
            r = part[part["option"] == name].iloc[0]
            cells.append(f"{_num(r['estimate'], r['kind'])} ({_num(r['ci_low'], r['kind'])}–{_num(r['ci_high'], r['kind'])})")
        lines.append(f"| {LABELS.get(outcome, outcome)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def differences_markdown(diff: pd.DataFrame) -> str:
    if diff.empty:
        return "_Only one option: no differences._"
    base = diff["versus"].iloc[0]
    names = list(dict.fromkeys(diff["option"]))
    lines = ["| outcome | " + " | ".join(f"{n} − {base}" for n in names) + " |", "|---|" + "---|" * len(names)]
    for outcome, part in diff.groupby("outcome", sort=False):
        kind = "probability" if outcome in ("pokrovsk_held", "encircled", "next_line_reached") else "mean"
        cells = []
        for name in names:
            r = part[part["option"] == name].iloc[0]
            mark = " **" if r["clear"] else " "
            cells.append(f"{mark}{_num(r['diff'], kind)} ({_num(r['ci_low'], kind)}–{_num(r['ci_high'], kind)}){mark.strip()}")
        lines.append(f"| {LABELS.get(outcome, outcome)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def findings(diff: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    """Plain sentences for the differences whose 95% interval excludes zero."""
    out = []
    for _, r in diff[diff["clear"]].iterrows():
        label = LABELS.get(r["outcome"], r["outcome"])
        kind = "probability" if r["outcome"] in ("pokrovsk_held", "encircled", "next_line_reached") else "mean"
        direction = "higher" if r["diff"] > 0 else "lower"
        out.append(f"- **{r['option']}** vs {r['versus']}: {label} is {direction}; difference "
                   f"{_num(r['diff'], kind)} (95% CI {_num(r['ci_low'], kind)} to {_num(r['ci_high'], kind)}).")
    return out


def write_report(path, *, scenarios: list[str], runs: int, seed: int, horizons: dict[str, int],
                 table: pd.DataFrame, diff: pd.DataFrame, figures: list[str], manifest: dict) -> None:
    base = scenarios[0]
    sure = findings(diff, table)
    text = [
        f"# Comparison of options: {', '.join(scenarios)}",
        "",
        f"{runs} replications per option, root seed {seed}, common random numbers: replication *i* of every "
        "option has the same seed, hence the same weather and the same draws of every uncertain input the "
        "options share. Horizons: " + ", ".join(f"{k} {v} days" for k, v in horizons.items()) + ".",
        "",
        "## How sure: differences whose 95% interval excludes zero",
        "",
        *(sure or ["- None: at this number of replications no difference from "
                   f"{base} is distinguishable from noise. Run more replications."]),
        "",
        "## Outcomes by option",
        "",
        "Estimate and 95% interval (probabilities: Wilson; means: t). Days until an event are restricted "
        "means: a run without the event counts as the horizon.",
        "",
        options_markdown(table),
        "",
        f"## Paired differences against {base}",
        "",
        "Mean of the per-replication differences and its paired 95% interval; **bold** where the interval "
        "excludes zero.",
        "",
        differences_markdown(diff),
        "",
        "## Figures",
        "",
        *[f"![{f}]({f})" for f in figures],
        "",
        "## Provenance",
        "",
        f"- package version {manifest.get('package_version')}, started {manifest.get('started')}, "
        f"finished {manifest.get('finished')}",
        *[f"- `{name}`: scenario SHA-256 `{sha}`" for name, sha in manifest.get("scenario_sha256", {}).items()],
        "- per-option results (runs.parquet, timeseries.parquet, manifest.json, scenario.yaml) in the "
        "sub-folders named after each option.",
        "",
    ]
    write_text_atomic(path, "\n".join(text))
