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
from sim.theater import load_scenario
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
    if scheduler:
        from sim.sweep import DaskExecutor

        chunk = chunk or max(1, min(8, len(indices) // (max(workers, 1) * 4) or 1))
        chunks = [indices[k:k + chunk] for k in range(0, len(indices), chunk)]
        for reps in DaskExecutor(scheduler, workers).map_shared(_dask_chunk, (spec, theater, root_seed, snapshot_days),
                                                                 chunks):
            yield from reps
        return
    if workers <= 1 and pool is None:
        for i in indices:
            yield run_one(spec, theater, root_seed, i, snapshot_days)
        return
    chunk = chunk or max(1, min(8, len(indices) // (workers * 4) or 1))
    chunks = [indices[k:k + chunk] for k in range(0, len(indices), chunk)]

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


def encirclement_half_widths(reps: dict[str, list[Replication]]) -> dict[str, float]:
    """Half-widths of the 95% intervals of P(encirclement) per option and of its paired differences."""
    from sim.analysis.compare import paired_difference
    from sim.analysis.stats import wilson_interval

    out = {}
    names = list(reps)
    flags = {n: {r.index: float(r.row["encircled"]) for r in reps[n]} for n in names}
    for n in names:
        k, m = int(sum(flags[n].values())), len(flags[n])
        lo, hi = wilson_interval(k, m)
        out[n] = (hi - lo) / 2
    for n in names[1:]:
        common = sorted(set(flags[names[0]]) & set(flags[n]))
        d = paired_difference([flags[names[0]][i] for i in common], [flags[n][i] for i in common])
        out[f"{n} - {names[0]}"] = (d["ci_high"] - d["ci_low"]) / 2 if d["n"] > 1 else float("inf")
    return out


def run_adaptive(docs: list[ScenarioDoc], *, precision: float, cap: int, seed: int, workers: int,
                 batch: int = 50, scheduler: str | None = None) -> tuple[dict[str, list[Replication]], dict[str, list[LostReplication]], str,
                                           dict[str, float]]:
    """Add replications in batches until every 95% interval of P(encirclement) (and, for several
    options, of its paired differences) is at most +/- ``precision`` wide, or ``cap`` is reached."""
    reps: dict[str, list[Replication]] = {d.scenario.name: [] for d in docs}
    lost: dict[str, list[LostReplication]] = {d.scenario.name: [] for d in docs}
    done, widths = 0, {}
    while done < cap:
        size = min(batch, cap - done)
        for d in docs:
            got, gone, status = run_scenario(d, None, runs=size, seed=seed, workers=workers, start=done,
                                             scheduler=scheduler)
            reps[d.scenario.name].extend(got)
            lost[d.scenario.name].extend(gone)
            if status != "complete":
                return reps, lost, "interrupted", encirclement_half_widths(reps)
        done += size
        widths = encirclement_half_widths(reps)
        print(f"{done} replications: widest interval of P(encirclement) +/- {max(widths.values()):.3f} "
              f"(target +/- {precision:.3f})", file=sys.stderr)
        if max(widths.values()) <= precision:
            break
    return reps, lost, "complete", widths


def run_command(args) -> int:
    doc = load_scenario(args.scenario, args.sets)
    out = Path(args.out)
    with out_lock(out):
        check_out_dir(out, args.force)
        return _run_into(out, doc, args)


def _run_into(out: Path, doc: ScenarioDoc, args) -> int:
    from sim.analysis.summary import print_summary
    from sim.plots.run import plot_results

    started = time.time()
    if getattr(args, "precision", None):
        by_name, lost_by_name, status, widths = run_adaptive([doc], precision=args.precision, cap=args.runs,
                                                             seed=args.seed, workers=args.workers,
                                                             scheduler=getattr(args, "scheduler", None))
        reps, lost = by_name[doc.scenario.name], lost_by_name[doc.scenario.name]
        print(f"{len(reps)} replications for P(encirclement) +/- {max(widths.values()):.3f} "
              f"(asked +/- {args.precision}, cap {args.runs})")
    else:
        reps, lost, status = run_scenario(doc, out, runs=args.runs, seed=args.seed, workers=args.workers,
                                          start=getattr(args, "first", 0), scheduler=getattr(args, "scheduler", None))
    if not reps:
        print(failed_line(lost) or "interrupted before any replication finished; nothing written", file=sys.stderr)
        return 1 if lost and status == "complete" else 130
    write_results(out, doc, reps, root_seed=args.seed, requested=args.runs, started=started, status=status,
                  workers=args.workers, lost=lost)
    runs = pd.read_parquet(out / "runs.parquet")
    print_summary(runs, f"{doc.scenario.name}: {len(runs)} replications, seed {args.seed}", int(doc.scenario.days))
    if lost:
        print(failed_line(lost))
    if not getattr(args, "no_plots", False):
        figures = plot_results(out, getattr(args, "map_levels", None))
        print(f"figures and maps: {', '.join(str(p.name) for p in figures)}")
    if getattr(args, "animate", False):
        from sim.model.model import PokrovskModel
        from sim.plots.animate import animate

        model = PokrovskModel(doc.scenario, replication_seed(args.seed, getattr(args, "first", 0)), theater_of(doc))
        for path in animate(model, out / "animation.gif"):
            print(f"animation: {path}")
    print(f"results in {out}/ ({status})")
    return 130 if status == "interrupted" else 0


# ------------------------------------------------------------------ compare
def compare_command(args) -> int:
    """Run every scenario with the same seeds; tables, paired differences, figures and a report."""
    docs = option_docs(args.scenarios, args.sets, getattr(args, "sets_for", []))
    names = [d.scenario.name for d in docs]
    check_compare_names(docs, getattr(args, "baseline", None), getattr(args, "towns", None))
    out = Path(args.out)
    with out_lock(out):
        existing = [n for n in names if (out / n / "runs.parquet").exists()] + (["report.md"] if (out / "report.md").exists() else [])
        if existing and not args.force:
            raise InputError(f"already holds results ({', '.join(existing)}); use --force to overwrite or choose another --out",
                             source=str(out))
        (out / "manifest.json").unlink(missing_ok=True)  # written last, when the comparison is whole
        for name in names:
            clear_results(out / name)
        return _compare_into(out, docs, args)


def option_docs(files: list[str], sets: list[str], sets_for: list[str]) -> list[ScenarioDoc]:
    """Load each option; ``--set-for OPTION:KEY=VALUE`` overrides a value in the option named OPTION only."""
    docs = [load_scenario(s, sets) for s in files]
    names = [d.scenario.name for d in docs]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"two scenarios share the name {dup[0]!r}; each option needs its own name", source="sim compare")
    own: dict[str, list[str]] = {}
    for item in sets_for:
        name, sep, assignment = item.partition(":")
        if not sep or "=" not in assignment:
            raise InputError(f"--set-for {item!r}: expected OPTION:KEY=VALUE (e.g. withdraw:option.withdraw.trigger_day=10)",
                             source="sim compare")
        if name not in names:
            raise InputError(f"--set-for {item!r}: no option named {name!r} (options: {', '.join(names)})",
                             source="sim compare")
        own.setdefault(name, []).append(assignment)
    return [load_scenario(f, sets + own[d.scenario.name]) if d.scenario.name in own else d for f, d in zip(files, docs)]


def check_compare_names(docs: list[ScenarioDoc], baseline: str | None, towns: list[str] | None) -> None:
    """--baseline names an option; --towns name settlements of every option's theater (one line otherwise)."""
    names = [d.scenario.name for d in docs]
    if baseline is not None and baseline not in names:
        raise InputError(f"--baseline {baseline!r} is not an option (options: {', '.join(names)})", source="sim compare")
    for doc in docs:
        known = theater_of(doc).settlement_names
        for town in towns or []:
            if town not in known:
                raise InputError(f"--towns: no settlement {town!r} in {doc.scenario.name}'s theater "
                                 f"(e.g. {', '.join(known[:6])})", source="sim compare")
    if len(docs) < 2:
        raise InputError("needs at least two scenarios to compare (for one, use sim run)", source="sim compare")


@dataclass
class OptionResults:
    """What each option's run left in its folder, as the comparison reads it."""

    runs: dict[str, pd.DataFrame]
    series: dict[str, pd.DataFrame]
    folders: dict[str, Path]
    horizons: dict[str, int]
    lost: dict[str, list[LostReplication]]
    status: str = "complete"


def _run_options(out: Path, docs: list[ScenarioDoc], args, started: float) -> OptionResults:
    """Run (or take from the adaptive run) each option's replications and write its folder."""
    res = OptionResults({}, {}, {}, {}, {})
    adaptive = None
    if getattr(args, "precision", None):
        adaptive, adaptive_lost, st, widths = run_adaptive(docs, precision=args.precision, cap=args.runs,
                                                           seed=args.seed, workers=args.workers, scheduler=getattr(args, "scheduler", None))
        print(f"{len(adaptive[docs[0].scenario.name])} replications per option for +/- {max(widths.values()):.3f} "
              f"on P(encirclement) and its paired differences (asked +/- {args.precision}, cap {args.runs})")
    for doc in docs:
        name = doc.scenario.name
        if adaptive is not None:
            reps, lost = adaptive[name], adaptive_lost[name]
        else:
            reps, lost, st = run_scenario(doc, out / name, runs=args.runs, seed=args.seed, workers=args.workers,
                                          scheduler=getattr(args, "scheduler", None))
        res.lost[name] = lost
        if not reps:
            res.status = "interrupted" if st != "complete" else "failed"
            break
        write_results(out / name, doc, reps, root_seed=args.seed, requested=args.runs, started=started, status=st,
                      workers=args.workers, lost=lost)
        res.runs[name] = pd.read_parquet(out / name / "runs.parquet")
        res.series[name] = pd.read_parquet(out / name / "timeseries.parquet")
        res.folders[name], res.horizons[name] = out / name, int(doc.scenario.days)
        if st != "complete":
            res.status = st
            break
    return res


def _compare_into(out: Path, docs: list[ScenarioDoc], args) -> int:
    started = time.time()
    res = _run_options(out, docs, args, started)
    for name, lost in res.lost.items():
        if lost:
            print(failed_line(lost, name), file=sys.stderr)
    if res.status == "failed":
        print("an option has no replication left; nothing compared", file=sys.stderr)
        return 1
    if not res.runs:
        print("interrupted before any replication finished; nothing written", file=sys.stderr)
        return 130
    # compare only the replications every option finished
    common = set.intersection(*(set(r["replication"]) for r in res.runs.values()))
    results = {k: v[v["replication"].isin(common)].reset_index(drop=True) for k, v in res.runs.items()}
    manifest = {
        "scenarios": [d.scenario.name for d in docs], "root_seed": args.seed, "replications": len(common),
        "replications_requested": args.runs, "baseline": getattr(args, "baseline", None) or docs[0].scenario.name,
        "towns": list(getattr(args, "towns", None) or []), "all_pairs": bool(getattr(args, "all_pairs", False)),
        "start_date": docs[0].scenario.start_date.isoformat(),
        "replications_failed": {name: failed_listing(lost) for name, lost in res.lost.items() if lost},
        "status": res.status, "package_version": __version__,
        "scenario_sha256": {d.scenario.name: d.digest for d in docs},
        "started": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
    }
    write_comparison(out, results, res, manifest, args)
    manifest["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    write_atomic(out / "manifest.json", lambda p: p.write_text(json.dumps(manifest, indent=2)))
    print(f"report: {out / 'report.md'} and {out / 'report.html'} ({res.status})")
    return 130 if res.status == "interrupted" else 0


def redraw_comparison(out: Path, levels=None) -> list[str]:
    """``sim plot`` on a compare folder: its tables, figures, reports and maps again, from the files
    the comparison wrote (the options' folders and the manifest), without running anything."""
    from types import SimpleNamespace

    manifest = json.loads((out / "manifest.json").read_text())
    res = OptionResults({}, {}, {}, {}, {})
    for name in manifest["scenarios"]:
        folder = out / name
        if not (folder / "runs.parquet").exists():
            raise InputError(f"option {name!r} has no results folder here (its run did not finish)", source=str(out))
        res.runs[name], res.series[name] = pd.read_parquet(folder / "runs.parquet"), pd.read_parquet(folder / "timeseries.parquet")
        res.folders[name], res.horizons[name] = folder, int(load_scenario(folder / "scenario.yaml").scenario.days)
    common = set.intersection(*(set(r["replication"]) for r in res.runs.values()))
    results = {k: v[v["replication"].isin(common)].reset_index(drop=True) for k, v in res.runs.items()}
    args = SimpleNamespace(seed=manifest["root_seed"], towns=manifest.get("towns", []),
                           all_pairs=manifest.get("all_pairs", False), map_levels=levels)
    write_comparison(out, results, res, manifest, args)
    return ["report.md", "report.html"]


def write_comparison(out: Path, results: dict[str, pd.DataFrame], res: OptionResults, manifest: dict, args) -> None:
    """The comparison's tables, figures and reports, and each option's own figures."""
    from sim.analysis import compare as cmp
    from sim.analysis.html import compare_html
    from sim.analysis.report import build_report, write_report
    from sim.analysis.summary import print_frame
    from sim.analysis.surprises import surprises
    from sim.outcomes import headline
    from sim.plots.compare import plot_comparison
    from sim.plots.gis import DEFAULT_LEVELS, write_comparison_gis
    from sim.plots.run import plot_results

    horizons, baseline, towns = res.horizons, manifest["baseline"], list(getattr(args, "towns", None) or [])
    table = cmp.option_table(results, horizons, towns)
    diff = cmp.difference_table(results, horizons, baseline, getattr(args, "all_pairs", False), towns)
    best = cmp.probability_best(results, horizons, headline())
    for name, frame in (("options.csv", table), ("differences.csv", diff), ("best.csv", best)):
        write_atomic(out / name, lambda p, f=frame: f.to_csv(p, index=False))
    allruns = pd.concat(results.values(), ignore_index=True)
    write_atomic(out / "runs.parquet", lambda p: allruns.to_parquet(p, index=False))
    start = dt.date.fromisoformat(manifest["start_date"])
    figures = plot_comparison(out, results, res.series, res.folders, horizons, baseline=baseline, start=start,
                              towns=towns)
    for folder in res.folders.values():
        plot_results(folder, getattr(args, "map_levels", None))
    write_comparison_gis(out, res.folders, getattr(args, "map_levels", None) or DEFAULT_LEVELS)
    kinds = {n: str(load_scenario(f / "scenario.yaml").scenario.option.kind) for n, f in res.folders.items()}
    rep = build_report(scenarios=list(results), runs=manifest["replications"], seed=args.seed, horizons=horizons,
                       table=table, diff=diff, best=best, figures=figures, manifest=manifest, baseline=baseline,
                       start=start, towns=towns, surprises=surprises(results, horizons, diff, kinds, baseline, args.seed))
    write_report(out / "report.md", rep)
    compare_html(out, rep, manifest=manifest, folders=res.folders)
    print("\n".join(["Bottom line: " + rep.setting.replace("*", ""), *[b.replace("*", "") for b in rep.bottom_line],
                     *[f"Warning: {w}" for w in rep.warnings]]))
    for heading, _note, frame in rep.tables:
        print_frame(frame, heading)


# ------------------------------------------------------------------ validate-model
def validate_model_command(args) -> int:
    """Regenerate the validation figures and tables of docs/CALIBRATION.md into ``--out``."""
    from sim.analysis import validation as v
    from sim.scenario import BASE_SCENARIO

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = load_scenario(BASE_SCENARIO)
    engel = v.engel_check()
    engel[0].to_csv(out / "lanchester_iwo_jima.csv", index=False)
    success = v.engagement_success(base.scenario, days=args.engagement_days)
    dupuy = v.dupuy_table(base.scenario, days=args.engagement_days)
    success.to_csv(out / "force_ratio_success.csv", index=False)
    dupuy.to_csv(out / "dupuy_institute_vs_model.csv", index=False)
    figures = v.plot_validation(out, engel, success, dupuy, args.engagement_days)

    lines = ["# Validation", "", f"`sim validate-model --out {args.out} --runs {args.runs} --seed {args.seed}`", ""]
    lines += ["## Lanchester square law: Engel's Iwo Jima", "", engel[0].round(1).to_markdown(index=False), ""]
    lines += [f"## Force ratio and success (standard engagement of {args.engagement_days} days)", "",
              dupuy.round(3).to_markdown(index=False), ""]
    checks = []
    for scenario, horizon_record, name in (
            ("hindcast_2025.yaml", [(v.RECORD_FALL_DAY_CLAIM, "Russian claim, 1 Dec 2025"),
                                    (v.RECORD_NORTH_HELD_DAY, "Ukraine holds 45%, 9 Dec 2025")], "hindcast"),
            ("hold_pokrovsk.yaml", [(v.RECORD_NOV_CLAIM_DAY, "Russian claim, 1 Dec 2025"),
                                    (v.RECORD_NOV_HELD45_DAY, "Ukraine holds 45%, 9 Dec 2025")], "november")):
        doc = load_scenario(BASE_SCENARIO.parent / scenario)
        reps, _lost, status = run_scenario(doc, out / name, runs=args.runs, seed=args.seed, workers=args.workers)
        if status != "complete":
            print("interrupted; the validation is incomplete", file=sys.stderr)
            return 130
        write_results(out / name, doc, reps, root_seed=args.seed, requested=args.runs, started=time.time(),
                      status=status, workers=args.workers)
        runs = pd.read_parquet(out / name / "runs.parquet")
        ts = pd.read_parquet(out / name / "timeseries.parquet")
        fall = runs["pokrovsk_fall_day"]
        figures.append(v.plot_fall_days(out, fall, horizon_record, f"fall_day_{name}.png",
                                        f"{doc.scenario.name}: day Pokrovsk falls, {len(runs)} runs, beside the record"))
        q = pd.to_numeric(fall, errors="coerce").dropna()
        for day, label in horizon_record:
            checks.append({"scenario": doc.scenario.name, "record": label, "record_day": day,
                           "model_median_fall_day": float(q.median()) if len(q) else float("nan"),
                           "model_p05": float(q.quantile(0.05)) if len(q) else float("nan"),
                           "model_p95": float(q.quantile(0.95)) if len(q) else float("nan"),
                           "share_of_runs_fallen_before": v.percentile_of(day, fall)})
        if name == "hindcast":
            month = ts[ts["day"] == 30].set_index("replication")["attacker_casualties"]
            checks.append({"scenario": doc.scenario.name, "record": "attacker casualties, first 30 days (Jan 2025)",
                           "record_day": v.RECORD_JAN_2025_ATTACKER_CASUALTIES,
                           "model_median_fall_day": float(month.median()), "model_p05": float(month.quantile(0.05)),
                           "model_p95": float(month.quantile(0.95)),
                           "share_of_runs_fallen_before": float((month < v.RECORD_JAN_2025_ATTACKER_CASUALTIES).mean())})
    record = pd.DataFrame(checks).rename(columns={"record_day": "record_value", "model_median_fall_day": "model_median",
                                                  "share_of_runs_fallen_before": "share_of_runs_below_record"})
    record.to_csv(out / "record_vs_model.csv", index=False)
    lines += ["## The record beside the model", "", record.round(3).to_markdown(index=False), "",
              "## Figures", "", *[f"![{p.name}]({p.name})" for p in figures], ""]
    (out / "validation.md").write_text("\n".join(lines))
    print(record.round(2).to_string(index=False))
    print(f"validation in {out}/validation.md")
    return 0
