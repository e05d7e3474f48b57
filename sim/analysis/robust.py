"""The robust choice across deep uncertainties: regret, the worlds each option wins, and what would change it.

Frames in, frames out (the method: docs/ROBUST.md). A *world* is one design point of a robust experiment
(sim/robust.py): one value of every deep uncertainty and one calibrated parameter set. An option's value of
an outcome in a world is the mean over the world's replications (common random numbers: replication ``r``
of every option in a world has the same seed).

* Regret of an option in a world: how much worse it does than the best option of that world, in the
  outcome's unit and in the direction its declaration calls better (``sim.outcomes``); 0 for the best.
* Per option: the largest regret over the worlds (minimax regret picks the robust option), the 90th
  percentile, the mean, and the share of worlds it wins. A world is *too close to call* when its best two
  options differ by less than ``CLOSE_SE`` standard errors of the difference of their replication means
  (paired replications); those worlds are counted apart, not given to either option.
* What would change the choice: PRIM boxes (EMA Workbench) of the worlds in which the strongest challenger
  beats the robust option, and the expected value of perfect information (EVPI) of each input, estimated by
  binning the input into quantile bins, with a bootstrap interval over worlds and a noise floor from
  permuting the input across worlds.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.compare import outcome_values
from sim.analysis.sensitivity import prim_box
from sim.outcomes import HIGHER, PROBABILITY, Outcome

TOO_CLOSE = "too close to call"
CLOSE_SE = 2.0          # standard errors of the top-two difference below which a world is too close to call
BOOTSTRAP = 500         # resamples of the worlds for EVPI's interval
PERMUTATIONS = 500      # shuffles of the worlds' values against the design for EVPI's noise floors
FLOOR_QUANTILE = 0.95   # a noise floor: this quantile of the EVPI of an input made unrelated by the shuffles
PRIM_MASS_MIN = 0.1     # the smallest box PRIM may keep: a tenth of the worlds
PRIM_MAX_DIMS = 2       # a box restricts at most two inputs: with a few dozen worlds more fits noise
EVPI_ROWS = 6           # inputs per outcome in the report's EVPI tables (all of them in evpi.csv)


# ------------------------------------------------------------------ values
def run_values(runs: pd.DataFrame, outcomes: list[Outcome], horizon: int, options: list[str] | None = None) -> pd.DataFrame:
    """One row per successful run: ``option`` (the scenario), ``world`` (the design point), ``replication``
    and, per outcome, the value compared (compare's: an event day as min(day, horizon), a share as 0/1).
    ``options``: their order in the tables (default: as they come in ``runs``)."""
    ok = runs[runs["status"] == "ok"]
    if options is not None:
        ok = ok.sort_values("scenario", key=lambda s: s.map({n: i for i, n in enumerate(options)}), kind="mergesort")
    ok = ok.reset_index(drop=True)
    out = ok[["scenario", "point", "replication"]].rename(columns={"scenario": "option", "point": "world"})
    for o in outcomes:
        out[o.name] = outcome_values(ok, o, horizon).to_numpy(dtype=float)
    return out


def oriented(values: np.ndarray | pd.DataFrame, better: str):
    """Values turned so that higher is better for the defender."""
    return values if better == HIGHER else -values


def world_means(values: pd.DataFrame, o: Outcome) -> pd.DataFrame:
    """Worlds (rows) x options (columns): the mean over the world's replications. Worlds that lack an option
    (every run of it failed) are dropped: no regret can be taken there."""
    table = values.pivot_table(index="world", columns="option", values=o.name, aggfunc="mean", sort=True)
    options = list(dict.fromkeys(values["option"]))
    return table.reindex(columns=options).dropna()


def regret(means: pd.DataFrame, better: str) -> pd.DataFrame:
    """Worlds x options: how much worse each option does than the best of its world (>= 0, the outcome's unit)."""
    turned = oriented(means, better)
    return (-turned).add(turned.max(axis=1), axis=0)


# ------------------------------------------------------------------ who wins each world
def winners(values: pd.DataFrame, o: Outcome) -> pd.DataFrame:
    """Per world: the ``best`` and ``second`` options by mean, the ``gap`` between them (better direction
    positive), ``se`` the standard error of that gap from the paired replications, and ``winner``: the best
    option, or ``TOO_CLOSE`` when the gap is at most ``CLOSE_SE`` standard errors (a tie always is)."""
    means = world_means(values, o)
    rows = []
    for world, row in oriented(means, o.better).iterrows():
        order = row.sort_values(ascending=False, kind="mergesort")
        best, second = order.index[0], order.index[1]
        part = values[values["world"] == world].pivot_table(index="replication", columns="option", values=o.name)
        diff = oriented(part[best] - part[second], o.better).dropna()
        se = float(diff.std(ddof=1) / math.sqrt(len(diff))) if len(diff) > 1 else 0.0
        gap = float(order.iloc[0] - order.iloc[1])
        close = gap <= CLOSE_SE * se or np.isclose(gap, 0.0)
        rows.append({"world": world, "best": best, "second": second, "gap": gap, "se": se,
                     "winner": TOO_CLOSE if close else best})
    return pd.DataFrame(rows, columns=["world", "best", "second", "gap", "se", "winner"])


def option_summary(values: pd.DataFrame, o: Outcome) -> pd.DataFrame:
    """Per option: ``max_regret``, ``p90_regret``, ``mean_regret`` over the worlds, ``wins`` (share of worlds it
    is clearly best), ``close`` (share of worlds too close to call in which it is one of the best two) and
    ``robust`` (the option of least maximum regret; ties broken by the 90th percentile, then the mean). A last
    row, ``option`` = ``TOO_CLOSE``, holds the share of worlds too close to call."""
    reg = regret(world_means(values, o), o.better)
    win = winners(values, o)
    n = max(len(win), 1)
    rows = []
    for opt in reg.columns:
        r = reg[opt]
        close = win[(win["winner"] == TOO_CLOSE) & ((win["best"] == opt) | (win["second"] == opt))]
        rows.append({"outcome": o.name, "option": opt, "max_regret": float(r.max()), "p90_regret": float(r.quantile(0.9)),
                     "mean_regret": float(r.mean()), "wins": float((win["winner"] == opt).sum() / n),
                     "close": float(len(close) / n), "worlds": len(reg)})
    table = pd.DataFrame(rows)
    keys = table[["max_regret", "p90_regret", "mean_regret"]].round(9)   # floating dust does not break a tie
    pick = keys.sort_values(list(keys.columns), kind="mergesort").index[0]
    table["robust"] = table.index == pick
    tie = {"outcome": o.name, "option": TOO_CLOSE, "wins": float((win["winner"] == TOO_CLOSE).sum() / n),
           "worlds": len(reg), "robust": False}
    return pd.concat([table, pd.DataFrame([tie])], ignore_index=True)


def robust_option(summary: pd.DataFrame) -> str:
    return str(summary.loc[summary["robust"].astype(bool), "option"].iloc[0])


def challenger(summary: pd.DataFrame) -> str | None:
    """The robust option's strongest challenger: the other option that wins the most worlds (then the one
    of least maximum regret); None with a single option."""
    others = summary[(summary["option"] != TOO_CLOSE) & ~summary["robust"].astype(bool)]
    if others.empty:
        return None
    return str(others.sort_values(["wins", "max_regret"], ascending=[False, True], kind="mergesort")["option"].iloc[0])


# ------------------------------------------------------------------ scenario discovery
def discovery(values: pd.DataFrame, design: pd.DataFrame, inputs: list[str], o: Outcome, robust: str,
              rival: str) -> dict:
    """PRIM over the worlds on "``rival`` does better than ``robust``": the box of inputs in which the choice
    would change, with its coverage and density. ``{"not drawn": reason}`` when there is no such box."""
    means = oriented(world_means(values, o), o.better)
    beats = (means[rival] > means[robust]).rename("beats")
    x = design.set_index("point").loc[beats.index, inputs].reset_index(drop=True)
    head = {"outcome": o.name, "label": o.label, "robust": robust, "challenger": rival, "worlds": int(len(beats)),
            "worlds_challenger_better": int(beats.sum())}
    usable = [c for c in inputs if x[c].nunique() > 1]
    box = prim_box(x, usable, beats.reset_index(drop=True), mass_min=PRIM_MASS_MIN,
                                  max_dims=PRIM_MAX_DIMS) if len(beats) >= 4 else None
    if box is None:
        why = (f"{rival} does better than {robust} in none of the worlds" if beats.sum() == 0 else
               f"{rival} does better than {robust} in every world" if beats.all() else "too few worlds for PRIM")
        return head | {"not drawn": why}
    if not box["restricted"] or box["coverage"] >= 1.0 - 1e-9 and box["density"] <= box["base_rate"] + 1e-9:
        return head | {"not drawn": f"no box of the inputs concentrates the worlds where {rival} does better "
                                    f"(base rate {box['base_rate']:.2f})"}
    return head | {k: v for k, v in box.items() if k != "trajectory"}


# ------------------------------------------------------------------ the value of information
def bins_of(x: np.ndarray, bins: int) -> np.ndarray:
    """Quantile bins of an input (equal values in one bin): labels 0..K-1."""
    labels = pd.qcut(pd.Series(x).rank(method="min"), q=min(bins, len(np.unique(x))), labels=False, duplicates="drop")
    return np.asarray(labels, dtype=int)


def evpi_binned(m: np.ndarray, labels: np.ndarray) -> float:
    """EVPI of an input from worlds x options values ``m`` (higher better) and the input's bin per world:
    E over bins [max over options of the bin's mean] - max over options of the overall mean."""
    k = labels.max() + 1
    onehot = np.zeros((len(labels), k))
    onehot[np.arange(len(labels)), labels] = 1.0
    counts = onehot.sum(axis=0)
    used = counts > 0
    bin_means = (onehot.T @ m)[used] / counts[used, None]
    value = (counts[used] * bin_means.max(axis=1)).sum() / len(labels) - m.mean(axis=0).max()
    return _clean(value, m)


def _clean(value: float, m: np.ndarray) -> float:
    """An EVPI is never below 0 (Jensen), and a value within rounding of 0 is 0."""
    return 0.0 if value <= 1e-9 * max(1.0, float(np.abs(m).max())) else float(value)


def evpi_world(m: np.ndarray) -> float:
    """The value of knowing the world itself (every input at once): E[max over options] - max over options of E."""
    return _clean(m.max(axis=1).mean() - m.mean(axis=0).max(), m)


def default_bins(worlds: int) -> int:
    """Quantile bins per input: about eight worlds a bin, between 2 and 5."""
    return int(min(5, max(2, worlds // 8)))


def evpi_table(values: pd.DataFrame, design: pd.DataFrame, inputs: list[str], o: Outcome, *, bins: int | None = None,
               seed: int = 0) -> pd.DataFrame:
    """Per input: ``evpi`` (outcome's unit, the defender's gain), the bootstrap 95% interval over worlds
    (``ci_low``, ``ci_high``), ``floor``: the 95th percentile of the EVPI with the input permuted across the
    worlds (what noise alone gives that input), and ``floor_all``: the 95th percentile of the largest EVPI of
    any input under the same permutations (the worlds' values shuffled against the whole design), the floor
    for picking the best of many inputs. ``clears``: evpi above both. ``share`` is evpi over the value of
    knowing the whole world. The resampling has a fixed seed: the report is stable; it is not a model draw."""
    means = world_means(values, o)
    m = oriented(means.to_numpy(dtype=float), o.better)
    x_all = design.set_index("point").loc[means.index]
    k = bins or default_bins(len(m))
    rng = np.random.default_rng(seed)
    labels = {name: bins_of(x_all[name].to_numpy(dtype=float), k) for name in inputs}
    perms = [rng.permutation(len(m)) for _ in range(PERMUTATIONS)]
    null = np.array([[evpi_binned(m[p], labels[name]) for name in inputs] for p in perms]).reshape(len(perms), len(inputs))
    floor_all = float(np.quantile(null.max(axis=1), FLOOR_QUANTILE)) if inputs else math.nan
    total = evpi_world(m)
    rows = []
    for j, name in enumerate(inputs):
        value = evpi_binned(m, labels[name])
        boot = [evpi_binned(m[idx], _relabel(labels[name][idx])) for idx in
                (rng.integers(0, len(m), len(m)) for _ in range(BOOTSTRAP))]
        floor = float(np.quantile(null[:, j], FLOOR_QUANTILE))
        lo, hi = np.quantile(boot, [0.025, 0.975])
        rows.append({"outcome": o.name, "input": name, "evpi": value, "ci_low": float(lo), "ci_high": float(hi),
                     "floor": floor, "floor_all": floor_all, "clears": bool(value > max(floor, floor_all) + 1e-12),
                     "share": value / total if total > 0 else 0.0, "evpi_world": total,
                     "bins": int(labels[name].max() + 1), "worlds": len(m)})
    return pd.DataFrame(rows, columns=["outcome", "input", "evpi", "ci_low", "ci_high", "floor", "floor_all", "clears",
                                       "share", "evpi_world", "bins", "worlds"])


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Bin labels made 0..K-1 again after a resample dropped some bins."""
    return np.unique(labels, return_inverse=True)[1]


def facts_to_collect(evpi: pd.DataFrame, most: int = 2) -> pd.DataFrame:
    """The inputs worth learning first: those whose EVPI clears the noise floor, ranked by the number of
    outcomes for which it does, then by how far above the floor (EVPI over floor, summed). At most ``most``."""
    clear = evpi[evpi["clears"]].copy()
    if clear.empty:
        return pd.DataFrame(columns=["input", "outcomes", "margin"])
    bar = np.maximum(clear["floor"], clear["floor_all"])
    clear["margin"] = clear["evpi"] / bar.where(bar > 0, np.nan)
    rank = clear.groupby("input").agg(outcomes=("outcome", list), margin=("margin", "sum")).reset_index()
    rank["n"] = rank["outcomes"].map(len)
    rank = rank.sort_values(["n", "margin"], ascending=[False, False], kind="mergesort")
    return rank.head(most)[["input", "outcomes", "margin"]].reset_index(drop=True)


# ------------------------------------------------------------------ the bottom line
def fmt(x: float, o: Outcome) -> str:
    """A regret or EVPI in the outcome's unit, rounded as a reader wants it."""
    if x is None or not math.isfinite(x):
        return "–"
    if o.kind == PROBABILITY:
        return f"{x:.2f}"
    unit = f" {o.unit}" if o.unit else ""
    if x == 0:
        return "0" + unit
    return (f"{x:,.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 1 else f"{x:.2f}") + unit


def outcome_sentence(o: Outcome, summary: pd.DataFrame) -> str:
    """One line of the bottom line: the robust option of an outcome and the share of worlds each option wins."""
    best = summary[summary["robust"].astype(bool)].iloc[0]
    if summary["max_regret"].fillna(0).max() <= 0:
        return (f"**{o.label}** ({o.better} is better): every option does the same in every one of the "
                f"{int(best.worlds)} worlds; this outcome does not choose.")
    shares = ", ".join(f"{r.option} {r.wins:.0%}" for r in summary.itertuples() if r.option != TOO_CLOSE)
    tie = summary[summary["option"] == TOO_CLOSE]["wins"].iloc[0]
    rivals = summary[(summary["option"] != TOO_CLOSE) & (summary["option"] != best.option)]
    tied = [str(n) for n, r in zip(rivals["option"], rivals["max_regret"]) if np.isclose(r, best.max_regret)]
    tie_note = (f"; tied on the largest regret with {', '.join(tied)}: the 90th percentile, then the mean regret, "
                "then the experiment's order of the options break the tie" if tied else "")
    return (f"**{o.label}** ({o.better} is better): the robust choice is **{best.option}** (largest regret "
            f"{fmt(best.max_regret, o)} over {int(best.worlds)} worlds, 90% of worlds within {fmt(best.p90_regret, o)}"
            f"{tie_note}). "
            f"Worlds won: {shares}; too close to call {tie:.0%}.")


def facts_sentence(facts: pd.DataFrame, worlds: int, replications: int, label=lambda s: s) -> str:
    if facts.empty:
        return (f"**Facts worth collecting first**: none. No input's expected value of perfect information clears "
                f"its noise floor at this sample size ({worlds} worlds x {replications} replications): no single fact "
                "is shown to change the choice.")
    named = "; ".join(f"**{label(r.input)}** (clears the noise floor for {', '.join(r.outcomes)})"
                      for r in facts.itertuples())
    return f"**Facts worth collecting first**: {named}."


# ------------------------------------------------------------------ the report
def input_label(name: str, meta: dict) -> str:
    """An input as the report names it: its dotted path, marked when it comes from the posterior."""
    return f"{name} (posterior)" if name in meta.get("posterior_parameters", []) else name


def _md(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    return "\n".join([head, rule, *("| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False))])


def options_frame(summary: pd.DataFrame, o: Outcome) -> pd.DataFrame:
    """An outcome's regret table as the report prints it."""
    part = summary[summary["outcome"] == o.name]
    rows = []
    for r in part.itertuples():
        if r.option == TOO_CLOSE:
            rows.append({"option": f"*{TOO_CLOSE}*", "max regret": "", "90th pct regret": "", "mean regret": "",
                         "worlds won": f"{r.wins:.0%}", "in a close call": ""})
            continue
        name = f"**{r.option}** (robust)" if r.robust else r.option
        rows.append({"option": name, "max regret": fmt(r.max_regret, o), "90th pct regret": fmt(r.p90_regret, o),
                     "mean regret": fmt(r.mean_regret, o), "worlds won": f"{r.wins:.0%}",
                     "in a close call": f"{r.close:.0%}"})
    return pd.DataFrame(rows)


def evpi_frame(evpi: pd.DataFrame, o: Outcome, meta: dict) -> pd.DataFrame:
    part = evpi[evpi["outcome"] == o.name].sort_values("evpi", ascending=False, kind="mergesort").head(EVPI_ROWS)
    return pd.DataFrame({"input": [input_label(i, meta) for i in part["input"]],
                         "EVPI": [fmt(v, o) for v in part["evpi"]],
                         "95% interval": [f"{fmt(a, o)} – {fmt(b, o)}" for a, b in zip(part["ci_low"], part["ci_high"])],
                         "noise floor": [fmt(v, o) for v in part["floor"]],
                         "floor, best of all inputs": [fmt(v, o) for v in part["floor_all"]],
                         "clears the floor": ["**yes**" if c else "no" for c in part["clears"]]})


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def prim_lines(box: dict, meta: dict) -> list[str]:
    head = (f"- **{box.get('label', box['outcome'])}**: {box['challenger']} does better than {box['robust']} (on the "
            f"world's mean) in {box['worlds_challenger_better']} of {box['worlds']} worlds")
    if "not drawn" in box:
        return [f"{head}; no box: {box['not drawn']}."]
    limits = "; ".join(f"{input_label(k, meta)} from {_num(lo)} to {_num(hi)}" for k, (lo, hi) in box["restricted"].items())
    weak = ("; a weak concentration, less than 1.5 times the base rate" if box["density"] < 1.5 * box["base_rate"]
            else "")
    return [f"{head}. PRIM box: {limits} (coverage {box['coverage']:.2f}, density {box['density']:.2f} against a "
            f"base rate of {box['base_rate']:.2f}{weak})."]


def report_markdown(meta: dict, outcomes: list[Outcome], summary: pd.DataFrame, evpi: pd.DataFrame, prims: dict,
                    facts: pd.DataFrame, figures: list[str]) -> str:
    """report.md: the bottom line first (the robust option per headline outcome, the worlds each wins, the
    facts worth collecting), then the regret tables, what would change the choice, the figures."""
    worlds, reps = meta["worlds"], meta["replications"]
    post = f"; each world draws one calibrated parameter set from {Path(meta['posterior']).name}" if meta.get("posterior") else ""
    text = [f"# Robust choice: {meta['experiment']}", "",
            f"_{len(meta['options'])} options x {worlds} worlds x {reps} replications, {meta['horizon']} days from "
            f"{meta.get('start_date', '')}, root seed {meta['seed']}. Deep uncertainties: "
            f"{', '.join(meta['uncertainties'])}{post}. Method: docs/ROBUST.md._", "",
            "## Bottom line", ""]
    for o in outcomes:
        text.append("- " + outcome_sentence(o, summary[summary["outcome"] == o.name]))
    text.append("- " + facts_sentence(facts, worlds, reps, lambda s: input_label(s, meta)))
    close = summary[(summary["option"] == TOO_CLOSE) & (summary["wins"] > 0.5)]
    if len(close):
        labels = ", ".join(o.label for o in outcomes if o.name in set(close["outcome"]))
        text.append(f"- **How sure**: most worlds are too close to call for {labels}: with {reps} replications a "
                    "world, its means barely separate the options there, and the largest regrets partly measure that "
                    "noise. More replications a world (the experiment's replications) sharpen them.")
    text += ["", "_Regret: how much worse an option does than the best option of the same world (a world's value is "
             "the mean of its replications). The robust choice has the least largest regret (minimax regret). A world "
             f"is too close to call when its best two options differ by at most {CLOSE_SE:g} standard errors of the "
             "paired difference; it is won by neither._", ""]
    text += ["## Regret per option", ""]
    for o in outcomes:
        text += [f"### {o.label} ({o.better} is better)", "", _md(options_frame(summary, o)), ""]
    text += ["## What would change the choice", "", "### Scenario discovery (PRIM)", "",
             "_The worlds in which the robust option's strongest challenger (the other option that wins most worlds) "
             "does better, and the box of inputs in which they concentrate (EMA Workbench PRIM; coverage: share of "
             "those worlds inside the box; density: share of the box's worlds that are such)._", ""]
    for name in [o.name for o in outcomes if o.name in prims]:
        text += prim_lines(prims[name], meta)
    text += ["", "### Expected value of perfect information", "",
             "_EVPI of an input: how much better, on average, the choice could do if the input were known before "
             "choosing (quantile bins of the input; outcome's unit, the defender's gain). Interval: bootstrap over "
             f"worlds. Noise floor: the {FLOOR_QUANTILE:.0%} point of the EVPI of the input shuffled across worlds; "
             "the floor for the best of all inputs: the same point of the largest EVPI of any input when the worlds' "
             "values are shuffled against the whole design (picking the top of many inputs favours noise). An input "
             "clears when its EVPI is above both; below them it cannot be told from noise at this sample size._", ""]
    for o in outcomes:
        n = int((evpi["outcome"] == o.name).sum())
        more = f" (the {EVPI_ROWS} largest of {n}; all in evpi.csv)" if n > EVPI_ROWS else ""
        world = evpi.loc[evpi["outcome"] == o.name, "evpi_world"]
        whole = (f"_Knowing the whole world before choosing (every input at once, and the replications' luck) would "
                 f"be worth {fmt(float(world.iloc[0]), o)}: the ceiling of any one input's EVPI._") if len(world) else ""
        text += [f"#### {o.label}{more}", "", whole, "", _md(evpi_frame(evpi, o, meta)), ""]
    text += ["## Figures", "", *[f"![{f}]({f})" for f in figures], "",
             "## Files", "", "- `options.csv`: regret and worlds won per outcome and option",
             "- `worlds.csv`: per outcome and world, the best two options, their gap and its standard error, the winner",
             "- `evpi.csv`: EVPI per outcome and input with interval and noise floor; `prim.json`: the PRIM boxes",
             "- `runs.parquet`, `design.parquet` (the worlds), `manifest.json`: the runs, as `sim sweep` writes them", ""]
    return "\n".join(text)
