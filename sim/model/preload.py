"""Imported once by the fork server of a local worker pool (sim/experiment/evaluators.py): the model's
modules (and matplotlib's path module, which builds theater grids) are imported and the
compiled kernels loaded before any worker is forked, so no worker pays for them in time
and the workers share those pages in memory instead of holding a copy each.

``gc.freeze()`` keeps them shared: without it, the first full garbage collection in each
worker writes to the header of every imported object and so copies every page that holds
one (about 50 MB a worker, measured in docs/PERFORMANCE.md's memory section)."""

import gc

import matplotlib.path  # noqa: F401  (sim.theater.grid imports it when a worker builds its grid)

from sim.model import kernels, model  # noqa: F401

kernels.warm_up()
gc.collect()
gc.freeze()
