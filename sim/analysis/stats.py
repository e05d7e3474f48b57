"""Summary statistics with intervals: what the run and compare tables print."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion (good at p near 0 or 1 and for small n)."""
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and its t-based confidence interval (NaNs dropped)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return (math.nan, math.nan, math.nan)
    m = float(x.mean())
    if n == 1:
        return (m, math.nan, math.nan)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return (m, m - half, m + half)


def describe(values) -> dict[str, float]:
    """Mean with 95% CI, median and the 5-95% range of a numeric outcome."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    m, lo, hi = mean_interval(x)
    if x.size == 0:
        return {"n": 0, "mean": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                "median": math.nan, "p05": math.nan, "p95": math.nan}
    return {"n": int(x.size), "mean": m, "ci_low": lo, "ci_high": hi, "median": float(np.median(x)),
            "p05": float(np.quantile(x, 0.05)), "p95": float(np.quantile(x, 0.95))}


def describe_probability(flags) -> dict[str, float]:
    """Share of True with its Wilson 95% interval."""
    x = np.asarray(flags, dtype=bool)
    k, n = int(x.sum()), int(x.size)
    lo, hi = wilson_interval(k, n)
    return {"n": n, "p": k / n if n else math.nan, "ci_low": lo, "ci_high": hi}
