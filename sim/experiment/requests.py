"""What each command asks for: small frozen values that the command line builds (sim/cli.py) and the
commands take (sim/commands.py, sim/robust.py); the parsed arguments stay in the command line.

Every field is the command line's option of that name (``--no-plots`` is ``no_plots``); lists are
tuples, so a request is hashable and cannot change on its way down. ``sets`` already holds
``posterior=FILE`` when the command was given ``--posterior FILE``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunRequest:
    """``sim run``: replications ``first .. first + runs - 1`` of one scenario into ``out``."""

    scenario: str
    out: str
    runs: int = 100
    seed: int = 0
    sets: tuple[str, ...] = ()
    workers: int = 1
    force: bool = False
    no_plots: bool = False
    precision: float | None = None
    animate: bool = False
    first: int = 0
    scheduler: str | None = None
    map_levels: tuple[float, ...] | None = None


@dataclass(frozen=True)
class CompareRequest:
    """``sim compare``: every option with the same seeds, compared against ``baseline`` (default the first)."""

    scenarios: tuple[str, ...]
    out: str
    runs: int = 100
    seed: int = 0
    sets: tuple[str, ...] = ()
    sets_for: tuple[str, ...] = ()
    baseline: str | None = None
    all_pairs: bool = False
    towns: tuple[str, ...] = ()
    workers: int = 1
    force: bool = False
    precision: float | None = None
    scheduler: str | None = None
    map_levels: tuple[float, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class _FolderRequest:
    """What the commands that stream a design's runs into a folder share (sweep, robust, calibrate):
    ``scheduler`` is ``--scheduler``, a Dask cluster's address or ``local``."""

    out: str
    resume: bool = False
    force: bool = False
    workers: int = 1
    scheduler: str | None = None
    sets: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SweepRequest(_FolderRequest):
    """``sim sweep``: an experiment's design of points x replications into ``out``."""

    experiment: str
    no_plots: bool = False


@dataclass(frozen=True, kw_only=True)
class RobustRequest(_FolderRequest):
    """``sim robust``: a robust experiment's options x worlds x replications, then its analysis."""

    experiment: str


@dataclass(frozen=True, kw_only=True)
class CalibrateRequest(_FolderRequest):
    """``sim calibrate``: a history-matching campaign's waves into ``out``."""

    campaign: str


@dataclass(frozen=True)
class ValidateModelRequest:
    """``sim validate-model``: the validation tables and figures, then the record test bench."""

    out: str
    runs: int = 100
    seed: int = 0
    workers: int = 1
    engagement_days: int = 10
    record_runs: int = 30
    record_only: bool = False
    posterior: str | None = None
    sets: tuple[str, ...] = ()  # the record bench's hindcasts: posterior=FILE when given --posterior
