"""Outcomes that surprise, with the runs behind them (issue 16 item 3).

An option meant to help the defender (withdraw, reinforce, Kursk pressure) that comes out *worse*
than the baseline on a headline outcome is a result an analyst will want to see for themselves.
For each such outcome the report lists the paired replications in which the option did worst
against the baseline: the replication, its seed, the outcome under both, and what happened in the
run (when the city fell, whether and when a town was encircled, who was captured, who withdrew),
with the command that replays it (``sim run OPTION/scenario.yaml --seed ROOT --first I --runs 1``:
replication ``I`` of the comparison's root seed, the same draws, day by day with ``--animate``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sim.analysis.compare import outcome_values
from sim.outcomes import EVENT_DAY, HIGHER, PROBABILITY, headline
from sim.vocab import OptionKind

SHOULD_HELP = (OptionKind.WITHDRAW, OptionKind.REINFORCE, OptionKind.KURSK_PRESSURE)
MOST = 5  # runs listed per surprising outcome
# What an option gives up by its doctrine (the brief's "Options as doctrine"): being worse there is its price,
# not a surprise. A withdrawal leaves the city and the ground before it; brigades brought in fight and bleed.
EXPECTED = {
    OptionKind.WITHDRAW: ({"pokrovsk_fall_day", "pokrovsk_held_day30", "pokrovsk_held_day60", "pokrovsk_held_day90",
                           "territory_lost_km2"}, "it gives up the city and the ground before it to save the garrison"),
    OptionKind.REINFORCE: ({"defender_casualties"}, "more defenders in the fight take more casualties"),
}


@dataclass
class Surprise:
    """One option worse than the baseline on one headline outcome, and the runs behind it."""

    option: str
    baseline: str
    outcome: str
    sentence: str
    runs: pd.DataFrame
    expected: str = ""   # why the option's doctrine expects this (then no runs are listed): its price, no surprise


def _day(value) -> str:
    return "never" if pd.isna(value) else f"day {int(value)}"


def what_happened(row: pd.Series) -> str:
    """One replication's story in a line: the fall, the encirclement, captures and withdrawals."""
    parts = [f"Pokrovsk fell {_day(row.get('pokrovsk_fall_day'))}" if pd.notna(row.get("pokrovsk_fall_day"))
             else "Pokrovsk held"]
    if bool(row.get("encircled")):
        towns = row.get("encircled_towns") or ""
        parts.append(f"encircled {_day(row.get('encirclement_day'))}" + (f" ({towns})" if towns else ""))
    else:
        parts.append("no encirclement")
    for col, label in (("defenders_captured", "captured"), ("defenders_withdrawn", "withdrawn")):
        value = row.get(col)
        if pd.notna(value) and float(value) > 0:
            parts.append(f"{float(value):,.0f} {label}")
    return "; ".join(parts)


def _shown(value: float, kind: str) -> str:
    if kind == PROBABILITY:
        return "yes" if value >= 0.5 else "no"
    if kind == EVENT_DAY:
        return f"day {value:.0f}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"


def runs_behind(results: dict[str, pd.DataFrame], horizons: dict[str, int], option: str, baseline: str, o,
                root_seed: int, most: int = MOST) -> pd.DataFrame:
    """The paired replications in which ``option`` did worst against ``baseline`` on outcome ``o``."""
    mine = outcome_values(results[option], o, horizons[option])
    base = outcome_values(results[baseline], o, horizons[baseline])
    common = mine.index.intersection(base.index)
    gap = (mine[common] - base[common]) * (1 if o.better == HIGHER else -1)  # below 0: worse for the defender
    worst = gap[gap < 0].sort_values(kind="stable").index[:most]
    rows = results[option].set_index("replication")
    brows = results[baseline].set_index("replication")
    out = []
    for i in worst:
        out.append({"replication": int(i), "seed": int(rows.loc[i, "seed"]),
                    option: _shown(mine[i], o.kind), baseline: _shown(base[i], o.kind),
                    f"what happened ({option})": what_happened(rows.loc[i]),
                    f"what happened ({baseline})": what_happened(brows.loc[i]),
                    "replay": f"`sim run {option}/scenario.yaml --seed {root_seed} --first {int(i)} --runs 1 "
                              f"--animate --out replay_{option}_{int(i)}`"})
    return pd.DataFrame(out)


def surprises(results: dict[str, pd.DataFrame], horizons: dict[str, int], diff: pd.DataFrame,
              kinds: dict[str, str], baseline: str, root_seed: int, most: int = MOST) -> list[Surprise]:
    """Every headline outcome on which an option meant to help is worse than the baseline (its paired
    95% interval excludes 0), with the runs behind it; where its doctrine expects it (``EXPECTED``: a withdrawal
    gives up ground), a ``Surprise`` with ``expected`` set and no runs."""
    from sim.analysis.report import num, signed

    heads = {o.name: o for o in headline()}
    if diff.empty:  # one option: nothing to compare
        return []
    part = diff[(diff["versus"] == baseline) & (diff["verdict"] == "worse") & diff["outcome"].isin(heads)]
    found = []
    for _, r in part.iterrows():
        option, o = r["option"], heads[r["outcome"]]
        if kinds.get(option) not in SHOULD_HELP or option == baseline:
            continue
        outcomes, why = EXPECTED.get(kinds[option], (set(), ""))
        if o.name in outcomes:
            found.append(Surprise(option, baseline, o.name, "", pd.DataFrame(), expected=why))
            continue
        runs = runs_behind(results, horizons, option, baseline, o, root_seed, most)
        if runs.empty:
            continue
        sentence = (f"**{option}** ({kinds[option]}, meant to help the defender) is worse than **{baseline}** on "
                    f"{o.label}: paired difference {signed(r['diff'], o.kind)} (95% CI {num(r['ci_low'], o.kind)} to "
                    f"{num(r['ci_high'], o.kind)}). The {len(runs)} paired runs in which it did worst:")
        found.append(Surprise(option, baseline, o.name, sentence, runs))
    return found


def expected_line(found: list[Surprise]) -> str:
    """One sentence naming where options are worse as their doctrine expects ("" when nowhere)."""
    from sim.outcomes import outcome

    by_option: dict[str, list[Surprise]] = {}
    for sp in found:
        if sp.expected:
            by_option.setdefault(sp.option, []).append(sp)
    if not by_option:
        return ""
    parts = [f"**{name}** on {', '.join(outcome(sp.outcome).label for sp in sps)} ({sps[0].expected})"
             for name, sps in by_option.items()]
    return "Worse than the baseline where the option's doctrine expects it (its price, not a surprise; no runs listed): " \
        + "; ".join(parts) + "."
