"""The browser's ensemble: the aggregation on hand-made runs whose answer is known, and the background
job (it finishes, its progress only grows, Cancel stops it early and leaves no worker, and its runs
and maps are `sim compare`'s for the same options and seed). The page itself: tests/test_app.py."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from sim.analysis.ensemble import city_survival, control_probability, differences, fan, fan_frame, summarise
from sim.core.errors import InputError
from sim.ensemble import CANCELLED, FINISHED, EnsembleJob, EnsembleRequest, ensemble_docs, option_kinds

from conftest import MINI


# ------------------------------------------------------------------ aggregation
def test_control_probability_is_the_share_of_runs_attacker_held_and_differences_are_against_the_first():
    held = {"hold": np.array([[2, 0], [1, 2]]), "withdraw": np.array([[2, 1], [0, 2]])}
    maps = {n: control_probability(c, 2) for n, c in held.items()}
    assert np.array_equal(maps["hold"], [[1.0, 0.0], [0.5, 1.0]])
    diff = differences(maps)
    assert list(diff) == ["withdraw"]  # the first option is the reference
    assert np.array_equal(diff["withdraw"], [[0.0, 0.5], [-0.5, 0.0]])  # a plus: the attacker holds it more often


def test_city_survival_is_the_share_of_runs_still_holding_by_day_with_a_band_around_it():
    runs = pd.DataFrame({"replication": [0, 1, 2, 3], "pokrovsk_fall_day": [None, 3, 5, None]})
    s = city_survival(runs, horizon=6)
    assert list(s.days) == [0, 1, 2, 3, 4, 5, 6]
    assert np.allclose(s.share, [1, 1, 1, 0.75, 0.75, 0.5, 0.5])
    assert np.all(s.low <= s.share) and np.all(s.share <= s.high)
    assert 0 <= s.low.min() and s.high.max() <= 1
    assert np.all(city_survival(runs.assign(pokrovsk_fall_day=None), 6).share == 1.0)  # never fell: held throughout


def test_fans_are_quantiles_over_replications_day_by_day_and_ground_lost_counts_from_day_0():
    days = np.tile(np.arange(3), 3)
    reps = np.repeat([0, 1, 2], 3)
    # attacker-held area (DeepState's measure of ground lost): gained by day 2: 20, 30, 5
    area = np.array([100, 110, 120, 100, 100, 130, 100, 105, 105], dtype=float)
    ts = pd.DataFrame({"replication": reps, "day": days, "attacker_area_km2": area,
                       "defender_personnel": np.array([10, 9, 8, 10, 7, 6, 10, 10, 9], dtype=float)})
    wide = fan_frame(ts)
    last = wide[wide["day"] == 2].set_index("replication")["ground_lost_km2"]
    assert last.to_dict() == {0: 20.0, 1: 30.0, 2: 5.0}
    f = fan(wide, "ground_lost_km2", qs=(0.0, 0.5, 1.0))
    assert list(f.days) == [0, 1, 2]
    assert np.allclose(f.quantiles[:, 0], [0, 0, 0])
    assert np.allclose(f.quantiles[:, 2], [5, 20, 30])  # min, median, max on day 2
    g = fan(wide, "defender_personnel", qs=(0.5,))
    assert np.allclose(g.quantiles[0], [10, 9, 8])


def test_summarise_gives_every_option_its_map_survival_and_fans():
    ts = pd.DataFrame({"replication": [0, 0, 1, 1], "day": [0, 1, 0, 1], "attacker_area_km2": [5.0, 6.0, 5.0, 5.0],
                       "defender_personnel": [3.0, 2.0, 3.0, 3.0]})
    runs = pd.DataFrame({"replication": [0, 1], "pokrovsk_fall_day": [1, None]})
    pics = summarise({"a": (runs, ts, np.array([[2, 1]])), "b": (runs, ts, np.array([[0, 0]]))}, {"a": 1, "b": 1})
    assert list(pics) == ["a", "b"]
    assert pics["a"].replications == 2 and np.array_equal(pics["a"].probability, [[1.0, 0.5]])
    assert np.allclose(pics["b"].survival.share, [1.0, 0.5])
    assert set(pics["a"].fans) == {"ground_lost_km2", "defender_personnel"}


# ------------------------------------------------------------------ the job
def test_the_options_come_from_the_registry_and_bad_requests_are_one_line():
    from sim.model.options import OPTIONS

    assert option_kinds() == [str(k) for k in OPTIONS]
    docs = ensemble_docs(EnsembleRequest(str(MINI), ("hold", "reinforce"), 2, 1, days=10))
    assert [d.scenario.name for d in docs] == ["hold", "reinforce"]
    assert [str(d.scenario.option.kind) for d in docs] == ["hold", "reinforce"] and docs[0].scenario.days == 10
    for bad, words in ((dict(options=("hold", "surrender")), "no option 'surrender'"),
                       (dict(options=()), "at least one"), (dict(runs=0), "at least 1"),
                       (dict(posterior="/nonexistent.yaml"), "not found")):
        request = EnsembleRequest(**{**dict(scenario=str(MINI), options=("hold",), runs=2, seed=1), **bad})
        with pytest.raises(InputError, match=words) as info:
            ensemble_docs(request)
        assert "\n" not in str(info.value)


def test_the_job_finishes_and_its_progress_only_grows():
    job = EnsembleJob(EnsembleRequest(str(MINI), ("hold", "withdraw"), 3, 4, days=12, workers=2)).start()
    seen = []
    while not job.wait(0.05):
        seen.append(job.done)
    seen.append(job.done)
    assert job.status == FINISHED, job.error
    assert seen == sorted(seen) and seen[-1] == job.total == 6
    assert job.common() == [0, 1, 2]
    assert set(job.frames()) == {"hold", "withdraw"}


def _forkserver_workers() -> list[int]:
    """The live processes forked by this process's fork server (the pools' workers)."""
    from multiprocessing import forkserver

    from test_app import descendants

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    return descendants(pid) if pid else []


def test_cancel_stops_the_job_early_and_leaves_no_worker_behind():
    before = set(_forkserver_workers())  # another test's pool, if one were still open
    job = EnsembleJob(EnsembleRequest(str(MINI), ("hold", "withdraw"), 60, 2, workers=2)).start()
    deadline = time.time() + 120
    while job.done < 2 and time.time() < deadline and not job.wait(0.05):
        pass
    assert set(_forkserver_workers()) - before, "the replications run on pool workers"
    job.cancel()
    assert job.wait(60), "the job ends after Cancel"
    assert job.status == CANCELLED
    assert 2 <= job.done < job.total
    time.sleep(0.5)
    assert set(_forkserver_workers()) - before == set()


def test_the_ensemble_is_sim_compare_of_the_same_options_and_seed(tmp_path):
    from sim.cli import main

    files = []
    for kind in ("hold", "reinforce"):
        f = tmp_path / f"{kind}.yaml"
        f.write_text(f"extends: {MINI}\nname: {kind}\ndays: 15\noption:\n  kind: {kind}\n")
        files.append(str(f))
    out = tmp_path / "compare"
    assert main(["compare", *files, "--runs", "3", "--seed", "11", "--workers", "1", "--out", str(out)]) == 0
    job = EnsembleJob(EnsembleRequest(str(MINI), ("hold", "reinforce"), 3, 11, days=15, workers=2)).start()
    assert job.wait(120) and job.status == FINISHED, job.error
    frames = job.frames()
    pictures = summarise(frames, job.horizons)
    for kind in ("hold", "reinforce"):
        runs, ts, held = frames[kind]
        for name, mine in (("runs.parquet", runs), ("timeseries.parquet", ts)):
            mine.to_parquet(tmp_path / name, index=False)  # as compare wrote it
            pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / name), pd.read_parquet(out / kind / name))
        control = np.load(out / kind / "control.npz")
        assert np.array_equal(held, control["attacker_held_count"])
        assert np.array_equal(pictures[kind].probability,
                              control["attacker_held_count"] / int(control["replications"]))
