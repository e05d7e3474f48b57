"""Figures of ``sim validate-model``: the model beside theory and the record.

The tables come from sim/analysis/validation.py; this module only draws them.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from sim.plots.run import _save  # noqa: E402


def plot_validation(out: Path, engel, success: pd.DataFrame, dupuy: pd.DataFrame, days: int) -> list[Path]:
    """Engel's Iwo Jima beside the model's Lanchester integrator, and the force-ratio success curve
    beside the Dupuy Institute's table."""
    table, (t, us, jp) = engel
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(t, us, color="#1f77b4", label="US (model)")
    ax.plot(t, jp, color="#d62728", label="Japanese (model)")
    ax.scatter(table["day"], table["us_engel"], color="#1f77b4", marker="s", zorder=5, label="US (Engel 1954)")
    ax.scatter(table["day"], table["japanese_engel"], color="#d62728", marker="s", zorder=5, label="Japanese (Engel 1954)")
    ax.set_xlabel("day")
    ax.set_ylabel("personnel")
    ax.set_title("Lanchester square law: Iwo Jima (Engel 1954)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths = [_save(fig, out / "lanchester_iwo_jima.png")]

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    ax.plot(success["ratio"], success["p_win"], color="#1f77b4", label=f"model: P(cell taken within {days} days)")
    for _, r in dupuy.iterrows():
        ax.plot([r["ratio_low"], r["ratio_high"]], [r["dupuy_attacker_wins"]] * 2, color="#d62728", lw=3)
    ax.plot([], [], color="#d62728", lw=3, label="Dupuy Institute: share of attacker wins (672 engagements)")
    ax.set_xlabel("attacker / defender combat power")
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1)
    ax.set_title("Force ratio and success: the model's standard engagement vs 1904-1991")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(_save(fig, out / "force_ratio_success.png"))
    return paths


def plot_fall_days(out: Path, days: pd.Series, record: list[tuple[int, str]], name: str, title: str) -> Path:
    """The histogram of the day Pokrovsk falls, with the record's days as dashed lines."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    d = pd.to_numeric(days, errors="coerce").dropna()
    if len(d):
        ax.hist(d, bins=min(30, max(5, len(d) // 3)), color="#4c72b0", alpha=0.85, label="model")
    for day, label in record:
        ax.axvline(day, color="#d62728", ls="--")
        ax.text(day, ax.get_ylim()[1] * 0.95, f" {label}", color="#d62728", fontsize=8, va="top", rotation=90)
    ax.set_xlabel("day Pokrovsk falls (< half its urban cells held)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, out / name)
