"""The summary table printed after ``sim run`` and ``sim compare`` (printed by sim/plots/report.py): the
statistics of compare's tables.

Each outcome is read from its declaration and summarised by its kind's statistic (``sim.analysis.compare``):
a probability with its Wilson interval, an event day as a restricted mean to the horizon beside its median,
an amount as a mean with its interval. ``sim run`` and ``sim compare`` print the same rows under the same names.
"""

from __future__ import annotations

import pandas as pd
from sim.analysis.compare import option_table
from sim.analysis.report import kind_table
from sim.outcomes import tabled


def summary_frame(results: dict[str, pd.DataFrame], horizons: dict[str, int]) -> pd.DataFrame:
    """Outcomes in rows, options in columns: estimate (95% interval), as compare's report tables."""
    return kind_table(option_table(results, horizons), tabled())
