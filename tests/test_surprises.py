"""Issue 16 item 3: an option meant to help that does worse is explained with the runs behind it, and those
runs replay with `sim run --seed ROOT --first I`; issue 16 item 4: `sim run`'s fans mark the events."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis.compare import difference_table, option_events
from sim.analysis.report import build_report
from sim.analysis.surprises import surprises, what_happened
from sim.plots.report import markdown
from tests.test_report_answers import HORIZON, frame

N = 30


@pytest.fixture
def options():
    noise = np.random.default_rng(4).normal(0, 3, N)
    ground = 80 + noise
    hold = frame("hold", N, fall=[40] * N, encircled=[False] * N, casualties=np.full(N, 5000.0), ground=ground)
    extra = np.full(N, 5.0)
    extra[[7, 3, 15]] = [30.0, 20.0, 12.0]  # the runs in which the withdrawal loses most ground
    extra[[20, 21]] = -1.0                   # and two in which it loses less
    withdraw = frame("withdraw", N, fall=[40] * N, encircled=[False] * N, casualties=np.full(N, 5000.0),
                     ground=ground + extra)
    withdraw.loc[7, ["encircled", "encirclement_day", "encircled_towns", "defenders_captured"]] = \
        [True, 33, "Pokrovsk+Myrnohrad", 2500.0]
    reinforce = frame("reinforce", N, fall=[40] * N, encircled=[False] * N, casualties=np.full(N, 5000.0),
                      ground=ground - 5)
    return {"hold": hold, "withdraw": withdraw, "reinforce": reinforce}


def found(results, kinds):
    horizons = {n: HORIZON for n in results}
    diff = difference_table(results, horizons, "hold")
    return diff, surprises(results, horizons, diff, kinds, "hold", root_seed=9, most=3)


def test_an_option_meant_to_help_that_does_worse_lists_its_worst_runs(options):
    # pressing near Kursk is not meant to cost ground here: more ground lost is a surprise
    kinds = {"hold": "hold", "withdraw": "kursk_pressure", "reinforce": "reinforce"}
    diff, found_ = found(options, kinds)
    assert [(s.option, s.outcome) for s in found_] == [("withdraw", "territory_lost_km2")]  # reinforce is better
    assert not found_[0].expected
    runs = found_[0].runs
    assert list(runs["replication"]) == [7, 3, 15]                 # worst first
    assert list(runs["seed"]) == list(options["withdraw"].loc[[7, 3, 15], "seed"])
    assert "encircled day 33 (Pokrovsk+Myrnohrad)" in runs.iloc[0]["what happened (withdraw)"]
    assert "2,500 captured" in runs.iloc[0]["what happened (withdraw)"]
    assert runs.iloc[0]["replay"] == ("`sim run withdraw/scenario.yaml --seed 9 --first 7 --runs 1 --animate "
                                      "--out replay_withdraw_7`")
    rep = build_report(scenarios=list(options), runs=N, seed=9, horizons={n: HORIZON for n in options},
                       table=_table(options), diff=diff, best=pd.DataFrame(), figures=[], manifest={},
                       baseline="hold", surprises=found_)
    text = markdown(rep)
    assert "### Surprises: the runs behind them" in text and "--first 7" in text
    assert text.index("Surprises") < text.index("How sure")       # right after the bottom line


def test_a_withdrawal_giving_up_ground_is_its_price_not_a_surprise(options):
    """The withdrawal is worse on ground lost, as its doctrine expects: named with the reason, no runs listed."""
    kinds = {"hold": "hold", "withdraw": "withdraw", "reinforce": "reinforce"}
    diff, found_ = found(options, kinds)
    [sp] = found_
    assert (sp.option, sp.outcome) == ("withdraw", "territory_lost_km2") and sp.expected and sp.runs.empty
    rep = build_report(scenarios=list(options), runs=N, seed=9, horizons={n: HORIZON for n in options},
                       table=_table(options), diff=diff, best=pd.DataFrame(), figures=[], manifest={},
                       baseline="hold", surprises=found_)
    section = markdown(rep).split("### Surprises", 1)[1].split("### How sure", 1)[0]
    assert "No option meant to help the defender is worse than the baseline where its doctrine does not" in section
    assert "its price, not a surprise" in section and "**withdraw** on ground lost (it gives up the city" in section
    assert "--first" not in section                                  # no runs behind an expected price


def test_no_surprise_when_the_worse_option_is_not_meant_to_help(options):
    _, found_ = found(options, {"hold": "hold", "withdraw": "hold", "reinforce": "reinforce"})
    assert found_ == []


def test_what_happened_reads_a_run_in_words():
    row = pd.Series({"pokrovsk_fall_day": pd.NA, "encircled": False, "defenders_captured": 0.0,
                     "defenders_withdrawn": 17600.0})
    assert what_happened(row) == "Pokrovsk held; no encirclement; 17,600 withdrawn"


def _table(results):
    from sim.analysis.compare import option_table

    return option_table(results, {n: HORIZON for n in results})


def test_first_replays_a_replication_of_a_comparison_and_compare_needs_two(tmp_path, capsys):
    from sim.cli import main
    from tests.conftest import MINI, mini_withdraw

    withdraw = mini_withdraw(tmp_path)
    out = tmp_path / "cmp"
    assert main(["compare", str(MINI), str(withdraw), "--runs", "3", "--seed", "9", "--out", str(out),
                 "--set", "days=10"]) == 0
    again = tmp_path / "again"
    assert main(["run", str(out / "mini_withdraw" / "scenario.yaml"), "--seed", "9", "--first", "2", "--runs", "1",
                 "--out", str(again), "--no-plots"]) == 0
    original = pd.read_parquet(out / "mini_withdraw" / "runs.parquet").set_index("replication").loc[[2]]
    replayed = pd.read_parquet(again / "runs.parquet").set_index("replication")
    pd.testing.assert_frame_equal(replayed, original)
    capsys.readouterr()
    assert main(["compare", str(MINI), "--runs", "2", "--out", str(tmp_path / "one")]) == 2
    assert "needs at least two scenarios" in capsys.readouterr().err


def test_run_fans_mark_the_events_with_labels_and_dates():
    import matplotlib.pyplot as plt

    from sim.plots.run import fan_figure
    from sim.theater import load_scenario

    doc = load_scenario("scenarios/withdraw_kramatorsk_sloviansk.yaml")
    runs = pd.DataFrame({"option.withdraw.trigger_day": [10, 20, 30]})
    events = option_events(doc.scenario, runs)
    days = np.arange(0, 40)
    ts = pd.DataFrame({"replication": np.repeat([0, 1], len(days)), "day": np.tile(days, 2)})
    for col in ("defender_personnel", "attacker_personnel", "defender_area_km2", "corridor_km", "supply_index"):
        ts[col] = np.linspace(100, 50, len(ts))
    fig = fan_figure(ts, "withdraw", "2025-11-11", events)
    try:
        first = fig.axes[0]
        # the events' key is the figure's own legend, below the panels (no text over the curves)
        keys = [g for g in fig.legends if g.get_title().get_text().startswith("events")]
        assert len(keys) == 1
        labels = [t.get_text() for t in keys[0].get_texts()]
        assert "withdrawal starts (latest): 01 Dec 2025 (day 20)" in labels   # day 20 of 11 Nov 2025
        assert any(t.endswith("reinforcing bde arrive: 02 Dec 2025 (day 21)") for t in labels)
        assert not first.texts
        for ax in fig.axes[:4]:
            dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
            assert len(dashed) == len(events)                                 # every panel marks every event
        assert "date" in first.get_xlabel() and "11 Nov 2025" in first.get_xlabel()
    finally:
        plt.close(fig)
