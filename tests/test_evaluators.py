"""One evaluator interface for every command: the same replications in this process, on a pool, on Dask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiment.evaluators import DaskEvaluator, PoolEvaluator, SerialEvaluator, make_evaluator
from sim.experiment.replication import iterate, local_pool
from sim.experiment.store import results_frames
from sim.theater import load_scenario, theater_of

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def short():
    doc = load_scenario(ROOT / "scenarios" / "withdraw_kramatorsk_sloviansk.yaml", ["days=12"])
    return doc.scenario, theater_of(doc)


def _frames(reps):
    return results_frames([r for r in reps])


def test_run_and_compare_give_the_same_files_on_every_evaluator(short):
    """What sim run and sim compare write (runs, time series, control counts) is the same in this process,
    on a pool of two workers, on an open pool and on a Dask LocalCluster; only the order they finish differs."""
    spec, theater = short
    indices = [3, 0, 5, 1, 2]
    serial = _frames(iterate(spec, theater, 7, indices))
    with local_pool(spec, theater, 7, 2) as pool:
        kept_open = _frames(iterate(spec, theater, 7, indices, workers=2, pool=pool))
    others = {"pool": _frames(iterate(spec, theater, 7, indices, workers=2)), "open pool": kept_open,
              "dask": _frames(iterate(spec, theater, 7, indices, workers=2, scheduler="local"))}
    assert list(serial[0]["replication"]) == [0, 1, 2, 3, 5]
    for name, (runs, ts, held) in others.items():
        pd.testing.assert_frame_equal(runs, serial[0], obj=name)
        pd.testing.assert_frame_equal(ts, serial[1], obj=name)
        assert np.array_equal(held, serial[2]), name


def _double(shared: int, batch: list[int]) -> list[int]:
    return [shared * x for x in batch]


@pytest.mark.parametrize("evaluator", [SerialEvaluator(), PoolEvaluator(2)], ids=["serial", "pool"])
def test_an_evaluator_maps_a_function_with_what_every_batch_shares(evaluator):
    batches = [[1, 2], [3], [4, 5, 6]]
    got = sorted(x for out in evaluator.map(_double, 10, batches, lost=lambda item, why: [why]) for x in out)
    assert got == [10, 20, 30, 40, 50, 60]


def test_every_command_chooses_its_evaluator_the_same_way():
    assert isinstance(make_evaluator(1), SerialEvaluator)
    assert isinstance(make_evaluator(2), PoolEvaluator) and make_evaluator(2).workers == 2
    dask = make_evaluator(1, "tcp://127.0.0.1:8786")
    assert isinstance(dask, DaskEvaluator) and dask.address == "tcp://127.0.0.1:8786"
    marker = object()
    assert make_evaluator(1, pool=marker).pool is marker
