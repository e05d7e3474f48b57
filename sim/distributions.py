"""Uncertain inputs written as distributions in scenario files.

A number in a scenario may be written as a distribution, drawn once per
replication (SOURCES.md s.11, "Scenario files"):

=====================  ============================================
``{uniform: [a, b]}``   uniform on [a, b]
``{triangular: [lo, mode, hi]}``  triangular
``{normal: [mean, sd]}``  normal (only where the value is unbounded)
``{choice: [v1, v2, ...]}``  one of the values, equally likely
=====================  ============================================

Integer inputs (brigades, transit and trigger days) are rounded to the nearest
integer after the draw. ``days`` and ``attacker.pincer_arms`` are structural and
take plain numbers only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FORMS = {"uniform": 2, "triangular": 3, "normal": 2, "choice": None}


@dataclass(frozen=True)
class Distribution:
    """A distribution of one uncertain input; ``sample`` draws one value."""

    kind: str
    params: tuple[float, ...]
    integer: bool = False

    def sample(self, rng: np.random.Generator) -> float | int:
        p = self.params
        if self.kind == "uniform":
            x = rng.uniform(p[0], p[1])
        elif self.kind == "triangular":
            x = p[1] if p[0] == p[2] else rng.triangular(p[0], p[1], p[2])
        elif self.kind == "normal":
            x = rng.normal(p[0], p[1])
        else:  # choice
            x = p[int(rng.integers(len(p)))]
        return int(round(x)) if self.integer else float(x)

    @property
    def support(self) -> tuple[float, float]:
        p = self.params
        if self.kind == "normal":
            return (-math.inf, math.inf)
        if self.kind == "triangular":
            return (p[0], p[2])
        return (min(p), max(p))

    @property
    def mean(self) -> float:
        p = self.params
        if self.kind in ("uniform", "normal"):
            return (p[0] + p[1]) / 2 if self.kind == "uniform" else p[0]
        if self.kind == "triangular":
            return sum(p) / 3
        return sum(p) / len(p)

    def __repr__(self) -> str:
        return "{" + f"{self.kind}: [" + ", ".join(f"{v:g}" for v in self.params) + "]}"


def parse_distribution(value: dict) -> Distribution:
    """Read ``{kind: [params]}``; raise ValueError with a user-facing message."""
    if len(value) != 1:
        raise ValueError(
            f"a distribution has exactly one key ({', '.join(FORMS)}), found keys {sorted(map(str, value))}"
        )
    (kind, params), = value.items()
    if kind not in FORMS:
        raise ValueError(f"unknown distribution {kind!r}; expected one of {', '.join(FORMS)}")
    if not isinstance(params, list) or not params:
        raise ValueError(f"{kind} takes a list of numbers, found {params!r}")
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in params):
        raise ValueError(f"{kind} takes numbers only, found {params!r}")
    if any(not math.isfinite(v) for v in params):
        raise ValueError(f"{kind} takes finite numbers, found {params!r}")
    n = FORMS[kind]
    if n is not None and len(params) != n:
        raise ValueError(f"{kind} takes {n} numbers, found {len(params)}")
    if kind == "uniform" and params[0] > params[1]:
        raise ValueError(f"uniform needs a <= b, found {params}")
    if kind == "triangular" and not (params[0] <= params[1] <= params[2]):
        raise ValueError(f"triangular needs lo <= mode <= hi, found {params}")
    if kind == "normal" and params[1] < 0:
        raise ValueError(f"normal needs sd >= 0, found {params}")
    return Distribution(kind, tuple(float(v) for v in params))
