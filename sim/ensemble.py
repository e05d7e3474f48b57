"""The browser view's ensemble: several options x N replications in the background, on a pool evaluator.

The analyst's page (sim/app_ensemble.py) starts an :class:`EnsembleJob` and reads it while it
runs. The job is ``sim compare`` without the files:

* option ``kind`` is the app's scenario with ``option.kind=kind`` and ``name=kind`` set (as the
  single-run view's Option control sets it), plus ``posterior=FILE`` and ``days=D`` when asked;
* replication ``i`` of every option runs ``run_one(spec, theater, seed, i)``, the one
  replication function (sim/experiment/replication.py), with the same seed for every option (common random numbers): the same
  replications as ``sim compare`` of files that set those keys, with ``--runs`` and ``--seed``;
* the work goes through the pool evaluator of every command (sim/experiment/evaluators.py: workers
  from the fork server, retired and replaced, a dead worker's batches run again), one (option,
  replication) a batch,
  replication by replication, so every option's picture fills in at the same pace;
* :meth:`EnsembleJob.frames` gives, at any moment, each option's ``runs`` and ``timeseries``
  frames and attacker-held counts (``results_frames``, as ``sim compare`` writes them) over the
  replications every option has finished.

Cancel stops the pool: the batches not started are cancelled, the few running finish (one
replication each), and the workers exit; nothing is left running but the fork server the
pools share (it ends with the process that started it).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.errors import InputError
from sim.experiment.evaluators import DIED, PoolEvaluator
from sim.experiment.replication import LostReplication, Replication, run_one
from sim.experiment.store import results_frames
from sim.scenario import ScenarioDoc
from sim.theater import load_scenario, theater_of

PENDING, RUNNING, FINISHED, CANCELLED, FAILED = "pending", "running", "finished", "cancelled", "failed"


def option_kinds() -> list[str]:
    """The options the registry knows (sim/model/options), in its order."""
    from sim.model.options import OPTIONS

    return [str(k) for k in OPTIONS]


@dataclass(frozen=True)
class EnsembleRequest:
    """What the analyst asked for: the app's scenario file, the options (kinds), replications
    per option, the root seed, optionally a posterior file and a shorter horizon."""

    scenario: str
    options: tuple[str, ...]
    runs: int
    seed: int
    posterior: str | None = None
    days: int | None = None
    workers: int = 2


def ensemble_docs(request: EnsembleRequest) -> list[ScenarioDoc]:
    """One scenario per option (bad input raises InputError: one line)."""
    known = option_kinds()
    if not request.options:
        raise InputError("choose at least one option", source="ensemble")
    for kind in request.options:
        if kind not in known:
            raise InputError(f"no option {kind!r} (options: {', '.join(known)})", source="ensemble")
    if len(set(request.options)) != len(request.options):
        raise InputError("an option is chosen twice", source="ensemble")
    if int(request.runs) < 1:
        raise InputError(f"replications must be at least 1, not {request.runs}", source="ensemble")
    sets = []
    if request.days is not None:
        sets.append(f"days={int(request.days)}")
    if request.posterior:
        path = Path(request.posterior).expanduser()
        if not path.is_file():
            raise InputError("posterior file not found", source=str(path))
        sets.append(f"posterior={json.dumps(str(path.resolve()))}")
    return [load_scenario(request.scenario, [*sets, f"option.kind={kind}", f"name={kind}"])
            for kind in request.options]


# ------------------------------------------------------------------ in a worker
def _run_items(shared: tuple, items: list[tuple[int, int]]) -> list[tuple[int, Replication]]:
    """(option, replication) items: each replication of that option's scenario, by ``run_one``
    (``shared``: the options' scenarios, their theaters, the root seed)."""
    specs, theaters, root = shared
    return [(k, run_one(specs[k], theaters[k], root, i)) for k, i in items]


# ------------------------------------------------------------------ the job
class EnsembleJob:
    """Runs an ensemble in a background thread; read it with ``done``, ``status`` and ``frames()``."""

    def __init__(self, request: EnsembleRequest, docs: list[ScenarioDoc] | None = None) -> None:
        self.request = request
        self.docs = docs if docs is not None else ensemble_docs(request)
        self.names = [d.scenario.name for d in self.docs]
        self.horizons = {d.scenario.name: int(d.scenario.days) for d in self.docs}
        self.start_date = self.docs[0].scenario.start_date
        self.total = len(self.docs) * int(request.runs)
        self.status = PENDING
        self.error = ""
        self.lost: dict[str, list[LostReplication]] = {n: [] for n in self.names}
        self._reps: dict[str, dict[int, Replication]] = {n: {} for n in self.names}
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------- control
    def start(self) -> EnsembleJob:
        self.status = RUNNING
        self._thread = threading.Thread(target=self._run, name="ensemble", daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Stop after the replications now running; the pool's workers exit."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the job to end; whether it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status not in (PENDING, RUNNING)

    @property
    def done(self) -> int:
        """Replications finished (or given up), all options together: the N of "N of M"."""
        with self._lock:
            return sum(len(r) for r in self._reps.values()) + sum(len(x) for x in self.lost.values())

    def _run(self) -> None:
        from sim.core.seeding import replication_seed, seed_int

        def lost(item: tuple[int, int], reason: str = DIED) -> list[tuple[int, LostReplication]]:
            k, i = item
            return [(k, LostReplication(i, seed_int(replication_seed(self.request.seed, i)), reason))]

        def batches():  # a pool even for one worker: the page's thread stays free, and cancel stops the worker
            shared = ([d.scenario for d in self.docs], [theater_of(d) for d in self.docs], int(self.request.seed))
            items = [[(k, i)] for i in range(int(self.request.runs)) for k in range(len(self.docs))]
            yield from PoolEvaluator(max(1, int(self.request.workers))).map(_run_items, shared, items, lost=lost)

        results = batches()  # runs when read
        status = FINISHED
        try:
            for batch in results:
                with self._lock:
                    for k, rep in batch:
                        if isinstance(rep, LostReplication):
                            self.lost[self.names[k]].append(rep)
                        else:
                            self._reps[self.names[k]][rep.index] = rep
                if self._cancel.is_set():
                    status = CANCELLED
                    break
        except Exception as exc:  # shown on the page; the pool is shut below
            status, self.error = FAILED, f"{type(exc).__name__}: {exc}"
        finally:
            results.close()  # a pool still open is shut: batches not started are cancelled, workers exit
            self.status = status

    # -------------------------------------------------------------- results
    def common(self) -> list[int]:
        """The replications every option has finished (what the figures and ``sim compare`` use)."""
        with self._lock:
            sets = [set(r) for r in self._reps.values()]
        return sorted(set.intersection(*sets)) if sets else []

    def frames(self) -> dict[str, tuple[pd.DataFrame, pd.DataFrame, np.ndarray]]:
        """Each option's (runs, timeseries, attacker-held count per cell) over the common replications,
        as ``sim compare`` writes them (``results_frames``); empty until one replication is common."""
        keep = set(self.common())
        with self._lock:
            chosen = {n: [rep for i, rep in reps.items() if i in keep] for n, reps in self._reps.items()}
        if not keep:
            return {}
        return {n: results_frames(reps) for n, reps in chosen.items()}
