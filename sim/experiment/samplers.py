"""Samplers: an experiment's knobs turned into a *design*, a table of points, each a value for
every varied knob. Samplers:

``grid``    every combination of each knob's ``values`` (or ``levels`` values evenly spaced over ``range``)
``lhs``     ``samples`` points of a Latin hypercube over the ranges (scipy.stats.qmc)
``sobol``   Saltelli's scheme for Sobol indices, ``samples`` base points: ``samples x (D + 2)`` points (SALib)
``morris``  ``samples`` Morris trajectories on ``morris_levels`` levels: ``samples x (D + 1)`` points (SALib)

Every point runs ``replications`` replications; replication ``r`` of every point
and scenario uses the same seed (common random numbers), so a surface over the
knobs is not blurred by different weather at different points.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment.parameters import Experiment


def problem(exp: Experiment) -> dict:
    """The SALib problem definition for the varied knobs."""
    names = list(exp.parameters)
    return {"num_vars": len(names), "names": names, "bounds": [list(exp.parameters[n].range) for n in names]}


def design(exp: Experiment) -> pd.DataFrame:
    """The design: one row per point, one column per varied knob (``point`` is the index)."""
    names = list(exp.parameters)
    if exp.sampler == "grid":
        axes = []
        for n in names:
            k = exp.parameters[n]
            axes.append(k.values if k.values is not None else list(np.linspace(k.range[0], k.range[1], k.levels)))
        rows = list(itertools.product(*axes))
        table = pd.DataFrame(rows, columns=names)
    else:
        if exp.sampler == "lhs":
            from scipy.stats import qmc

            unit = qmc.LatinHypercube(d=len(names), seed=exp.seed).random(exp.samples)
            lo = np.array([exp.parameters[n].range[0] for n in names])
            hi = np.array([exp.parameters[n].range[1] for n in names])
            values = lo + unit * (hi - lo)
        elif exp.sampler == "sobol":
            from SALib.sample import sobol as sobol_sample

            values = sobol_sample.sample(problem(exp), exp.samples, calc_second_order=False, seed=exp.seed)
        else:
            from SALib.sample import morris as morris_sample

            values = morris_sample.sample(problem(exp), exp.samples, num_levels=exp.morris_levels, seed=exp.seed)
        table = pd.DataFrame(values, columns=names)
    for n in names:
        if exp.parameters[n].integer:
            table[n] = table[n].round().astype(int)
    table.insert(0, "point", np.arange(len(table)))
    return table


def point_overrides(exp: Experiment, row: dict) -> dict[str, Any]:
    """The scenario overrides of one design point (fixed values first, then the knobs)."""
    values = dict(exp.fixed)
    for n in exp.parameters:
        v = row[n]
        values[n] = v.item() if hasattr(v, "item") else v
    return values


def design_apart(exp) -> pd.DataFrame:
    """The experiment's design, drawn in a short-lived child process when it needs scipy.stats
    or SALib: the sweep's parent lives as long as the sweep and need not hold those libraries
    (about 50 MB; docs/PERFORMANCE.md, memory). Same numbers as ``design(exp)``."""
    if exp.sampler == "grid":
        return design(exp)
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(design, exp).result()
