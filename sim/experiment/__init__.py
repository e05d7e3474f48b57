"""The experiment floor (floor 4 of docs/ARCHITECTURE.md): what runs the model, and how.

* ``parameters``: experiment files, their knobs and scenarios (``load_experiment``);
* ``samplers``: a design of points from the knobs (grid, LHS, Sobol, Morris);
* ``replication``: the one replication function (``run_one``) and the replications of a scenario;
* ``evaluators``: where the work runs (in this process, a pool of local processes, a Dask cluster),
  one interface for run, compare, sweep, robust, calibrate and the app's ensemble;
* ``store``: the result files (runs, time series, control counts, manifests; a sweep's parts,
  their merge and resume) and the lock on a results folder;
* ``sweep``: a design's points x replications, streamed to the store;
* ``requests``: what each command asks for, as typed values built by the command line.

The names an experiment file's reader needs are importable from ``sim.experiment`` itself.
"""

from sim.experiment.parameters import (SAMPLERS, Experiment, ExperimentDoc, Knob, experiment_doc, load_experiment,
                                       refuse_own_posteriors)
from sim.experiment.samplers import design, point_overrides, problem

__all__ = ["SAMPLERS", "Experiment", "ExperimentDoc", "Knob", "design", "experiment_doc", "load_experiment",
           "point_overrides", "problem", "refuse_own_posteriors"]
