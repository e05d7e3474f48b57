"""The report of a comparison: the bottom line first, then the tables, the glossary and the figures.

One :class:`Report` is built from the frames (``build_report``) and written twice, by the presentation
floor: Markdown (``sim.plots.report``) and HTML (``sim.plots.html``). Every outcome's label, unit, kind and the
direction that is better for the defender come from its declaration (``sim.outcomes``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import pandas as pd

from sim.analysis.compare import constant_outcomes, identical_outcomes, outcomes_for
from sim.analysis.stats import wilson_interval
from sim.outcomes import (EVENT_DAY, HIGHER, LOWER, OUTCOMES, PROBABILITY, Outcome, fall_day_column, headline,
                          outcome)

SURE_NOTE = ("Probability that the option has the best expected value for the defender (bootstrap over the "
             "paired replications); then the share of runs in which it is best, ties shared (bootstrap 95% interval).")
FEW_REPLICATIONS = 100  # below this, the report warns that small differences cannot be told from noise
TERMS = (
    ("fall vs encirclement", "Pokrovsk *falls* when the defender holds less than half of its urban cells (it "
     "can be taken by assault without a pocket). A town is *encircled* when a pocket cut off from every supply "
     "source holds enough of its urban area and defender units. A run can have either, both (in either order) "
     "or neither."),
    ("cut off, trapped, captured", "*Cut off*: every defender unit that was ever in a pocket or on "
     "attacker-held ground, at its strongest while cut off (what could be captured). *Trapped*: the personnel "
     "inside the encircling pockets on the day an encirclement forms (a snapshot). *Captured*: personnel of cut-off "
     "units that surrendered, over the whole run and in any pocket, minus those who slipped out. "
     "Captured ≤ cut off always; captured can exceed trapped, and can be above 0 without an encirclement "
     "(small pockets, overrun positions)."),
    ("restricted mean", "the mean of min(day of the event, horizon), a run without the event counting as the "
     "horizon: the expected number of days, within the horizon, before the event (the area under the survival "
     "curve). Unlike the mean of the runs in which the event happens, it does not ignore the runs that held."),
    ("paired difference", "replication i of every option runs with the same seed (common random numbers): the "
     "difference is taken replication by replication, its 95% interval from a paired t."),
    ("probability of being best", "the probability that an option has the best expected value of an outcome for "
     "the defender: the share of bootstrap resamples of the paired replications in which its mean is the best "
     "(ties shared). Beside it, the share of the paired replications in which the option is best (ties shared: "
     "for a yes/no outcome most runs tie), with a bootstrap 95% interval."),
    ("Wilson interval", "the 95% interval of a share; it stays inside 0..1 and is sound near 0 and 1."),
)


@dataclass
class Report:
    """What a comparison report says, in order; written as Markdown and as HTML."""

    title: str
    setting: str
    bottom_line: list[str]
    warnings: list[str]
    how_sure: pd.DataFrame
    tables: list[tuple[str, str, pd.DataFrame]]
    glossary: list[tuple[str, str]]
    figures: list[str] = field(default_factory=list)
    provenance: list[str] = field(default_factory=list)
    surprises: list = field(default_factory=list)  # sim.analysis.surprises.Surprise: worse than meant, and why


SURPRISES_NOTE = ("An option meant to help the defender that does worse than the baseline on a headline outcome, and "
                  "the paired runs in which it did worst: replay one with the command beside it (replication *i* of "
                  "the root seed; `--animate` draws it day by day)")


def num(x: float, kind: str = "amount") -> str:
    """A number as the tables print it: probabilities with two decimals, counts without."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if kind == PROBABILITY:
        return f"{x:.2f}"
    ax = abs(x)
    return f"{x:,.0f}" if ax >= 100 else (f"{x:.1f}" if ax >= 10 else f"{x:.2f}")


def signed(x: float, kind: str) -> str:
    return ("+" if x > 0 else "") + num(x, kind)


def _interval(r, kind: str) -> str:
    return f"{num(r['ci_low'], kind)} to {num(r['ci_high'], kind)}"


def _clause(o: Outcome, r, levels: dict[str, float] | None = None) -> str:
    """``label: option's level against the baseline's unit (difference, 95% CI ...)``, the levels when known."""
    unit = "" if o.kind == PROBABILITY else " " + o.unit
    if levels is not None and r["option"] in levels and r["versus"] in levels:
        return (f"{o.label}: {num(levels[r['option']], o.kind)} against {num(levels[r['versus']], o.kind)}{unit} "
                f"({signed(r['diff'], o.kind)}, 95% CI {_interval(r, o.kind)})")
    return f"{o.label} {signed(r['diff'], o.kind)}{unit} (95% CI {_interval(r, o.kind)})"


def bottom_line(diff: pd.DataFrame, table: pd.DataFrame | None = None) -> list[str]:
    """One sentence per option against the baseline, on the headline outcomes: better, worse, or no clear
    difference for the defender (from each outcome's declared direction); with ``table`` (``option_table``),
    each clause gives both options' levels beside the paired difference, so it can be quoted as it stands."""
    out = []
    heads = {o.name: o for o in headline()}
    levels = ({n: dict(zip(p["option"], p["estimate"])) for n, p in table.groupby("outcome", sort=False)}
              if table is not None else {})
    for (name, versus), part in diff[diff["outcome"].isin(heads)].groupby(["option", "versus"], sort=False):
        said = []
        for verdict, word in (("better", "better"), ("worse", "worse")):
            clauses = [_clause(heads[r["outcome"]], r, levels.get(r["outcome"]))
                       for _, r in part[part["verdict"] == verdict].iterrows()]
            if clauses:
                said.append(f"**{word}** for the defender on " + "; ".join(clauses))
        unclear = [heads[o].label for o in part.loc[part["verdict"] == "unclear", "outcome"]]
        if unclear:
            said.append("no clear difference on " + ", ".join(unclear))
        out.append(f"- **{name}** against {versus}: " + "; ".join(said) + ".")
    return out


CLEAR_BEST = 0.95  # below this probability of being best, the bottom line says the best is not clear


def most_likely_best(best: pd.DataFrame) -> list[str]:
    """One line: per headline outcome, the option most likely to be best, and how likely ("not clear" when
    that is below ``CLEAR_BEST``: the leader could well be another option in a longer run)."""
    if best.empty:
        return []
    parts = []
    for name, part in best.groupby("outcome", sort=False):
        top = part.loc[part["p_best"].idxmax()]
        sure = "" if top["p_best"] >= CLEAR_BEST else ", not clear"
        parts.append(f"{outcome(name).label}: **{top['option']}** ({top['p_best']:.2f}{sure})")
    return ["- Most likely best for the defender, by outcome (probability of being best; \"not clear\" below "
            f"{CLEAR_BEST:.2f}): " + "; ".join(parts) + "."]


def sure_table(best: pd.DataFrame) -> pd.DataFrame:
    """Options in columns, headline outcomes in rows: P(best) and its bootstrap interval."""
    if best.empty:
        return pd.DataFrame()
    names = list(dict.fromkeys(best["option"]))
    rows = []
    for name, part in best.groupby("outcome", sort=False):
        o = outcome(name)
        row = {"outcome (best for the defender)": f"{o.label} ({o.better})"}
        for _, r in part.iterrows():
            row[r["option"]] = f"{r['p_best']:.2f}; best in {r['share_best']:.2f} ({r['ci_low']:.2f}–{r['ci_high']:.2f}) of runs"
        rows.append(row)
    return pd.DataFrame(rows, columns=["outcome (best for the defender)", *names])


def few_warnings(diff: pd.DataFrame, n: int) -> list[str]:
    """Where the replications are too few for the differences shown."""
    out = []
    heads = [o.name for o in headline()]
    part = diff[diff["outcome"].isin(heads)]
    unclear = part[part["verdict"] == "unclear"]
    if n < FEW_REPLICATIONS or len(unclear):
        lo, hi = wilson_interval(n // 2, max(n, 1))
        out.append(f"{n} paired replications per option: a probability is known to about ±{(hi - lo) / 2:.2f}, "
                   f"and {len(unclear)} of {len(part)} headline differences are not distinguishable from noise. "
                   "Run more replications (`--runs`, or `--precision`) before quoting small differences.")
    return out


def _cell(r, o: Outcome) -> str:
    text = f"{num(r['estimate'], o.kind)} ({num(r['ci_low'], o.kind)}–{num(r['ci_high'], o.kind)})"
    if o.kind == EVENT_DAY:
        text += f"; median {num(r['median'], o.kind)}; P(by horizon) {r['happened']:.2f}"
    return text


def kind_table(table: pd.DataFrame, outcomes: list[Outcome]) -> pd.DataFrame:
    """Options in columns, the given outcomes in rows; each outcome's label carries its unit and direction."""
    names = list(dict.fromkeys(table["option"]))
    rows = []
    for o in outcomes:
        part = table[table["outcome"] == o.name].set_index("option")
        rows.append({"outcome": o.axis_label(), **{n: _cell(part.loc[n], o) for n in names}})
    return pd.DataFrame(rows, columns=["outcome", *names])


def differences_frame(diff: pd.DataFrame, outcomes: list[Outcome]) -> pd.DataFrame:
    """Paired differences, one column per pair; ▲ better / ▼ worse for the defender where clear."""
    mark = {"better": " ▲ better", "worse": " ▼ worse", "unclear": ""}
    cols = list(dict.fromkeys(f"{a} − {b}" for a, b in zip(diff["option"], diff["versus"])))
    rows = []
    for o in outcomes:
        row = {"outcome": o.axis_label()}
        for _, r in diff[diff["outcome"] == o.name].iterrows():
            row[f"{r['option']} − {r['versus']}"] = (f"{signed(r['diff'], o.kind)} ({_interval(r, o.kind)})"
                                                     f"{mark[r['verdict']]}")
        rows.append(row)
    return pd.DataFrame(rows, columns=["outcome", *cols])


def _entry(o: Outcome, note: str = "") -> tuple[str, str]:
    return (f"{o.label} (`{o.column}`{', derived' if o.derived else ''})",
            f"{o.definition}. Kind: {o.kind}{'; unit: ' + o.unit if o.unit else ''}"
            f"{'; better for the defender: ' + o.better if o.better in (HIGHER, LOWER) else ''}{note}.")


def glossary(towns: list[str] = ()) -> list[tuple[str, str]]:
    """Every declared outcome (its column name, unit and direction): those of the tables first, then those
    runs.parquet holds beside them, then every settlement's fall day; and the terms the report uses."""
    shown = outcomes_for(towns)
    rows = [_entry(o) for o in shown]
    rows += [_entry(o, "; in runs.parquet, not in the tables") for o in OUTCOMES if o not in shown]
    if not towns:
        town = outcome(fall_day_column("<Settlement>"))
        rows.append((f"days until a settlement falls (`{town.column}`)",
                     f"{town.definition}. One column per named settlement of the theater; `--towns` puts those named "
                     "in the tables and survival curves. Kind: event day; unit: days; better for the defender: higher."))
    return rows + list(TERMS)


def _setting(start: dt.date | None, horizons: dict[str, int], runs: int, seed: int, baseline: str) -> str:
    h = sorted(set(horizons.values()))
    span = f"{h[0]} days" if len(h) == 1 else ", ".join(f"{k} {v} days" for k, v in horizons.items())
    when = f"Horizon {span}"
    if start is not None:
        end = start + dt.timedelta(days=max(h))
        when = f"Start {start:%d %b %Y}, horizon {span} (to {end:%d %b %Y})"
    return (f"{when}; {runs} paired replications per option (root seed {seed}, common random "
            f"numbers: replication *i* of every option has the same seed); baseline **{baseline}**.")


def build_report(*, scenarios: list[str], runs: int, seed: int, horizons: dict[str, int], table: pd.DataFrame,
                 diff: pd.DataFrame, best: pd.DataFrame, figures: list[str], manifest: dict,
                 baseline: str, start: dt.date | None = None, towns: list[str] = (), surprises=()) -> Report:
    flat = constant_outcomes(table)
    outs = [o for o in outcomes_for(towns) if o.name not in flat]
    same = identical_outcomes(diff) - flat   # the same under every option, run by run: no difference to show
    by_kind = [("Probabilities", "share of replications, Wilson 95% interval",
                [o for o in outs if o.kind == PROBABILITY]),
               ("Days until events", "restricted mean to the horizon (95% interval); median; share of runs in "
                "which the event happens within the horizon. Survival curves: survival.png",
                [o for o in outs if o.kind == EVENT_DAY]),
               ("Amounts and ratios", "mean (95% t interval)",
                [o for o in outs if o.kind not in (PROBABILITY, EVENT_DAY)])]
    tables = [(h, note, kind_table(table, os_)) for h, note, os_ in by_kind if os_]
    if flat:
        tables[0] = (tables[0][0], tables[0][1] + ". The same in every run of every option, hence not tabled: "
                     + ", ".join(f"{outcome(n).label} ({num(table.loc[table['outcome'] == n, 'estimate'].iloc[0])})"
                                 for n in sorted(flat)), tables[0][2])
    same_note = ("" if not same else ". The same under every option in every paired replication (the options share "
                 "the weather and the draws of the inputs they share), hence not in this table: "
                 + ", ".join(o.label for o in outs if o.name in same))
    tables.append((f"Paired differences ({'all pairs' if diff['versus'].nunique() > 1 else 'against ' + baseline})",
                   "mean of the per-replication differences, paired 95% interval; ▲/▼ where the interval excludes 0 "
                   "and the difference is better/worse for the defender" + same_note,
                   differences_frame(diff, [o for o in outs if o.name not in same])))
    provenance = [f"package version {manifest.get('package_version')}, started {manifest.get('started')}",
                  *[f"`{n}`: scenario SHA-256 `{sha}`" for n, sha in manifest.get("scenario_sha256", {}).items()],
                  "per-option results (runs.parquet, timeseries.parquet, manifest.json, scenario.yaml and the "
                  "option's own figures) in the sub-folders named after each option."]
    base_diff = diff[diff["versus"] == baseline] if (diff["versus"] == baseline).any() else diff
    return Report(f"Comparison of options: {', '.join(scenarios)}", _setting(start, horizons, runs, seed, baseline),
                  most_likely_best(best) + bottom_line(base_diff, table), few_warnings(base_diff, runs), sure_table(best), tables, glossary(towns),
                  figures, provenance, list(surprises))
