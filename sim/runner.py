"""Replications, seeds, executors and the result files.

The one result writer of the project: ``runs.parquet`` (one row per
replication), ``timeseries.parquet`` (one row per replication and day),
``control.npz`` (per cell, how many replications ended attacker-held, for the
probability map) and ``manifest.json``.

Seeds: replication ``i`` runs with ``replication_seed(root, i)``, whatever
worker runs it and in whatever order; results are sorted by replication before
they are written, so the files are identical for any number of workers.

Files are written to ``NAME.part`` and renamed into place: a file that exists
under its final name is whole. An interrupted run (Ctrl-C) writes what had
finished and says so in the manifest (``"status": "interrupted"``).

Faults: a pool worker that dies (the kernel's out-of-memory killer, ``kill -9``)
costs nothing: its unfinished batches run again on fresh workers, and the files
are the same as an uninterrupted run's. A replication that kills its worker
``TRIES`` times is given up, listed in the manifest (``replications_failed``)
and on the console, and the rest finish (``pooled``). A command holds its
``--out`` folder with a lock (``out_lock``); a second command given the same
folder is refused in one line. The manifest is written last and the files of an
earlier run are removed first, so a write that fails (a full disk) never leaves
a manifest vouching for what is there.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim import __version__
from sim.core.errors import InputError
from sim.core.io import write_atomic
from sim.outcomes import RECORDED, day_columns
from sim.scenario import Scenario, ScenarioDoc
from sim.core.seeding import replication_seed, seed_int
from sim.theater import theater_of
from sim.theater.grid import ATTACKER
from sim.theater.spec import Theater

RESULT_FILES = ("runs.parquet", "timeseries.parquet", "control.npz", "manifest.json", "scenario.yaml")


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


# ------------------------------------------------------------------ executors
_WORKER: dict = {}

# Test hook, never set outside the tests: SIM_FAULT_KILL_REPLICATION=i makes a pool worker kill
# itself with SIGKILL (as the kernel's out-of-memory killer would) each time it starts replication i.
FAULT_ENV = "SIM_FAULT_KILL_REPLICATION"


def worker_setup(parent: int) -> None:
    """In a worker process: leave Ctrl-C to the parent (it keeps what finished), and end
    when the parent is gone (killed with -9, say) instead of running on as an orphan."""
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER["kill"] = os.environ.get(FAULT_ENV, "")

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def injected_fault(index: int) -> None:
    """The test hook of ``FAULT_ENV``: only in a pool worker, only for the chosen replication."""
    if _WORKER.get("kill") == str(index):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def _init_worker(spec: Scenario, theater: Theater, root_seed: int, parent: int, snapshot_days=()) -> None:
    worker_setup(parent)
    _WORKER.update(spec=spec, theater=theater, root=root_seed, days=snapshot_days)


def _run_chunk(indices: list[int]) -> list[Replication]:
    w = _WORKER
    return [run_one(w["spec"], w["theater"], w["root"], i, w["days"]) for i in indices]


def _pool_context():
    """Workers start from a fork server that has imported the model once (no fork of a threaded parent)."""
    import multiprocessing as mp

    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["sim.model.preload"])
    return ctx


def local_pool(spec: Scenario, theater: Theater, root_seed: int, workers: int, snapshot_days=()) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes ready to run replications of ``spec`` (see ``iterate``)."""
    return ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, mp_context=_pool_context(),
                               initargs=(spec, theater, root_seed, os.getpid(), tuple(snapshot_days)))


# A pool's workers are replaced by fresh ones from the fork server after this many batches
# each. A long-lived worker's memory creeps up by some 25-50 KB a replication (measured over
# thousands of runs; not so in one process, and not Python objects: tracemalloc sees none
# of it), which a 10,000-run sweep would turn into hundreds of MB. Fresh workers cost
# about 0.2 s a pool (fork, first theater grid) and the wait for a pool's last batch.
BATCHES_PER_WORKER = 25

# A replication whose worker process dies this many times while running it (killed by the
# kernel's out-of-memory killer, say) is given up and recorded as failed; the rest finish.
TRIES = 3
DIED = f"its worker process died {TRIES} times while running it (killed by a signal, e.g. the out-of-memory killer)"


@dataclass
class _Work:
    """A batch on its way through the pools: ``deaths`` counts the workers that died running it."""

    key: str
    batch: list
    deaths: int = 0


class _Started:
    """Marker files that tell, after a pool broke, which batches its workers had started."""

    def __init__(self) -> None:
        import tempfile

        self.folder = Path(tempfile.mkdtemp(prefix="sim-started-"))

    def marker(self, work: _Work) -> str:
        return str(self.folder / work.key)

    def took(self, work: _Work) -> bool:
        """Whether a worker had started ``work`` and not finished it (the marker is then cleared)."""
        path = self.folder / work.key
        started = path.exists()
        path.unlink(missing_ok=True)
        return started

    def close(self) -> None:
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)


def _attempt(fn, marker: str, batch: list):
    """In a worker: ``fn(batch)``, with a marker file on disk while it runs (best effort: with no
    room for it, a death cannot be pinned on the batch and counts as a stall)."""
    with suppress(OSError):
        Path(marker).write_text(str(os.getpid()))
    try:
        return fn(batch)
    finally:
        Path(marker).unlink(missing_ok=True)


def _round(pool: ProcessPoolExecutor, fn, works: list[_Work], started: _Started, own: bool):
    """Yield ``fn(batch)`` of every work as it finishes on ``pool``; return, in order, the works
    that a broken pool (a worker died) left unfinished."""
    from concurrent.futures.process import BrokenProcessPool

    futures: dict = {}
    broken: set = set()
    unsent: list[_Work] = []
    try:
        try:
            for work in works:
                futures[pool.submit(_attempt, fn, started.marker(work), work.batch)] = work
        except BrokenProcessPool:
            unsent = works[len(futures):]
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                if isinstance(fut.exception(), BrokenProcessPool):
                    broken.add(fut)
                else:
                    yield fut.result()
    finally:
        if own or broken or unsent:
            pool.shutdown(wait=True, cancel_futures=True)
        else:
            for fut in futures:
                fut.cancel()
    return [work for fut, work in futures.items() if fut in broken] + unsent


class _Stalls:
    """Counts broken pools in a row in which no worker had started any work (a worker that
    cannot start at all, say): after ``TRIES`` the command stops instead of trying for ever."""

    def __init__(self) -> None:
        self.count = 0

    def after_break(self, any_started: bool) -> None:
        self.count = 0 if any_started else self.count + 1
        if self.count >= TRIES:
            raise RuntimeError(f"worker processes died {TRIES} times before starting any work (out of memory?)")


def _shared_rounds(make_pool, fn, works: list[_Work], workers: int, pool, started: _Started):
    """Run the works on pools of ``workers``; return those that were running when a worker died."""
    from collections import deque

    queue, suspects, stalls = deque(works), [], _Stalls()
    while queue:
        own = pool is None
        size = max(1, workers * BATCHES_PER_WORKER if own else len(queue))
        batch_round = [queue.popleft() for _ in range(min(size, len(queue)))]
        unfinished = yield from _round(make_pool(workers) if own else pool, fn, batch_round, started, own)
        if not unfinished:
            continue
        pool = None  # a broken pool is not used again
        print(f"a worker process died (killed?); its pool's {len(unfinished)} unfinished batches run again "
              "on fresh workers", file=sys.stderr)
        took = [started.took(work) for work in unfinished]
        stalls.after_break(any(took))
        for work, was_running in zip(reversed(unfinished), reversed(took)):
            if was_running:
                work.deaths += 1
                suspects.append(work)
            else:
                queue.appendleft(work)
    return suspects


def _one_by_one(make_pool, fn, suspects: list[_Work], started: _Started, lost):
    """Run each item of the suspect batches alone on a one-worker pool, so that a worker that dies
    was running that item; an item that kills ``TRIES`` workers is given up: ``lost(item, reason)``."""
    works = [_Work(f"{w.key}.{i}", [item], w.deaths) for w in suspects for i, item in enumerate(w.batch)]
    stalls = _Stalls()
    while works:
        unfinished = yield from _round(make_pool(1), fn, works, started, own=True)
        works = []
        took = [started.took(work) for work in unfinished]
        if unfinished:
            stalls.after_break(any(took))
        for work, was_running in zip(unfinished, took):
            work.deaths += was_running
            if work.deaths >= TRIES:
                yield lost(work.batch[0], DIED)
            else:
                works.append(work)


def pooled(make_pool, fn, batches: list[list], workers: int, pool: ProcessPoolExecutor | None = None, *, lost):
    """Yield ``fn(batch)`` for every batch as it finishes (any order) on pools of ``workers``
    processes from ``make_pool(workers)``, each pool retired after ``BATCHES_PER_WORKER`` batches
    a worker; or all on ``pool`` (left open) when one is given.

    A worker that dies mid-batch (the kernel's out-of-memory killer, a ``kill -9``) breaks its
    pool: the batches that had not come back run again on a fresh pool, the ones the dead pool
    had started item by item, each alone on a one-worker pool, so that a worker that dies names
    its item. An item that kills ``TRIES`` workers is given up, and ``lost(item, reason)`` (a
    list, like ``fn``'s) is yielded in place of its result. Nothing is lost or run twice.
    """
    started = _Started()
    try:
        works = [_Work(str(k), b) for k, b in enumerate(batches)]
        suspects = yield from _shared_rounds(make_pool, fn, works, workers, pool, started)
        yield from _one_by_one(make_pool, fn, suspects, started, lost)
    finally:
        started.close()


@dataclass
class LostReplication:
    """A replication given up: its worker process died ``TRIES`` times running it."""

    index: int
    seed: int
    reason: str


def _dask_chunk(shared: tuple, indices: list[int]) -> list[Replication]:
    """A batch of replications on a Dask worker (``shared``: spec, theater, root seed, snapshot days)."""
    spec, theater, root_seed, snapshot_days = shared
    return [run_one(spec, theater, root_seed, i, snapshot_days) for i in indices]


def iterate(spec: Scenario, theater: Theater, root_seed: int, indices: list[int], workers: int = 1,
            chunk: int | None = None, pool: ProcessPoolExecutor | None = None, snapshot_days=(),
            scheduler: str | None = None):
    """Yield replications as they finish (any order), on ``workers`` processes: a ``Replication``,
    or a ``LostReplication`` for one that kept killing its worker (see ``pooled``).

    ``pool``: an open ``local_pool`` of the same scenario and root seed to use (and leave
    open), so that a caller running several batches starts its workers once.
    ``scheduler``: a Dask cluster (``tcp://HOST:PORT``, or ``local`` for a LocalCluster of
    ``workers`` processes) instead of the local pool; the same seeds, so the same results.
    """
    if workers <= 1 and pool is None and not scheduler:
        for i in indices:
            yield run_one(spec, theater, root_seed, i, snapshot_days)
        return
    chunk = chunk or max(1, min(8, len(indices) // (max(workers, 1) * 4) or 1))
    chunks = [indices[k:k + chunk] for k in range(0, len(indices), chunk)]
    if scheduler:
        from sim.sweep import DaskExecutor

        for reps in DaskExecutor(scheduler, workers).map_shared(_dask_chunk, (spec, theater, root_seed, snapshot_days),
                                                                 chunks):
            yield from reps
        return

    def lost(index: int, reason: str) -> list[LostReplication]:
        return [LostReplication(index, seed_int(replication_seed(root_seed, index)), reason)]

    for reps in pooled(lambda n: local_pool(spec, theater, root_seed, n, snapshot_days), _run_chunk, chunks, workers, pool,
                       lost=lost):
        yield from reps


# ------------------------------------------------------------------ writing
def results_frames(reps: list[Replication]) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    reps = sorted(reps, key=lambda r: r.index)
    runs = pd.DataFrame([r.row for r in reps])
    lead = ["scenario", "replication", "seed", *RECORDED]
    rest = [c for c in runs.columns if c not in lead]
    runs = runs[[c for c in lead if c in runs.columns] + sorted(rest)]
    for col in day_columns(runs.columns):
        runs[col] = runs[col].astype("Int64")
    ts = pd.DataFrame({k: np.concatenate([r.timeseries[k] for r in reps]) for k in reps[0].timeseries}) if reps else pd.DataFrame()
    if not ts.empty:
        ts = ts[["replication", "day"] + [c for c in ts.columns if c not in ("replication", "day")]]
        ts["weather"] = ts["weather"].astype(str)
    held = np.sum([r.attacker_held for r in reps], axis=0).astype(np.int32) if reps else np.zeros((0, 0), np.int32)
    return runs, ts, held


def write_results(out: Path, doc: ScenarioDoc, reps: list[Replication], *, root_seed: int, requested: int,
                  started: float, status: str, workers: int, lost: list[LostReplication] = ()) -> dict:
    """Write the result files, the manifest last: a folder whose manifest is there is whole (a write
    that fails, on a full disk say, leaves no manifest and none of the files of an earlier run)."""
    clear_results(out)
    runs, ts, held = results_frames(reps)
    write_atomic(out / "runs.parquet", lambda p: runs.to_parquet(p, index=False))
    write_atomic(out / "timeseries.parquet", lambda p: ts.to_parquet(p, index=False))
    write_atomic(out / "control.npz", lambda p: np.savez_compressed(
        open(p, "wb"), attacker_held_count=held, replications=np.int32(len(reps)),
        initial_control=doc_initial_control(doc)))
    write_atomic(out / "scenario.yaml", lambda p: p.write_text(standalone_yaml(doc)))
    manifest = {
        "scenario": doc.scenario.name,
        "start_date": doc.scenario.start_date.isoformat(),
        "files": doc.files,
        "scenario_resolved": doc.resolved_yaml,
        "scenario_sha256": doc.digest,
        "root_seed": root_seed,
        "replications": len(reps),
        "replications_requested": requested,
        "replications_failed": failed_listing(lost),
        "status": status,
        "workers": workers,
        "package_version": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "started": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    write_atomic(out / "manifest.json", lambda p: p.write_text(json.dumps(manifest, indent=2)))
    return manifest


def clear_results(out: Path) -> None:
    """Remove the result files of an earlier run from ``out`` (made if missing), so that a run
    that fails half-way never leaves a mix of two runs, nor a manifest vouching for one."""
    out.mkdir(parents=True, exist_ok=True)
    for name in RESULT_FILES:
        (out / name).unlink(missing_ok=True)


def failed_listing(lost: list[LostReplication]) -> list[dict]:
    """The replications given up, for a manifest: index, seed and why."""
    return [{"replication": x.index, "seed": x.seed, "reason": x.reason} for x in sorted(lost, key=lambda x: x.index)]


def failed_line(lost: list[LostReplication], name: str = "") -> str:
    """One line for the console naming the replications given up ("" when none were)."""
    if not lost:
        return ""
    indices = ", ".join(str(x.index) for x in sorted(lost, key=lambda x: x.index))
    return f"{name + ': ' if name else ''}{len(lost)} replication(s) failed and left out, as {lost[0].reason}: {indices}"


def standalone_yaml(doc: ScenarioDoc) -> str:
    """The resolved scenario as one file that loads from anywhere (theater path made absolute)."""
    import yaml

    from sim.theater.spec import DATA_DIR, resolve_theater_path

    raw = yaml.safe_load(doc.resolved_yaml)
    src = doc.locations.get(("theater",), (doc.files[-1], None))[0]
    base = Path(doc.files[-1]).parent if src.startswith("--set") else Path(src).parent
    path = resolve_theater_path(doc.scenario.theater, base)
    if path.parent != DATA_DIR:
        raw["theater"] = str(path.resolve())
    return yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)


def doc_initial_control(doc: ScenarioDoc) -> np.ndarray:
    from sim.theater import build_grid

    grid = build_grid(theater_of(doc), doc.scenario.grid.cell_km)
    return grid.initial_control(doc.scenario.start_date)[1]


LOCK_FILE = ".sim.lock"


@contextmanager
def out_lock(out: Path):
    """Hold the results folder ``out`` while a command writes into it: a second command given the
    same folder is refused in one line. The lock (flock) is released by the kernel when the process
    ends, even by ``kill -9``; the empty lock file stays."""
    import fcntl

    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", source=str(out))
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(out / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise InputError(f"cannot write here: {error.strerror or error}", source=str(out)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 20, 0).decode(errors="replace").strip() or "unknown"
            raise InputError(f"is in use by another sim command (process {holder}); wait for it to end or choose "
                             "another --out", source=str(out)) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        except OSError as error:
            raise InputError(f"cannot write here: {error.strerror or error}", source=str(out)) from None
        yield out
    finally:
        os.close(fd)


def check_out_dir(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", source=str(out))
    existing = [f for f in RESULT_FILES if (out / f).exists()]
    if existing and not force:
        raise InputError(f"already holds results ({', '.join(existing)}); use --force to overwrite or choose another --out",
                         source=str(out))


# ------------------------------------------------------------------ the command
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
