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

Manifests: every folder's ``manifest.json`` is made here, one way (``new_manifest``, then
``write_manifest`` when the folder's files are whole), for a run, a comparison (``compare``: its
options' folders beside it), a sweep and a robust choice (a sweep read another way). Its ``kind``
says which; ``read_manifest`` and ``folder_kind`` read it back (``sim plot``, a comparison redrawn),
and ``finished`` tells a resume that a folder is whole and need not run again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from sim import __version__
from sim.core.errors import InputError
from sim.core.io import write_atomic, write_text_atomic
from sim.experiment.replication import LostReplication, Replication
from sim.outcomes import RECORDED, day_columns
from sim.scenario import ScenarioDoc
from sim.theater import theater_of

MANIFEST = "manifest.json"
RESULT_FILES = ("runs.parquet", "timeseries.parquet", "control.npz", MANIFEST, "scenario.yaml")
PARTS = "parts"
RUN, COMPARE, SWEEP, ROBUST = "run", "compare", "sweep", "robust"   # what a folder holds (its manifest's kind)


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


# ------------------------------------------------------------------ manifests
def stamp(seconds: float) -> str:
    """A time (seconds since the epoch) as a manifest writes it: ISO 8601 in UTC, to the second."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds")


def new_manifest(kind: str, started: float, **body) -> dict:
    """A folder's manifest before its files are whole: its ``kind``, what the command says of the run
    (``body``), and where and when it ran. ``write_manifest`` adds when it finished and writes it."""
    return {"kind": kind, **body, "package_version": __version__, "python": sys.version.split()[0],
            "platform": platform.platform(), "started": stamp(started)}


def write_manifest(out: Path, manifest: dict) -> dict:
    """Write ``manifest`` (from ``new_manifest``) into ``out``, stamped ``finished`` now: the last file a
    command writes, so a folder whose manifest is there is whole."""
    manifest = {**manifest, "finished": stamp(time.time())}
    write_text_atomic(out / MANIFEST, json.dumps(manifest, indent=2))
    return manifest


def drop_manifest(out: Path) -> None:
    """Remove the manifest of an earlier run before writing anything else: until the new one is written
    last, the folder claims nothing."""
    (out / MANIFEST).unlink(missing_ok=True)


def _legacy_kind(out: Path, manifest: dict) -> str:
    """The kind of a folder written before manifests named it (by the keys each kind wrote)."""
    if (out / "robust.json").exists():
        return ROBUST
    if "experiment" in manifest:
        return SWEEP
    return COMPARE if isinstance(manifest.get("scenarios"), list) else RUN


def read_manifest(out: Path, kinds: tuple[str, ...] = ()) -> dict:
    """The manifest of the folder ``out`` (with its ``kind``); one line (InputError) when there is none,
    it is not one of sim's, or its kind is not among ``kinds`` (when given)."""
    path = out / MANIFEST
    if not out.is_dir():
        raise InputError("no such results folder", source=str(out))
    if not path.exists():
        raise InputError("no manifest.json here: not a results folder of sim, or its command did not finish "
                         "(a sweep finishes with --resume)", source=str(out))
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not a manifest of sim ({exc})", source=str(path)) from None
    if not isinstance(manifest, dict):
        raise InputError("not a manifest of sim (expected a JSON object)", source=str(path))
    manifest.setdefault("kind", _legacy_kind(out, manifest))
    if kinds and manifest["kind"] not in kinds:
        raise InputError(f"holds a {manifest['kind']}, not a {' or '.join(kinds)}", source=str(out))
    return manifest


def folder_kind(out: Path) -> str:
    """What the results folder ``out`` holds: ``run``, ``compare``, ``sweep`` or ``robust`` (InputError if none)."""
    return read_manifest(out)["kind"]


def finished(out: Path) -> bool:
    """Whether ``out`` holds a whole, complete folder (its manifest written, status ``complete``): a resume
    takes it as it is."""
    try:
        return read_manifest(out).get("status") == "complete"
    except InputError:
        return False


# ------------------------------------------------------------------ a run's folder, written
def write_results(out: Path, doc: ScenarioDoc, reps: list[Replication], *, root_seed: int, requested: int,
                  started: float, status: str, workers: int, lost: list[LostReplication] = (),
                  evaluator: str = "") -> dict:
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
    return write_manifest(out, new_manifest(
        RUN, started, scenario=doc.scenario.name, start_date=doc.scenario.start_date.isoformat(), files=doc.files,
        scenario_resolved=doc.resolved_yaml, scenario_sha256=doc.digest, root_seed=root_seed,
        replications=len(reps), replications_requested=requested, replications_failed=failed_listing(lost),
        status=status, workers=workers, evaluator=evaluator))


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


def check_compare_out(out: Path, names: list[str], force: bool) -> None:
    """A comparison's folder: refused (one line) when it holds an earlier comparison of these options, unless
    ``force``; then its manifest and each option's result files go, so nothing of the earlier one is vouched for."""
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", source=str(out))
    existing = [n for n in names if (out / n / "runs.parquet").exists()] + (["report.md"] if (out / "report.md").exists() else [])
    if existing and not force:
        raise InputError(f"already holds results ({', '.join(existing)}); use --force to overwrite or choose another --out",
                         source=str(out))
    drop_manifest(out)
    for name in names:
        clear_results(out / name)


def check_out_dir(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", source=str(out))
    existing = [f for f in RESULT_FILES if (out / f).exists()]
    if existing and not force:
        raise InputError(f"already holds results ({', '.join(existing)}); use --force to overwrite or choose another --out",
                         source=str(out))


# ------------------------------------------------------------------ a sweep's parts
def open_parts(out: Path, *, resume: bool, force: bool) -> None:
    """Make ``out`` ready for a sweep's parts: one that holds a sweep is refused (one line) unless ``resume``
    (its parts are kept and only what is missing runs) or ``force`` (they go); the manifest goes until the
    sweep writes it again, last; a part being written when the sweep was killed goes."""
    parts_dir = out / PARTS
    if parts_dir.exists() and any(parts_dir.iterdir()) and not (resume or force):
        raise InputError("already holds a sweep; use --resume to finish it or --force to start again", source=str(out))
    drop_manifest(out)
    if force and not resume:
        (out / "runs.parquet").unlink(missing_ok=True)
        for p in parts_dir.iterdir() if parts_dir.exists() else ():
            p.unlink()
    parts_dir.mkdir(parents=True, exist_ok=True)
    for stale in parts_dir.glob("*.part"):
        stale.unlink()


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
