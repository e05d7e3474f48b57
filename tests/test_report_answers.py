"""The comparison report answers: the bottom line's direction, how sure, the glossary, the declarations."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sim.analysis.compare import (difference_table, option_events, option_table, outcome_values,
                                  probability_best, survival_band, verdict)
from sim.analysis.report import build_report
from sim.plots.report import markdown
from sim.outcomes import OUTCOMES, RECORDED, fall_day_column, headline, outcome, tabled

HORIZON = 120


def frame(name: str, n: int, *, fall, encircled, casualties, ground, seed: int = 0) -> pd.DataFrame:
    """A hand-made runs.parquet of one option: every recorded column, the chosen ones set."""
    rng = np.random.default_rng(seed)
    runs = pd.DataFrame({"scenario": name, "replication": np.arange(n), "seed": np.arange(n)})
    for col in RECORDED:
        runs[col] = rng.uniform(1, 2, n)
    runs["encircled_towns"] = ""
    runs["pokrovsk_fall_day"] = pd.array(fall, dtype="Int64")
    runs["encirclement_day"] = pd.array([None] * n, dtype="Int64")
    runs["next_line_reached_day"] = pd.array([None] * n, dtype="Int64")
    runs["encircled"] = encircled
    runs["defender_casualties"] = casualties
    runs["territory_lost_km2"] = ground
    return runs


@pytest.fixture
def two_options():
    n = 40
    noise = np.random.default_rng(1).normal(0, 50, n)   # shared by both options: removed by pairing
    hold = frame("hold", n, fall=[30 + i % 5 for i in range(n)], encircled=[i % 2 == 0 for i in range(n)],
                 casualties=5000 + noise, ground=80 + noise / 10)
    # withdraw: the city holds longer, is never encircled, costs fewer casualties but more ground
    withdraw = frame("withdraw", n, fall=[60 + i % 5 for i in range(n)], encircled=[False] * n,
                     casualties=4000 + noise, ground=95 + noise / 10)
    return {"hold": hold, "withdraw": withdraw}


def test_better_option_is_reported_better_and_worse_worse(two_options):
    horizons = {"hold": HORIZON, "withdraw": HORIZON}
    diff = difference_table(two_options, horizons, baseline="hold").set_index("outcome")
    assert diff.loc["pokrovsk_fall_day", "verdict"] == "better"      # higher is better: 30 more days held
    assert diff.loc["encircled", "verdict"] == "better"              # lower is better: 0.5 fewer
    assert diff.loc["defender_casualties", "verdict"] == "better"    # lower is better
    assert diff.loc["territory_lost_km2", "verdict"] == "worse"      # more ground lost is worse
    assert diff.loc["pokrovsk_held_day30", "verdict"] == "better"
    # against the other baseline, every verdict turns
    back = difference_table(two_options, horizons, baseline="withdraw").set_index("outcome")
    assert back.loc["pokrovsk_fall_day", "verdict"] == "worse"
    assert back.loc["territory_lost_km2", "verdict"] == "better"


def test_bottom_line_says_better_and_worse_in_words(two_options):
    horizons = {"hold": HORIZON, "withdraw": HORIZON}
    table = option_table(two_options, horizons)
    diff = difference_table(two_options, horizons, baseline="hold")
    best = probability_best(two_options, horizons, headline())
    rep = build_report(scenarios=list(two_options), runs=40, seed=1, horizons=horizons, table=table, diff=diff,
                       best=best, figures=[], manifest={}, baseline="hold", start=dt.date(2025, 11, 11))
    text = markdown(rep)
    assert text.index("## Bottom line") < text.index("## Probabilities") < text.index("## Glossary")
    assert rep.bottom_line[0].startswith("- Most likely best for the defender, by outcome (probability of being best")
    assert "days until Pokrovsk falls: **withdraw** (1.00);" in rep.bottom_line[0]       # sure: no "not clear"
    line = rep.bottom_line[1]
    assert line.startswith("- **withdraw** against hold")
    better, worse = line.split("**worse**")
    # each clause can be quoted as it stands: both levels, the paired difference and its interval
    assert "days until Pokrovsk falls: 62.0 against 32.0 days (+30.0, 95% CI 30.0 to 30.0)" in better
    assert "P(encirclement): 0.00 against 0.50 (-0.50, 95% CI -0.66 to -0.34)" in better
    assert "defender casualties (killed, wounded): 4,000 against 5,000 personnel" in better
    assert "ground lost: 95.0 against 80.0 km² (+15.0" in worse
    assert "Start 11 Nov 2025, horizon 120 days (to 11 Mar 2026)" in rep.setting
    # 40 replications: the report warns that small differences are noise
    assert rep.warnings and "40 paired replications per option: a probability is known to about ±0.15" in rep.warnings[0]


def test_the_best_is_not_clear_below_its_threshold():
    from sim.analysis.report import CLEAR_BEST, most_likely_best

    best = pd.DataFrame({"outcome": ["encircled"] * 2 + ["territory_lost_km2"] * 2, "option": ["hold", "withdraw"] * 2,
                         "p_best": [0.3, 0.7, CLEAR_BEST, 1 - CLEAR_BEST]})
    [line] = most_likely_best(best)
    assert "P(encirclement): **withdraw** (0.70, not clear)" in line
    assert "ground lost: **hold** (0.95);" not in line and "ground lost: **hold** (0.95)." in line


def test_unclear_when_the_interval_holds_zero_or_no_direction():
    o = outcome("defender_casualties")
    assert verdict(o, {"n": 10, "diff": -5.0, "ci_low": -12.0, "ci_high": 2.0}) == "unclear"
    assert verdict(o, {"n": 10, "diff": -5.0, "ci_low": -8.0, "ci_high": -2.0}) == "better"
    assert verdict(outcome("defender_arrivals"), {"n": 10, "diff": 5.0, "ci_low": 2.0, "ci_high": 8.0}) == "unclear"


def test_probability_best_counts_paired_wins(two_options):
    best = probability_best(two_options, {"hold": HORIZON, "withdraw": HORIZON}, headline())
    fall = best[best["outcome"] == "pokrovsk_fall_day"].set_index("option")
    assert fall.loc["withdraw", "p_best"] == 1.0 and fall.loc["hold", "p_best"] == 0.0
    assert fall.loc["withdraw", "share_best"] == 1.0
    enc = best[best["outcome"] == "encircled"].set_index("option")
    # hold is encircled in half the runs, withdraw never: withdraw's mean is surely the lower ...
    assert enc.loc["withdraw", "p_best"] == pytest.approx(1.0)
    # ... but it is strictly best in only half the runs; in the other half the two tie and share the win
    assert enc.loc["withdraw", "share_best"] == pytest.approx(0.75)
    assert enc.loc["withdraw", "ci_low"] < 0.75 < enc.loc["withdraw", "ci_high"]
    assert np.allclose(best.groupby("outcome")[["p_best", "share_best"]].sum(), 1.0)


@pytest.mark.parametrize("towns", [["Myrnohrad"], []])
def test_glossary_defines_every_outcome_and_the_terms(two_options, towns):
    horizons = {"hold": HORIZON, "withdraw": HORIZON}
    rep = build_report(scenarios=list(two_options), runs=40, seed=1, horizons=horizons,
                       table=option_table(two_options, horizons, towns),
                       diff=difference_table(two_options, horizons, towns=towns),
                       best=probability_best(two_options, horizons, headline()), figures=[], manifest={},
                       baseline="hold", towns=towns)
    glossary = dict(rep.glossary)
    terms = " ".join(glossary)
    # every declared outcome, tabled or only in runs.parquet, by its label and its column, with a definition
    for o in OUTCOMES:
        entry = [t for t in glossary if t.startswith(f"{o.label} (`{o.column}`")]
        assert len(entry) == 1 and len(glossary[entry[0]]) > 40, o.name
    # a settlement's fall day: the towns named, else the pattern of the columns
    assert (fall_day_column("Myrnohrad") if towns else fall_day_column("<Settlement>")) in terms
    for term in ("fall vs encirclement", "cut off, trapped, captured", "restricted mean"):
        assert term in terms
    assert glossary["P(Pokrovsk held on the last day) (`pokrovsk_held`)"].endswith("in runs.parquet, not in the tables.")


def test_every_declaration_is_whole():
    names = [o.name for o in OUTCOMES]
    assert len(names) == len(set(names))
    for o in OUTCOMES:
        assert o.kind in ("probability", "event day", "amount", "ratio", "label")
        assert o.better in ("higher", "lower", None) and o.definition and o.label
        assert o.column in RECORDED, o.name          # read from a column runs.parquet has
    assert {o.name for o in headline()} <= {o.name for o in tabled()}


def test_held_on_day_k_is_read_from_the_fall_day():
    runs = pd.DataFrame({"replication": [0, 1, 2], "pokrovsk_fall_day": pd.array([20, 45, None], dtype="Int64")})
    assert list(outcome_values(runs, "pokrovsk_held_day30", HORIZON)) == [0.0, 1.0, 1.0]
    assert list(outcome_values(runs, "pokrovsk_fall_day", HORIZON)) == [20.0, 45.0, 120.0]


def test_survival_band_contains_the_curve_and_stays_in_0_1():
    days = pd.Series([5, 10, None, 10, 30])
    lo, hi = survival_band(days, 40)
    assert lo.shape == (41,) and (lo >= 0).all() and (hi <= 1).all()
    assert lo[0] < 1.0 and hi[0] == 1.0 and lo[35] < 0.2 < hi[35]


def test_events_of_an_option_come_from_its_scenario():
    from sim.theater import load_scenario

    doc = load_scenario("scenarios/withdraw_kramatorsk_sloviansk.yaml")
    runs = pd.DataFrame({"option.withdraw.trigger_day": [10, 20, 30]})
    events = dict((label, day) for day, label in option_events(doc.scenario, runs))
    assert events["withdrawal starts (latest)"] == 20
    assert any(label.startswith("attacker") for label in events)


def test_captured_never_exceeds_cut_off_and_corridor_before_fall_is_informative(tmp_path):
    from sim.cli import main

    out = tmp_path / "hold"
    assert main(["run", "scenarios/hold_pokrovsk.yaml", "--runs", "4", "--seed", "3", "--out", str(out),
                 "--no-plots", "--set", "days=70",
                 # cut-off units give up fast, so that captures happen in a short run
                 "--set", "logistics.cohesion_loss_per_day=0.4", "--set", "logistics.surrender_cohesion=0.6"]) == 0
    runs = pd.read_parquet(out / "runs.parquet")
    assert (runs["defenders_captured"] > 0).any()                    # the check bites
    assert (runs["defenders_captured"] <= runs["defenders_cut_off"] + 1e-6).all()
    assert (runs["defenders_trapped"] <= runs["defenders_cut_off"] + 1e-6).all()
    # the corridor before the fall is 0 exactly when the corridor was cut before the city fell
    fell = runs[runs["pokrovsk_fall_day"].notna()]
    cut_first = fell["corridor_cut_day"].notna() & (fell["corridor_cut_day"] < fell["pokrovsk_fall_day"])
    assert len(fell) and ((fell["corridor_before_fall_km"] == 0) == cut_first).all()


def test_a_rare_event_is_tabled_and_an_outcome_shared_by_every_option_is_not_differenced(two_options):
    """One run in twenty reaching the next line is information (the 5-95% range alone would hide it); an outcome
    the options share run by run (drones grounded: the same weather) has no difference to show."""
    from sim.analysis.compare import constant_outcomes, identical_outcomes

    horizons = {"hold": HORIZON, "withdraw": HORIZON}
    runs = {n: r.copy() for n, r in two_options.items()}
    runs["withdraw"]["next_line_reached_day"] = pd.array([100] + [None] * 39, dtype="Int64")
    for r in runs.values():
        r["drone_grounded_days"] = np.arange(40) % 7        # varies over runs, the same in both options
    table = option_table(runs, horizons)
    diff = difference_table(runs, horizons, baseline="hold")
    assert "next_line_reached_day" not in constant_outcomes(table)
    assert identical_outcomes(diff) >= {"drone_grounded_days"}
    assert "next_line_reached_day" not in identical_outcomes(diff)
    rep = build_report(scenarios=list(runs), runs=40, seed=1, horizons=horizons, table=table, diff=diff,
                       best=probability_best(runs, horizons, headline()), figures=[], manifest={}, baseline="hold")
    text = markdown(rep)
    assert "| days until the attacker reaches the next line, days" in text
    differences = text.split("## Paired differences", 1)[1].split("## Glossary", 1)[0]
    assert "hence not in this table: " in differences and "days defender drones grounded" in differences
    assert "| days defender drones grounded" not in differences
    # an event day's interval stays inside the horizon
    day = table[(table["outcome"] == "next_line_reached_day") & (table["option"] == "withdraw")].iloc[0]
    assert day["ci_high"] <= HORIZON and day["min"] == 100
