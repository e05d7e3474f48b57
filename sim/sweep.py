"""Sweeps: run an experiment's design on a local pool or a Dask cluster, streaming to Parquet.

* Every run is one (scenario, point, replication); its seed comes from the
  experiment's root seed and the replication index only, so the results are the
  same whatever executor ran them and in whatever order.
* Finished runs are written every ``chunk_runs`` runs to ``parts/part-NNNNN.parquet``
  (written under a temporary name and renamed when whole): memory stays flat and a
  kill, even ``kill -9``, loses at most the runs not yet written.
* ``--resume`` reads the parts already written and runs only what is missing.
* A run that raises is recorded with ``status = "failed"`` and its error; the sweep goes on.
  So is a run that kills its worker process three times (sim/runner.py, ``pooled``); a worker
  killed once (the out-of-memory killer, say) only costs the time of its batches, run again.
* At the end the parts are merged, sorted by scenario, point and replication, into
  ``runs.parquet``; ``design.parquet`` and ``manifest.json`` sit beside it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path
from functools import partial
from collections.abc import Iterator

import pandas as pd

from sim import __version__
from sim.core.errors import InputError
from sim.core.io import write_atomic, write_text_atomic
from sim.experiment import ExperimentDoc, point_overrides
from sim.experiment.samplers import design_apart
from sim.outcomes import day_columns

PARTS = "parts"


# ------------------------------------------------------------------ the work of one chunk
def run_tasks(payload: dict, tasks: list[tuple[int, int, int]]) -> list[dict]:
    """Run (scenario index, point, replication) tasks; never raises for a failing run."""
    from sim.runner import run_one
    from sim.scenario import replace_values

    rows = []
    cache = payload.setdefault("_specs", {})
    for task in tasks:
        s, point, rep = task
        row = task_row(payload, task)
        try:
            key = (s, point)
            if key not in cache:
                cache.clear()
                cache[key] = replace_values(payload["specs"][s], point_overrides(payload["experiment"], payload["points"][point]),
                                            source="sweep")
            replicate = payload.get("replicate") or run_one  # a campaign's own replication (sim/calibrate.py)
            rep_result = replicate(cache[key], payload["theaters"][s], payload["seed"], rep)
            for col in payload["outcomes"]:
                row[col] = rep_result.row.get(col)
        except Exception as exc:  # recorded, the sweep goes on
            row["status"] = "failed"
            row["error"] = f"{type(exc).__name__}: {exc}"[:500]
        rows.append(row)
    return rows


def task_row(payload: dict, task: tuple[int, int, int], error: str = "") -> dict:
    """The row of one run before its outcomes: which run, its seed, the knobs' values, and
    ``status`` ``failed`` with ``error`` when one is given."""
    from sim.core.seeding import replication_seed, seed_int

    s, point, rep = task
    row = {"scenario": payload["names"][s], "point": point, "replication": rep,
           "status": "failed" if error else "ok", "error": error}
    values = payload["points"][point]
    row.update({k: values[k] for k in payload["knobs"]})
    row["seed"] = seed_int(replication_seed(payload["seed"], rep))
    return row


# ------------------------------------------------------------------ executors
class LocalExecutor:
    """A pool of local worker processes (``workers`` 1 runs in this process)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def map_unordered(self, payload: dict, chunks: list[list]) -> Iterator[list[dict]]:
        if self.workers <= 1:
            for chunk in chunks:
                yield run_tasks(payload, chunk)
            return
        from concurrent.futures import ProcessPoolExecutor

        from sim.runner import _pool_context, pooled, worker_setup

        def make_pool(workers: int) -> ProcessPoolExecutor:
            return ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context(),
                                       initializer=worker_setup, initargs=(os.getpid(),))

        def lost(task: tuple[int, int, int], reason: str) -> list[dict]:
            return [task_row(payload, task, reason)]

        yield from pooled(make_pool, partial(run_tasks, payload), chunks, self.workers, lost=lost)


class DaskExecutor:
    """A Dask distributed cluster: ``tcp://HOST:PORT``, or ``local`` to start a LocalCluster."""

    def __init__(self, address: str, workers: int) -> None:
        self.address = address
        self.workers = workers

    def map_unordered(self, payload: dict, chunks: list[list]) -> Iterator[list[dict]]:
        yield from self.map_shared(run_tasks, payload, chunks)

    def map_shared(self, fn, shared, chunks: list[list]) -> Iterator:
        """Yield ``fn(shared, chunk)`` for every chunk as it finishes on the cluster (``shared`` sent once
        to every worker); the cluster a ``local`` address started is closed at the end."""
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
            futures = client.map(fn, [sent] * len(chunks), chunks, pure=False)
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


# ------------------------------------------------------------------ the sweep
def _payload(doc: ExperimentDoc, table: pd.DataFrame) -> dict:
    from sim.theater import theater_of

    exp = doc.experiment
    return {
        "experiment": exp,
        "names": [d.scenario.name for d in doc.scenarios],
        "specs": [d.scenario for d in doc.scenarios],
        "theaters": [theater_of(d) for d in doc.scenarios],
        "points": table.set_index("point").to_dict("index"),
        "knobs": list(exp.parameters),
        "outcomes": list(dict.fromkeys(list(exp.outcomes) + ["encircled", "pokrovsk_fall_day"])),
        "seed": exp.seed,
    }


def all_tasks(doc: ExperimentDoc, table: pd.DataFrame) -> list[tuple[int, int, int]]:
    reps = doc.experiment.replications
    return [(s, int(p), r) for s in range(len(doc.scenarios)) for p in table["point"] for r in range(reps)]


def done_tasks(out: Path, names: list[str]) -> set[tuple[int, int, int]]:
    parts = sorted((out / PARTS).glob("part-*.parquet"))
    done: set[tuple[int, int, int]] = set()
    index = {n: i for i, n in enumerate(names)}
    for p in parts:
        df = pd.read_parquet(p, columns=["scenario", "point", "replication"])
        done.update((index[s], int(pt), int(r)) for s, pt, r in df.itertuples(index=False) if s in index)
    return done


def _write_part(out: Path, seq: int, rows: list[dict]) -> None:
    path = out / PARTS / f"part-{seq:05d}.parquet"
    frame = pd.DataFrame(rows)
    write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))


def merge_parts(out: Path) -> pd.DataFrame:
    parts = sorted((out / PARTS).glob("part-*.parquet"))
    if not parts:
        return pd.DataFrame()
    df = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    df = df.drop_duplicates(subset=["scenario", "point", "replication"], keep="first")
    df = df.sort_values(["scenario", "point", "replication"], kind="mergesort").reset_index(drop=True)
    for col in day_columns(df.columns):
        df[col] = df[col].astype("Int64")
    return df


def _chunks(tasks: list, size: int) -> list[list]:
    return [tasks[i:i + size] for i in range(0, len(tasks), size)]


def sweep(doc: ExperimentDoc, out: Path, *, executor, resume: bool = False, force: bool = False,
          progress: bool = True, replicate=None, table: pd.DataFrame | None = None) -> tuple[pd.DataFrame, str]:
    """Run (or finish) a sweep; returns the merged runs and the status. ``replicate``: a picklable
    ``(spec, theater, root_seed, index) -> object with .row`` run instead of ``runner.run_one``.
    ``table``: the design, when the caller draws it (sim robust adds each world's posterior set);
    by default the experiment's own (``design(exp)``). It must be the same on a ``--resume``."""
    from sim.core.progress import progress_bar

    exp = doc.experiment
    parts_dir = out / PARTS
    if parts_dir.exists() and any(parts_dir.iterdir()) and not (resume or force):
        raise InputError("already holds a sweep; use --resume to finish it or --force to start again", source=str(out))
    (out / "manifest.json").unlink(missing_ok=True)  # written last, when the sweep's files are whole
    if force and not resume:
        (out / "runs.parquet").unlink(missing_ok=True)
        for p in parts_dir.iterdir() if parts_dir.exists() else ():
            p.unlink()
    parts_dir.mkdir(parents=True, exist_ok=True)
    for stale in parts_dir.glob("*.part"):
        stale.unlink()  # a part that was being written when the sweep was killed
    table = design_apart(doc.experiment) if table is None else table
    write_atomic(out / "design.parquet", lambda tmp: table.to_parquet(tmp, index=False))
    names = [d.scenario.name for d in doc.scenarios]
    todo_all = all_tasks(doc, table)
    done = done_tasks(out, names) if resume else set()
    todo = [t for t in todo_all if t not in done]
    seq = len(list(parts_dir.glob("part-*.parquet")))
    payload = _payload(doc, table) | {"replicate": replicate}
    # small chunks keep workers busy and the progress bar moving; parts are written every chunk_runs runs
    chunk = max(1, min(8, len(todo) // 16 or 1))
    started = time.time()
    status = "complete"
    buffer: list[dict] = []
    with progress_bar(len(todo_all), exp.name, enabled=progress) as advance:
        advance(len(todo_all) - len(todo))
        try:
            for rows in executor.map_unordered(payload, _chunks(todo, chunk)):
                buffer.extend(rows)
                advance(len(rows))
                if len(buffer) >= exp.chunk_runs:
                    _write_part(out, seq, buffer)
                    seq += 1
                    buffer = []
        except KeyboardInterrupt:
            status = "interrupted"
        finally:
            if buffer:
                _write_part(out, seq, buffer)
    runs = merge_parts(out)
    if status == "complete" and len(runs) < len(todo_all):
        status = "incomplete"
    write_atomic(out / "runs.parquet", lambda tmp: runs.to_parquet(tmp, index=False))
    manifest = {
        "experiment": exp.name, "file": str(doc.path), "experiment_resolved": exp.model_dump(mode="json"),
        "scenarios": {d.scenario.name: d.digest for d in doc.scenarios}, "root_seed": exp.seed,
        "points": int(len(table)), "replications": exp.replications, "runs": int(len(runs)),
        "runs_failed": int((runs["status"] == "failed").sum()) if len(runs) else 0,
        "status": status, "package_version": __version__,
        "started": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    write_text_atomic(out / "manifest.json", json.dumps(manifest, indent=2))
    return runs, status
