"""The summary table printed after ``sim run``: each outcome's centre, spread and interval."""

from __future__ import annotations

import math

import pandas as pd
from rich.console import Console
from rich.table import Table

from sim.analysis.stats import describe, describe_probability

PROBABILITIES = ("pokrovsk_held", "encircled")
NUMBERS = (
    ("pokrovsk_fall_day", "day Pokrovsk falls (when it does)"),
    ("encirclement_day", "day of encirclement (when it happens)"),
    ("defenders_trapped", "defenders trapped when the pocket forms"),
    ("defender_casualties", "defender casualties (killed, wounded)"),
    ("defenders_captured", "defenders captured"),
    ("attacker_casualties", "attacker casualties (killed, wounded)"),
    ("exchange_ratio", "exchange ratio (attacker / defender)"),
    ("territory_lost_km2", "ground lost, km2"),
    ("attacker_max_advance_km", "attacker's deepest advance, km"),
    ("min_corridor_km", "narrowest corridor to Pokrovsk, km"),
    ("drone_grounded_days", "days defender drones grounded"),
    ("defender_personnel_end", "defender personnel at the end"),
    ("attacker_personnel_end", "attacker personnel at the end"),
    ("defender_personnel_preserved", "share of defender personnel preserved"),
    ("next_line_reached_day", "day the attacker reaches the next line"),
)
LABELS = {"pokrovsk_held": "P(Pokrovsk held at the end)", "encircled": "P(encirclement)",
          "next_line_reached": "P(attacker reaches the next line)"}


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def summary_rows(runs: pd.DataFrame) -> list[dict]:
    rows = []
    for col in PROBABILITIES:
        if col in runs:
            d = describe_probability(runs[col].astype(bool))
            rows.append({"outcome": LABELS[col], "kind": "probability", **d})
    if "next_line_reached_day" in runs:
        d = describe_probability(runs["next_line_reached_day"].notna())
        rows.append({"outcome": LABELS["next_line_reached"], "kind": "probability", **d})
    for col, label in NUMBERS:
        if col in runs:
            values = pd.to_numeric(runs[col], errors="coerce").astype(float)
            rows.append({"outcome": label, "column": col, "kind": "number", **describe(values)})
    return rows


def print_summary(runs: pd.DataFrame, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for name in ("outcome", "mean / p", "95% CI", "median", "5-95% range", "n"):
        table.add_column(name, justify="left" if name == "outcome" else "right")
    for r in summary_rows(runs):
        if r["kind"] == "probability":
            table.add_row(r["outcome"], f"{r['p']:.2f}", f"{r['ci_low']:.2f}-{r['ci_high']:.2f}", "", "", str(r["n"]))
        else:
            table.add_row(r["outcome"], _fmt(r["mean"]), f"{_fmt(r['ci_low'])}-{_fmt(r['ci_high'])}",
                          _fmt(r["median"]), f"{_fmt(r['p05'])}-{_fmt(r['p95'])}", str(r["n"]))
    Console(width=120).print(table)
