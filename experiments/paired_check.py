"""Are two source trees' outcome distributions the same? The paired equivalence check of issue 14.

A change that lets seeded results differ in the last bits (compiled ``exp``/``log``, another
summation order) cannot be checked bit for bit; this script checks it statistically, as the
issue asks: N replications (default 200) of each shipped scenario on two source trees, with the
same root seed, and the outcome distributions of the two compared:

* P(encirclement) (``encircled``): Fisher's exact test on the 2 x 2 table;
* the fall of Pokrovsk (``pokrovsk_fall_day``, censored at the horizon when the city holds):
  the log-rank test;
* defender and attacker casualties and ground lost (``defender_casualties``,
  ``attacker_casualties``, ``territory_lost_km2``): the two-sample Kolmogorov-Smirnov test, and
  the paired difference of means (same seed, after minus before) with its 95% t interval and
  the paired t test's p-value.

The p-values of all scenarios are Holm-corrected together (family-wise 5%); the script prints
the table and exits 1 when any outcome is distinguishable, 0 when none is.

The trees: ``--ref`` (a git ref, checked out into a temporary worktree) against the working
tree (``--tree``, default the repository this script is in). Each tree runs in subprocesses
of its own, with that tree first on ``sys.path`` and the editable install's import hook
removed, so each imports its own ``sim`` (the last round's A/B, docs/PERFORMANCE.md). The
hindcast (hindcast_2025, 330 days) runs ``--hindcast-runs`` replications (default 100).
Results are kept under ``--out`` in parts of 25 replications; a second call with the same
arguments runs only the parts that are missing (``--fresh`` starts over).

    .venv/bin/python experiments/paired_check.py --ref main --workers 2 --out results/paired
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SCENARIOS = ("base", "hold_pokrovsk", "withdraw_kramatorsk_sloviansk", "reinforce_from_kursk", "kursk_pressure",
             "hindcast_2025")
HINDCASTS = ("hindcast_2025",)
PART = 25                      # replications a part file holds
ALPHA = 0.05
COLUMNS = ("replication", "encircled", "pokrovsk_fall_day", "defender_casualties",
           "attacker_casualties", "territory_lost_km2")
AMOUNTS = (("defender_casualties", "defender casualties"), ("attacker_casualties", "attacker casualties"),
           ("territory_lost_km2", "ground lost, km2"))

# ---------------------------------------------------------------- the statistics


def fisher_p(a: np.ndarray, b: np.ndarray) -> float:
    """Fisher's exact test (two-sided) that two samples of booleans share one probability."""
    from scipy.stats import fisher_exact

    a, b = np.asarray(a, bool), np.asarray(b, bool)
    table = [[int(a.sum()), int((~a).sum())], [int(b.sum()), int((~b).sum())]]
    return float(fisher_exact(table).pvalue)


def logrank_p(time_a, event_a, time_b, event_b) -> float:
    """The log-rank test (two-sided, chi-square with one degree of freedom) that two right-censored
    samples share one survival curve: ``time`` the day of the event, or of censoring where
    ``event`` is False (the horizon, when the city held)."""
    from scipy.stats import chi2

    t = np.concatenate([time_a, time_b]).astype(float)
    e = np.concatenate([event_a, event_b]).astype(bool)
    g = np.concatenate([np.zeros(len(time_a), bool), np.ones(len(time_b), bool)])
    observed = expected = variance = 0.0
    for day in np.unique(t[e]):
        at_risk = t >= day
        n, n1 = at_risk.sum(), (at_risk & ~g).sum()
        d = (e & (t == day)).sum()
        d1 = (e & (t == day) & ~g).sum()
        observed += d1
        expected += d * n1 / n
        if n > 1:
            variance += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    if variance <= 0:
        return 1.0
    return float(chi2.sf((observed - expected) ** 2 / variance, 1))


def ks_p(a, b) -> float:
    """The two-sample Kolmogorov-Smirnov test's p-value (identical samples: 1)."""
    from scipy.stats import ks_2samp

    return float(ks_2samp(np.asarray(a, float), np.asarray(b, float)).pvalue)


def paired_mean(a, b) -> tuple[float, float, float, float]:
    """Mean of ``b - a`` (pairs by replication), its 95% t interval and the paired t test's p-value."""
    from scipy.stats import t as student

    d = np.asarray(b, float) - np.asarray(a, float)
    mean = float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else 0.0
    if se == 0.0:
        return mean, mean, mean, 1.0 if mean == 0.0 else 0.0
    q = float(student.ppf(0.975, len(d) - 1))
    return mean, mean - q * se, mean + q * se, float(2 * student.sf(abs(mean / se), len(d) - 1))


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error), in the input's order."""
    order = np.argsort(pvalues, kind="stable")
    m = len(pvalues)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted.tolist()


def compare(before: dict, after: dict, horizon: int) -> list[dict]:
    """The tests of one scenario: ``before`` and ``after`` map the columns of :data:`COLUMNS` to
    arrays in replication order (the same replications). One row a test (unadjusted p-values)."""
    rows = [{"outcome": "P(encirclement)", "test": "Fisher exact", "before": float(np.mean(before["encircled"])),
             "after": float(np.mean(after["encircled"])), "p": fisher_p(before["encircled"], after["encircled"])}]
    fell_a, fell_b = ~np.isnan(before["pokrovsk_fall_day"]), ~np.isnan(after["pokrovsk_fall_day"])
    day_a = np.where(fell_a, before["pokrovsk_fall_day"], horizon).astype(float)
    day_b = np.where(fell_b, after["pokrovsk_fall_day"], horizon).astype(float)
    rows.append({"outcome": "fall day (censored)", "test": "log-rank", "before": float(np.median(day_a)),
                 "after": float(np.median(day_b)), "p": logrank_p(day_a, fell_a, day_b, fell_b)})
    for column, label in AMOUNTS:
        a, b = np.asarray(before[column], float), np.asarray(after[column], float)
        mean, lo, hi, p_mean = paired_mean(a, b)
        rows.append({"outcome": label, "test": "KS", "before": float(a.mean()), "after": float(b.mean()),
                     "p": ks_p(a, b)})
        rows.append({"outcome": label, "test": "paired mean", "before": float(a.mean()), "after": float(b.mean()),
                     "p": p_mean, "diff": (mean, lo, hi)})
    return rows


def verdict(rows: list[dict], alpha: float = ALPHA) -> bool:
    """Holm-correct the rows' p-values together (adds ``p_holm``); True when none is distinguishable."""
    for row, adjusted in zip(rows, holm([r["p"] for r in rows])):
        row["p_holm"] = adjusted
        row["distinguishable"] = adjusted < alpha
    return not any(r["distinguishable"] for r in rows)

# ---------------------------------------------------------------- running a tree


WORKER = r"""
import json, sys
tree, scenario, seed, first, count, out = sys.argv[1:7]
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__name__.lower()
                    and "editable" not in getattr(f, "__name__", "").lower()]
sys.path.insert(0, tree)
import sim
assert sim.__file__.startswith(tree), sim.__file__
from sim.scenario import read_scenario
from sim.theater import theater_of
from sim.experiment.replication import run_one
doc = read_scenario(scenario)
theater = theater_of(doc)
cols = json.loads(sys.argv[7])
rows = []
for i in range(int(first), int(first) + int(count)):
    row = run_one(doc.scenario, theater, int(seed), i).row
    rows.append({c: (None if row[c] is None else float(row[c])) for c in cols})
with open(out + ".tmp", "w") as fh:
    json.dump({"horizon": doc.scenario.days, "rows": rows}, fh)
import os
os.replace(out + ".tmp", out)
"""


def _part(tree: Path, scenario: Path, seed: int, first: int, count: int, out: Path) -> Path:
    if not out.exists():
        env = dict(os.environ, PYTHONPATH="")
        subprocess.run([sys.executable, "-c", WORKER, str(tree), str(scenario), str(seed), str(first), str(count),
                        str(out), json.dumps(COLUMNS)], check=True, env=env, cwd=tree)
    return out


def _load(parts: list[Path]) -> tuple[dict, int]:
    rows, horizon = [], 0
    for p in parts:
        doc = json.loads(p.read_text())
        rows += doc["rows"]
        horizon = doc["horizon"]
    rows.sort(key=lambda r: r["replication"])
    return {c: np.array([np.nan if r[c] is None else r[c] for r in rows]) for c in COLUMNS}, horizon


def run_trees(trees: dict[str, Path], scenarios: list[str], runs: dict[str, int], seed: int, workers: int,
              out: Path) -> dict[str, dict[str, tuple[dict, int]]]:
    """Every (tree, scenario, part of :data:`PART` replications) as a subprocess, ``workers`` at once."""
    jobs = {}
    with cf.ThreadPoolExecutor(workers) as pool:
        for scenario in scenarios:
            for label, tree in trees.items():
                folder = out / label / scenario
                folder.mkdir(parents=True, exist_ok=True)
                for first in range(0, runs[scenario], PART):
                    count = min(PART, runs[scenario] - first)
                    path = folder / f"runs_{first:05d}_{count}.json"
                    jobs[pool.submit(_part, tree, tree / "scenarios" / f"{scenario}.yaml", seed, first, count,
                                     path)] = (label, scenario)
        done: dict[tuple, list[Path]] = {}
        for n, fut in enumerate(cf.as_completed(jobs), 1):
            if fut.exception() is not None:
                pool.shutdown(cancel_futures=True)   # the parts that ran are kept: a second call resumes
                raise fut.exception()
            done.setdefault(jobs[fut], []).append(fut.result())
            print(f"\r{n}/{len(jobs)} parts", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return {label: {s: _load(done[(label, s)]) for s in scenarios} for label in trees}

# ---------------------------------------------------------------- the table


def table(results: dict[str, list[dict]], ref: str, tree: str) -> str:
    lines = [f"before: {ref}   after: {tree}", "",
             "| scenario | outcome | test | before | after | after - before (95% CI) | p | p (Holm) | verdict |",
             "|---|---|---|---|---|---|---|---|---|"]
    for scenario, rows in results.items():
        for r in rows:
            diff = "" if "diff" not in r else "{:+.4g} ({:+.4g} to {:+.4g})".format(*r["diff"])
            lines.append(f"| {scenario} | {r['outcome']} | {r['test']} | {r['before']:.4g} | {r['after']:.4g} | "
                         f"{diff} | {r['p']:.3f} | {r['p_holm']:.3f} | "
                         f"{'DISTINGUISHABLE' if r['distinguishable'] else 'same'} |")
    return "\n".join(lines)


def _sha(repo: Path, ref: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "rev-parse", ref], check=True, capture_output=True,
                          text=True).stdout.strip()


def _worktree(repo: Path, ref: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", "--force", str(where), ref], check=True,
                   capture_output=True)
    return where


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ref", default="HEAD", help="git ref of the 'before' tree (default HEAD)")
    ap.add_argument("--tree", type=Path, default=HERE.parent, help="the 'after' tree (default this repository)")
    ap.add_argument("--after", default=None,
                    help="a git ref for the 'after' tree instead of the working tree (checked out like --ref)")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--hindcast-runs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--out", type=Path, default=Path("results/paired_check"))
    ap.add_argument("--fresh", action="store_true", help="discard kept parts")
    args = ap.parse_args(argv)
    tree = args.tree.resolve()
    sha = _sha(tree, args.ref)
    out = args.out.resolve() / f"seed{args.seed}"
    if args.fresh:
        import shutil

        shutil.rmtree(out, ignore_errors=True)
    scenarios = args.scenarios.split(",")
    runs = {s: args.hindcast_runs if s in HINDCASTS else args.runs for s in scenarios}
    after_sha = _sha(tree, args.after) if args.after else None
    b_label, a_label = f"before_{sha[:10]}", f"after_{after_sha[:10]}" if after_sha else "after"
    with tempfile.TemporaryDirectory(prefix="paired_ref_") as tmp:
        trees = {b_label: _worktree(tree, sha, Path(tmp) / "before"),
                 a_label: _worktree(tree, after_sha, Path(tmp) / "after") if after_sha else tree}
        try:
            data = run_trees(trees, scenarios, runs, args.seed, args.workers, out)
        finally:
            for t in trees.values():
                if t != tree:
                    subprocess.run(["git", "-C", str(tree), "worktree", "remove", "--force", str(t)],
                                   capture_output=True)
    results = {s: compare(data[b_label][s][0], data[a_label][s][0], data[a_label][s][1]) for s in scenarios}
    every = [r for rows in results.values() for r in rows]
    same = verdict(every)
    text = table(results, f"{args.ref} ({sha[:10]})",
                 f"{args.after} ({after_sha[:10]})" if after_sha else f"{tree} (working tree)")
    for s in scenarios:
        b, a = data[b_label][s][0], data[a_label][s][0]
        same_rows = np.ones(len(b["replication"]), bool)
        for c in COLUMNS:
            same_rows &= (b[c] == a[c]) | (np.isnan(b[c]) & np.isnan(a[c]))
        text += f"\n{s}: {int(same_rows.sum())} of {len(same_rows)} replications with the same outcomes to the bit"
    text += (f"\n\n{len(every)} tests, Holm-corrected together at {ALPHA}: "
             f"{'no outcome distinguishable' if same else 'DISTINGUISHABLE'}; runs {runs}, root seed {args.seed}")
    print(text)
    (args.out / "paired_check.md").write_text(text + "\n")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
