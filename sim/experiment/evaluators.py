"""Evaluators: where the work of run, compare, sweep, robust, calibrate and the app's ensemble runs.

One interface, three places. ``evaluator.map(fn, shared, batches, lost=...)`` yields
``fn(shared, batch)`` for every batch as it finishes (in any order), where ``shared`` is
what every batch needs (scenarios, theaters, the root seed) and a batch a list of items:

``SerialEvaluator``  in this process, batch after batch
``PoolEvaluator``    on local worker processes started from a fork server that has imported the
                     model; ``shared`` is sent once a worker; a worker that dies costs only the
                     time of its batches (``pooled``)
``DaskEvaluator``    on a Dask cluster (``tcp://HOST:PORT``, or ``local`` for a LocalCluster);
                     ``shared`` is scattered once to every worker

``make_evaluator(workers, scheduler)`` chooses as every command does: a scheduler means Dask,
more than one worker a pool, else this process. Seeds depend on the items only, never on where
or in which order they ran, so every evaluator gives the same results.

Faults: a pool worker that dies (the kernel's out-of-memory killer, ``kill -9``) breaks its
pool; its unfinished batches run again on fresh workers, those it had started item by item,
and an item that kills ``TRIES`` workers is given up: ``lost(item, reason)`` (a list, like
``fn``'s) is yielded in its place. This module knows nothing of the model.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sim.core.errors import InputError


# ------------------------------------------------------------------ worker processes
_WORKER: dict = {}  # in a worker process: the fault hook and what the pool's initializer gave it

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



def _pool_context():
    """Workers start from a fork server that has imported the model once (no fork of a threaded parent)."""
    import multiprocessing as mp

    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["sim.model.preload"])
    return ctx


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


def _init_shared(parent: int, shared) -> None:
    worker_setup(parent)
    _WORKER["shared"] = shared


def _on_shared(fn, batch: list):
    """In a worker: ``fn`` on the batch with what the worker was given when it started."""
    return fn(_WORKER["shared"], batch)


def shared_pool(shared, workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes from the fork server, each holding ``shared`` (sent once a worker)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context(), initializer=_init_shared,
                               initargs=(os.getpid(), shared))


# ------------------------------------------------------------------ the evaluators
class SerialEvaluator:
    """In this process, batch after batch (``lost`` is never called: nothing can die apart)."""

    workers = 1
    name = "this process"

    def map(self, fn, shared, batches: list[list], *, lost=None) -> Iterator:
        for batch in batches:
            yield fn(shared, batch)


class PoolEvaluator:
    """A pool of ``workers`` local processes, renewed every ``BATCHES_PER_WORKER`` batches a worker;
    or, when ``pool`` is given (an open ``shared_pool`` holding the same ``shared``), that pool, left open."""

    def __init__(self, workers: int, pool: ProcessPoolExecutor | None = None) -> None:
        self.workers = workers
        self.pool = pool
        self.name = f"a pool of {workers} local worker processes"

    def map(self, fn, shared, batches: list[list], *, lost) -> Iterator:
        yield from pooled(lambda n: shared_pool(shared, n), partial(_on_shared, fn), batches, self.workers, self.pool,
                          lost=lost)


class DaskEvaluator:
    """A Dask distributed cluster: ``tcp://HOST:PORT``, or ``local`` to start a LocalCluster of ``workers``."""

    def __init__(self, address: str, workers: int) -> None:
        self.address = address
        self.workers = workers
        self.name = (f"a Dask LocalCluster of {max(1, workers)} processes" if address == "local"
                     else f"the Dask scheduler at {address}")

    def map(self, fn, shared, batches: list[list], *, lost=None) -> Iterator:
        """``shared`` is sent once to every worker; the cluster a ``local`` address started is closed at the end."""
        try:
            from distributed import Client, LocalCluster, as_completed
        except ImportError:  # pragma: no cover - distributed is a dependency
            raise InputError("the Dask scheduler needs the 'distributed' package", source="--scheduler") from None
        cluster = None
        if self.address == "local":
            cluster = LocalCluster(n_workers=max(1, self.workers), threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        else:
            try:
                client = Client(self.address, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise InputError(f"cannot reach the Dask scheduler: {exc}", source="--scheduler") from None
        try:
            sent = client.scatter(shared, broadcast=True)
            futures = client.map(fn, [sent] * len(batches), batches, pure=False)
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def make_evaluator(workers: int, scheduler: str | None = None, pool: ProcessPoolExecutor | None = None):
    """The evaluator a command's options ask for: ``scheduler`` (``--scheduler``) a Dask cluster; more than
    one worker (or an open ``pool``) local processes; else this process. Each says where it runs in its
    ``name`` (a manifest records it); none starts anything before its first ``map``."""
    if scheduler:
        return DaskEvaluator(scheduler, workers)
    if workers > 1 or pool is not None:
        return PoolEvaluator(workers, pool)
    return SerialEvaluator()
