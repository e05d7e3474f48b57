"""The replication API under its earlier name, for scripts written against it (tests/golden/regenerate.py,
experiments/*.py). The code lives on the experiment floor: sim/experiment/replication.py (``run_one``,
``iterate``), sim/experiment/evaluators.py (pools, Dask, faults) and sim/experiment/store.py (the result
files); new code imports from there.
"""

from sim.experiment.evaluators import DIED, FAULT_ENV, TRIES, pooled, worker_setup
from sim.experiment.replication import LostReplication, Replication, iterate, local_pool, run_one, run_scenario
from sim.experiment.store import (LOCK_FILE, RESULT_FILES, check_out_dir, clear_results, failed_line, failed_listing,
                                  out_lock, results_frames, write_results)

__all__ = ["DIED", "FAULT_ENV", "LOCK_FILE", "RESULT_FILES", "TRIES", "LostReplication", "Replication", "check_out_dir",
           "clear_results", "failed_line", "failed_listing", "iterate", "local_pool", "out_lock", "pooled",
           "results_frames", "run_one", "run_scenario", "worker_setup", "write_results"]
