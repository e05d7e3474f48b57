"""The summary table printed after ``sim run`` and ``sim compare``: the statistics of compare's tables.

Each outcome is read from its declaration and summarised by its kind's statistic (``sim.analysis.compare``):
a probability with its Wilson interval, an event day as a restricted mean to the horizon beside its median,
an amount as a mean with its interval. ``sim run`` and ``sim compare`` print the same rows under the same names.
"""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from sim.analysis.compare import option_table
from sim.analysis.report import kind_table
from sim.outcomes import tabled


def summary_frame(results: dict[str, pd.DataFrame], horizons: dict[str, int]) -> pd.DataFrame:
    """Outcomes in rows, options in columns: estimate (95% interval), as compare's report tables."""
    return kind_table(option_table(results, horizons), tabled())


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
