"""Sensitivity and scenario discovery over a sweep's results.

* Sobol indices (first order and total, with bootstrap 95% intervals) of the
  point means, from SALib's ``sobol.analyze`` on a Saltelli design.
* Morris elementary effects (mu*, sigma, with intervals) from SALib's ``morris.analyze``.
* PRIM (the EMA Workbench's ``Prim``): the box of inputs in which an outcome of
  interest (by default: encirclement) is most concentrated, with its coverage
  (share of all such cases inside the box) and density (share of cases inside
  the box that are such).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.experiment import Experiment, problem


def point_means(runs: pd.DataFrame, design: pd.DataFrame, outcome: str, scenario: str | None = None) -> np.ndarray:
    """Mean of an outcome over the replications of each design point, in design order."""
    ok = runs[runs["status"] == "ok"]
    if scenario is not None:
        ok = ok[ok["scenario"] == scenario]
    values = pd.to_numeric(ok[outcome], errors="coerce").astype(float)
    means = values.groupby(ok["point"]).mean()
    return means.reindex(design["point"]).to_numpy(dtype=float)


def sobol_indices(exp: Experiment, runs: pd.DataFrame, design: pd.DataFrame, outcome: str,
                  scenario: str | None = None) -> pd.DataFrame:
    from SALib.analyze import sobol

    y = point_means(runs, design, outcome, scenario)
    y = np.where(np.isfinite(y), y, np.nanmean(y))
    res = sobol.analyze(problem(exp), y, calc_second_order=False, seed=exp.seed, print_to_console=False)
    return pd.DataFrame({"parameter": list(exp.parameters), "S1": res["S1"], "S1_conf": res["S1_conf"],
                         "ST": res["ST"], "ST_conf": res["ST_conf"]})


def morris_indices(exp: Experiment, runs: pd.DataFrame, design: pd.DataFrame, outcome: str,
                   scenario: str | None = None) -> pd.DataFrame:
    from SALib.analyze import morris

    y = point_means(runs, design, outcome, scenario)
    y = np.where(np.isfinite(y), y, np.nanmean(y))
    x = design[list(exp.parameters)].to_numpy(dtype=float)
    res = morris.analyze(problem(exp), x, y, num_levels=exp.morris_levels, seed=exp.seed, print_to_console=False)
    return pd.DataFrame({"parameter": list(exp.parameters), "mu_star": res["mu_star"],
                         "mu_star_conf": res["mu_star_conf"], "sigma": res["sigma"]})


def prim_box(runs: pd.DataFrame, inputs: list[str], target: pd.Series, mass_min: float = 0.05,
             peel_alpha: float = 0.05, max_dims: int | None = None) -> dict | None:
    """The EMA Workbench PRIM box for ``target`` (bool per run) over ``inputs``.

    Picks, on the peeling trajectory, the box with the highest density that still
    covers at least half of the cases (a usual compromise), and returns its limits,
    coverage, density and mass. ``max_dims``: only boxes that restrict at most this many
    inputs (a box over few cases and many inputs fits noise; one a reader can act on is small).
    """
    import logging
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

        logging.getLogger("EMA").setLevel(logging.ERROR)
    x = runs[inputs].astype(float).reset_index(drop=True)
    y = target.to_numpy(dtype=bool)
    if y.sum() == 0 or y.all() or len(inputs) == 0:
        return None
    p = prim.Prim(x, y, mass_min=mass_min, peel_alpha=peel_alpha)
    box = p.find_box()
    traj = box.peeling_trajectory
    if max_dims is not None:
        traj = traj[traj["res_dim"] <= max_dims]
    ok = traj[traj["coverage"] >= 0.5]
    pick = int(ok["density"].idxmax()) if len(ok) else int(traj["density"].idxmax())
    box.select(pick)
    lims = box.box_lims[pick]
    limits = {c: (float(lims.loc[0, c]), float(lims.loc[1, c])) for c in inputs}
    return {
        "coverage": float(traj.loc[pick, "coverage"]),
        "density": float(traj.loc[pick, "density"]),
        "mass": float(traj.loc[pick, "mass"]),
        "base_rate": float(y.mean()),
        "runs": int(len(y)),
        "cases": int(y.sum()),
        "limits": limits,
        "restricted": {c: v for c, v in limits.items()
                       if v[0] > float(x[c].min()) + 1e-12 or v[1] < float(x[c].max()) - 1e-12},
        "trajectory": traj[["coverage", "density", "mass"]].copy(),
    }
