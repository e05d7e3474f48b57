"""The one replication function, and the replications of one scenario on an evaluator.

Seeds: replication ``i`` runs with ``replication_seed(root, i)``, whatever worker runs it and in
whatever order, so that the results (sorted by replication when written, sim/experiment/store.py)
are identical for any evaluator and any number of workers. ``run_one`` is what every command
runs: ``sim run`` and ``sim compare`` (through ``iterate``), the sweep, robust and calibration
(sim/experiment/sweep.py), the record bench and the app's ensemble.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.core.seeding import replication_seed, seed_int
from sim.experiment.evaluators import SerialEvaluator, injected_fault, make_evaluator, shared_pool
from sim.scenario import Scenario, ScenarioDoc
from sim.theater import theater_of
from sim.theater.grid import ATTACKER
from sim.theater.spec import Theater


@dataclass
class Replication:
    """Everything one replication leaves behind."""

    index: int
    row: dict
    timeseries: dict
    attacker_held: np.ndarray  # bool grid on the last day
    snapshots: dict = field(default_factory=dict)  # day -> attacker-held bool grid, on the days asked for


def run_one(spec: Scenario, theater: Theater, root_seed: int, index: int, snapshot_days=()) -> Replication:
    """Run replication ``index`` of a scenario to its last day, keeping the attacker-held cells on
    ``snapshot_days`` (the record bench and the calibration score the front on those days)."""
    from sim.model.model import PokrovskModel

    injected_fault(index)
    seq = replication_seed(root_seed, index)
    theater = theater.with_band(spec.front)  # a sweep's point may set front.contested_band_km
    model = PokrovskModel(spec, seq, theater)
    if snapshot_days:
        model.recorder.request_snapshots(snapshot_days, model)
    model.run()
    row = {"scenario": spec.name, "replication": index, "seed": seed_int(seq)}
    row.update(model.recorder.outcome_row(model))
    for path, value in model.sampled.items():
        row[path] = value
    ts = model.recorder.timeseries(model)
    ts["replication"] = np.full(len(ts["day"]), index, dtype=np.int32)
    return Replication(index, row, ts, model.control == ATTACKER, dict(model.recorder.snapshots))


@dataclass
class LostReplication:
    """A replication given up: its worker process died ``TRIES`` times running it."""

    index: int
    seed: int
    reason: str


def run_batch(shared: tuple, indices: list[int]) -> list[Replication]:
    """A batch of replications, on any evaluator (``shared``: spec, theater, root seed, snapshot days)."""
    spec, theater, root_seed, snapshot_days = shared
    return [run_one(spec, theater, root_seed, i, snapshot_days) for i in indices]


def local_pool(spec: Scenario, theater: Theater, root_seed: int, workers: int, snapshot_days=()) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes ready to run replications of ``spec`` (``iterate``'s ``pool``)."""
    return shared_pool((spec, theater, root_seed, tuple(snapshot_days)), workers)


def iterate(spec: Scenario, theater: Theater, root_seed: int, indices: list[int], workers: int = 1,
            chunk: int | None = None, pool: ProcessPoolExecutor | None = None, snapshot_days=(),
            scheduler: str | None = None):
    """Yield replications as they finish (any order), on ``workers`` processes: a ``Replication``,
    or a ``LostReplication`` for one that kept killing its worker (sim/experiment/evaluators.py).

    ``pool``: an open ``local_pool`` of the same scenario, root seed and snapshot days to use (and
    leave open), so that a caller running several batches starts its workers once.
    ``scheduler``: a Dask cluster (``tcp://HOST:PORT``, or ``local`` for a LocalCluster of
    ``workers`` processes) instead of the local pool; the same seeds, so the same results.
    """
    evaluator = make_evaluator(workers, scheduler, pool)
    if isinstance(evaluator, SerialEvaluator):
        chunk = 1  # one at a time: the caller's progress bar moves with each replication
    chunk = chunk or max(1, min(8, len(indices) // (max(workers, 1) * 4) or 1))
    chunks = [indices[k:k + chunk] for k in range(0, len(indices), chunk)]

    def lost(index: int, reason: str) -> list[LostReplication]:
        return [LostReplication(index, seed_int(replication_seed(root_seed, index)), reason)]

    for reps in evaluator.map(run_batch, (spec, theater, root_seed, tuple(snapshot_days)), chunks, lost=lost):
        yield from reps


def run_scenario(doc: ScenarioDoc, out: Path | None, *, runs: int, seed: int, workers: int, progress=True,
                 start: int = 0, scheduler: str | None = None) -> tuple[list[Replication], list[LostReplication], str]:
    """Run replications ``start .. start + runs - 1`` with a progress bar; Ctrl-C keeps what finished.
    Returns the replications that finished, those given up (see ``pooled``) and the status."""
    from sim.core.progress import progress_bar

    theater = theater_of(doc)
    reps: list[Replication] = []
    lost: list[LostReplication] = []
    status = "complete"
    with progress_bar(runs, f"{doc.scenario.name}", enabled=progress) as advance:
        try:
            for rep in iterate(doc.scenario, theater, seed, list(range(start, start + runs)), workers,
                               scheduler=scheduler):
                (lost if isinstance(rep, LostReplication) else reps).append(rep)
                advance()
        except KeyboardInterrupt:
            status = "interrupted"
    return reps, lost, status
