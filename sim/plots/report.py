"""The comparison's report as Markdown (``report.md``), and the console's tables: what
sim/analysis/report.py's :class:`Report` says, written out (its HTML twin is sim/plots/html.py)."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from sim.analysis.report import SURE_NOTE, SURPRISES_NOTE, Report
from sim.analysis.summary import summary_frame
from sim.core.io import write_text_atomic


def _md_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "_none_"
    head = "| " + " | ".join(df.columns) + " |"
    rule = "|" + "---|" * len(df.columns)
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def markdown(rep: Report) -> str:
    text = [f"# {rep.title}", "", rep.setting, "", "## Bottom line", "", *rep.bottom_line, ""]
    text += [f"> **Warning.** {w}" for w in rep.warnings] + ([""] if rep.warnings else [])
    if rep.surprises:
        from sim.analysis.surprises import expected_line

        text += ["### Surprises: the runs behind them", "", f"_{SURPRISES_NOTE}._", ""]
        for sp in (sp for sp in rep.surprises if not sp.expected):
            text += [sp.sentence, "", _md_table(sp.runs), ""]
        if not any(not sp.expected for sp in rep.surprises):
            text += ["No option meant to help the defender is worse than the baseline where its doctrine does not "
                     "expect it.", ""]
        text += [line, ""] if (line := expected_line(rep.surprises)) else []
    text += ["### How sure: probability that each option is best", "",
             SURE_NOTE, "", _md_table(rep.how_sure), ""]
    for heading, note, df in rep.tables:
        text += [f"## {heading}", "", f"_{note}._", "", _md_table(df), ""]
    text += ["## Glossary", "", *[f"- **{term}**: {text_}" for term, text_ in rep.glossary], ""]
    text += ["## Figures", "", *[f"![{f}]({f})" for f in rep.figures], ""]
    text += ["## Provenance", "", *[f"- {p}" for p in rep.provenance], ""]
    return "\n".join(text)


def write_report(path, rep: Report) -> None:
    write_text_atomic(path, markdown(rep))


def print_frame(frame: pd.DataFrame, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for k, name in enumerate(frame.columns):
        table.add_column(name, justify="left" if k == 0 else "right")
    for row in frame.itertuples(index=False):
        table.add_row(*[str(v) for v in row])
    Console(width=200).print(table)


def print_summary(runs: pd.DataFrame, title: str, horizon: int) -> None:
    """``sim run``'s table: one option's outcomes."""
    name = str(runs["scenario"].iloc[0]) if len(runs) else "runs"
    print_frame(summary_frame({name: runs}, {name: horizon}),
                f"{title} (event days: restricted mean to day {horizon}, median and P(by the horizon))")
