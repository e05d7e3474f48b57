"""The posterior: the parameter sets a calibration campaign kept, and how a replication draws one.

A posterior file (YAML, written by ``sim calibrate``; docs/CALIBRATION.md, "Posterior")::

    posterior:                      # the header: where the sets come from
      campaign: calibration_tempo
      created: 2026-12-02T15:00:00+00:00
      method: history matching, 2 waves, implausibility cut-off 3
      runs: 480
      targets: [pokrovsk_fall_from_jan_2025, pokrovsk_fall_from_nov_2025]
    parameters: [combat.advance_max_per_day, combat.terrain_mobility.urban]
    sets:                           # one kept parameter set a row, in the order of parameters
      - [0.43, 0.41]
      - [0.47, 0.38]

A scenario names one with ``posterior: FILE`` (relative to the scenario file) and
``sim run`` / ``sim compare`` with ``--posterior FILE``. Replication ``i`` then draws
one set, uniformly, from its own seed stream ``"posterior"``
(:func:`sim.core.seeding.substream`): the draw depends on the root seed and ``i``
only, so every option of a comparison runs replication ``i`` with the same set
(common random numbers). The set's values replace the scenario's at those paths
(a distribution there is not drawn); ``runs.parquet`` records ``posterior_row`` and
each value under its dotted path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from sim.core.errors import InputError, found
from sim.core.io import write_text_atomic
from sim.core.seeding import substream
from sim.yamlio import Locations, load_yaml_file, path_exists

STREAM = "posterior"
ROW_COLUMN = "posterior_row"
KEYS = ("posterior", "parameters", "sets")


@dataclass(frozen=True)
class Posterior:
    """Kept parameter sets: ``sets[i][j]`` is the value of ``parameters[j]`` in set ``i``."""

    path: str
    header: dict
    parameters: tuple[str, ...]
    sets: tuple[tuple[float | int, ...], ...]

    def values(self, row: int) -> dict[str, float | int]:
        """The scenario overrides of set ``row``, by dotted path."""
        return dict(zip(self.parameters, self.sets[row], strict=True))

    def draw(self, seq: np.random.SeedSequence) -> tuple[int, dict[str, float | int]]:
        """The set replication ``seq`` runs with: its index and its values."""
        row = int(substream(seq, STREAM).integers(len(self.sets)))
        return row, self.values(row)

    def column(self, name: str) -> list[float | int]:
        j = self.parameters.index(name)
        return [s[j] for s in self.sets]


# ------------------------------------------------------------------ reading
def load_posterior(path: str | Path) -> Posterior:
    """Read and check a posterior file (cached per file version); bad content is one InputError line."""
    path = Path(path)
    if not path_exists(path) or not path.is_file():
        raise InputError("posterior file not found", source=str(path))
    stat = path.stat()
    return _load(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _load(path: str, _mtime_ns: int, _size: int) -> Posterior:
    data, locs = load_yaml_file(path)
    if not isinstance(data, dict):
        raise InputError(f"expected a posterior (keys {', '.join(KEYS)}), found {found(data)}", source=path, line=1)
    for key in data:
        if key not in KEYS:
            raise InputError(f"unknown key {key!r}; a posterior has {', '.join(KEYS)}", source=path,
                             line=_line(locs, (str(key),)), path=str(key))
    header = data.get("posterior") or {}
    if not isinstance(header, dict):
        raise InputError("expected a mapping (campaign, created, method, runs, targets)", source=path,
                         line=_line(locs, ("posterior",)), path="posterior")
    names = _parameters(data.get("parameters"), path, locs)
    sets = _sets(data.get("sets"), len(names), path, locs)
    return Posterior(path, header, names, sets)


def _line(locs: Locations, key: tuple) -> int | None:
    return locs.get(key, (None, None))[1]


def _parameters(value: Any, source: str, locs: Locations) -> tuple[str, ...]:
    line = _line(locs, ("parameters",))
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise InputError(f"expected a list of dotted paths, found {found(value)}", source=source, line=line,
                         path="parameters")
    if len(set(value)) != len(value):
        raise InputError("a parameter is named twice", source=source, line=line, path="parameters")
    return tuple(value)


def _sets(value: Any, width: int, source: str, locs: Locations) -> tuple[tuple[float | int, ...], ...]:
    if not isinstance(value, list) or not value:
        raise InputError(f"expected a non-empty list of parameter sets, found {found(value)}", source=source,
                         line=_line(locs, ("sets",)), path="sets")
    rows = []
    for i, row in enumerate(value):
        where = {"source": source, "line": _line(locs, ("sets", str(i))), "path": f"sets.{i}"}
        if not isinstance(row, list) or len(row) != width:
            raise InputError(f"expected a list of {width} numbers (one per parameter), found {found(row)}", **where)
        for v in row:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise InputError(f"expected numbers, found {found(v)}", **where)
        rows.append(tuple(row))
    return tuple(rows)


# ------------------------------------------------------------------ writing
def posterior_text(header: dict, parameters: list[str], sets: list[list[float | int]]) -> str:
    """The posterior file's text (YAML; the values keep six significant digits)."""
    import yaml

    body = {"posterior": header, "parameters": list(parameters),
            "sets": [[_plain(v) for v in row] for row in sets]}
    lead = ("# A posterior: the parameter sets a calibration campaign kept (sim calibrate; docs/CALIBRATION.md).\n"
            "# Use: sim run SCENARIO --posterior THIS_FILE, or `posterior: THIS_FILE` in a scenario.\n")
    return lead + yaml.safe_dump(body, sort_keys=False, default_flow_style=None, width=120, allow_unicode=True)


def write_posterior(path: Path, header: dict, parameters: list[str], sets: list[list[float | int]]) -> Path:
    return write_text_atomic(path, posterior_text(header, parameters, sets))


def _plain(value: Any) -> float | int:
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    return float(f"{float(value):.6g}")


# ------------------------------------------------------------------ a scenario's posterior
def resolve_in(doc) -> None:
    """Load the posterior a scenario names (relative to the file that named it, or to the working
    folder for ``--set``/``--posterior``), check every set against the scenario's own validation,
    and leave the absolute path in the scenario so that workers read the same file."""
    name = doc.scenario.posterior
    if name is None:
        return
    src, line = doc.locations.get(("posterior",), (doc.files[-1], None))
    base = Path.cwd() if src.startswith("--") else Path(src).parent
    try:
        post = load_posterior(base / name)
    except InputError as exc:
        if exc.message != "posterior file not found":
            raise
        raise InputError(f"posterior file {name!r} not found (looked in {base}/)", source=src, line=line,
                         path="posterior") from None
    check_fits(post, doc.scenario)
    doc.scenario = doc.scenario.model_copy(update={"posterior": post.path})
    doc.raw["posterior"] = post.path


def check_fits(post: Posterior, scenario) -> None:
    """Every parameter's smallest and largest kept value passes ``scenario``'s own validation; otherwise
    one InputError line naming the posterior file."""
    from sim.scenario import replace_values

    for param in post.parameters:
        column = post.column(param)
        for value in (min(column), max(column)):
            try:
                replace_values(scenario, {param: value}, source=post.path)
            except InputError as exc:
                raise InputError(f"parameter {param!r} = {found(value)} does not fit scenario "
                                 f"{scenario.name!r}: {exc.message}", source=post.path, path="parameters") from None


def draw_from(name: str, seq: np.random.SeedSequence) -> dict[str, float | int]:
    """The posterior set of one replication, with its row under ``posterior_row``."""
    row, values = load_posterior(name).draw(seq)
    return {ROW_COLUMN: row, **values}
