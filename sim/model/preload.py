"""Imported once by the fork server of a local worker pool (sim/runner.py): the model's
modules are imported and its compiled kernels loaded before any worker is forked, so no
worker pays for either."""

from sim.model import kernels, model  # noqa: F401

kernels.warm_up()
