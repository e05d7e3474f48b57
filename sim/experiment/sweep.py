"""Sweeps: run an experiment's design on an evaluator, streaming to the results store.

* Every run is one (scenario, point, replication); its seed comes from the
  experiment's root seed and the replication index only, so the results are the
  same whatever evaluator ran them and in whatever order.
* Finished runs are written every ``chunk_runs`` runs to ``parts/part-NNNNN.parquet``
  (written under a temporary name and renamed when whole): memory stays flat and a
  kill, even ``kill -9``, loses at most the runs not yet written.
* ``--resume`` reads the parts already written and runs only what is missing.
* A run that raises is recorded with ``status = "failed"`` and its error; the sweep goes on.
  So is a run that kills its worker process three times (sim/experiment/evaluators.py); a worker
  killed once (the out-of-memory killer, say) only costs the time of its batches, run again.
* At the end the parts are merged, sorted by scenario, point and replication, into
  ``runs.parquet``; ``design.parquet`` and ``manifest.json`` (the results store's, written last)
  sit beside it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from sim.core.io import write_atomic
from sim.experiment.parameters import ExperimentDoc
from sim.experiment.samplers import design_apart, point_overrides
from sim.experiment.store import (PARTS, SWEEP, done_tasks, merge_parts, new_manifest, open_parts, write_manifest,
                                  write_part)


# ------------------------------------------------------------------ the work of one chunk
def run_tasks(payload: dict, tasks: list[tuple[int, int, int]]) -> list[dict]:
    """Run (scenario index, point, replication) tasks; never raises for a failing run."""
    from sim.experiment.replication import run_one
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


def horizons(doc: ExperimentDoc) -> dict[str, int]:
    """Each scenario's horizon in days: the experiment's ``fixed: {days: N}``, else the scenario's own (a point
    that sweeps ``days`` has its own, read from its runs)."""
    fixed = doc.experiment.fixed.get("days")
    return {d.scenario.name: int(fixed) if isinstance(fixed, int | float) else int(d.scenario.days)
            for d in doc.scenarios}


def all_tasks(doc: ExperimentDoc, table: pd.DataFrame) -> list[tuple[int, int, int]]:
    reps = doc.experiment.replications
    return [(s, int(p), r) for s in range(len(doc.scenarios)) for p in table["point"] for r in range(reps)]


def _chunks(tasks: list, size: int) -> list[list]:
    return [tasks[i:i + size] for i in range(0, len(tasks), size)]


def sweep(doc: ExperimentDoc, out: Path, *, evaluator, resume: bool = False, force: bool = False,
          progress: bool = True, replicate=None, table: pd.DataFrame | None = None,
          kind: str = SWEEP) -> tuple[pd.DataFrame, str]:
    """Run (or finish) a sweep on ``evaluator`` (sim/experiment/evaluators.py); returns the merged runs
    and the status. ``replicate``: a picklable ``(spec, theater, root_seed, index) -> object with .row``
    run instead of ``run_one``. ``kind``: what the manifest says the folder holds (``robust``: the worlds
    of ``sim robust``).
    ``table``: the design, when the caller draws it (sim robust adds each world's posterior set);
    by default the experiment's own (``design(exp)``). It must be the same on a ``--resume``."""
    from sim.core.progress import progress_bar

    exp = doc.experiment
    parts_dir = out / PARTS
    open_parts(out, resume=resume, force=force)
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
            for rows in evaluator.map(run_tasks, payload, _chunks(todo, chunk),
                                      lost=lambda task, reason: [task_row(payload, task, reason)]):
                buffer.extend(rows)
                advance(len(rows))
                if len(buffer) >= exp.chunk_runs:
                    write_part(out, seq, buffer)
                    seq += 1
                    buffer = []
        except KeyboardInterrupt:
            status = "interrupted"
        finally:
            if buffer:
                write_part(out, seq, buffer)
    runs = merge_parts(out)
    if status == "complete" and len(runs) < len(todo_all):
        status = "incomplete"
    write_atomic(out / "runs.parquet", lambda tmp: runs.to_parquet(tmp, index=False))
    write_manifest(out, new_manifest(
        kind, started, experiment=exp.name, file=str(doc.path), experiment_resolved=exp.model_dump(mode="json"),
        scenarios={d.scenario.name: d.digest for d in doc.scenarios}, root_seed=exp.seed, points=int(len(table)),
        replications=exp.replications, horizons=horizons(doc), runs=int(len(runs)),
        runs_failed=int((runs["status"] == "failed").sum()) if len(runs) else 0, status=status,
        evaluator=getattr(evaluator, "name", type(evaluator).__name__)))
    return runs, status
