"""The results store: the files every command writes and reads back.

A run's folder (``sim run``, each option of ``sim compare``): ``runs.parquet`` (one row per
replication), ``timeseries.parquet`` (one row per replication and day), ``control.npz`` (per
cell, how many replications ended attacker-held, for the probability map), ``scenario.yaml``
and ``manifest.json``. A sweep's folder (``sim sweep``, ``sim robust``, each wave of
``sim calibrate``): ``parts/part-NNNNN.parquet`` written as runs finish, merged into
``runs.parquet``; the parts already there are what ``--resume`` does not run again.

The schema comes from the outcome declarations (sim/outcomes.py): the recorded outcomes lead,
in their declared order, and day outcomes are nullable integers (``Int64``: empty where the event
did not happen).

Files are written to ``NAME.part`` and renamed into place: a file that exists under its final
name is whole. The manifest is written last and the files of an earlier run are removed first,
so a write that fails (a full disk) never leaves a manifest vouching for what is there. A
command holds its ``--out`` folder with a lock (``out_lock``); a second command given the same
folder is refused in one line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from sim import __version__
from sim.core.errors import InputError
from sim.core.io import write_atomic
from sim.experiment.replication import LostReplication, Replication
from sim.outcomes import RECORDED, day_columns
from sim.scenario import ScenarioDoc
from sim.theater import theater_of

RESULT_FILES = ("runs.parquet", "timeseries.parquet", "control.npz", "manifest.json", "scenario.yaml")
PARTS = "parts"


def typed_days(frame: pd.DataFrame) -> pd.DataFrame:
    """The day outcomes of ``frame`` as nullable integers (in place; returned for chaining)."""
    for col in day_columns(frame.columns):
        frame[col] = frame[col].astype("Int64")
    return frame


# ------------------------------------------------------------------ a run's folder
def results_frames(reps: list[Replication]) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    reps = sorted(reps, key=lambda r: r.index)
    runs = pd.DataFrame([r.row for r in reps])
    lead = ["scenario", "replication", "seed", *RECORDED]
    rest = [c for c in runs.columns if c not in lead]
    runs = runs[[c for c in lead if c in runs.columns] + sorted(rest)]
    typed_days(runs)
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


# ------------------------------------------------------------------ a sweep's parts
def done_tasks(out: Path, names: list[str]) -> set[tuple[int, int, int]]:
    parts = sorted((out / PARTS).glob("part-*.parquet"))
    done: set[tuple[int, int, int]] = set()
    index = {n: i for i, n in enumerate(names)}
    for p in parts:
        df = pd.read_parquet(p, columns=["scenario", "point", "replication"])
        done.update((index[s], int(pt), int(r)) for s, pt, r in df.itertuples(index=False) if s in index)
    return done


def write_part(out: Path, seq: int, rows: list[dict]) -> None:
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
    return typed_days(df)
