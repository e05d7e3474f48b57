"""``sim bench``: how fast the model is, measured, and written to docs/PERFORMANCE.md.

Measures, in one process on this machine:

* construction of a replication of the default scenario (the theater grid built
  once per process, then cached) apart from stepping;
* stepping: seconds per replication and per simulated day, and microseconds per
  *agent-step* (a present unit on a simulated day);
* ``sim run`` throughput (replications per second) on 1 and 2 workers, and the
  speed-up;
* the reference: Mesa's bundled WolfSheep example in its large configuration
  (100 x 100 grid, 1,000 sheep, 500 wolves, 20 steps), microseconds per agent-step
  (a sheep or wolf on a step), and the ratio of the two: the median of several
  interleaved rounds (ours, WolfSheep, ours, WolfSheep, ...), since one pass of each
  varied 1.3x to 3x on this shared machine.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import time
from pathlib import Path

import numpy as np

from sim import __version__
from sim.core.io import write_text_atomic

REPO = Path(__file__).resolve().parents[1]


def _default():
    """The default scenario (scenarios/base.yaml) and its theater, as every measurement uses them."""

    from sim.theater import load_default
    from sim.theater import theater_of

    doc = load_default()
    return doc, theater_of(doc)


def bench_model(replications: int = 4) -> dict:
    from sim.model.model import PokrovskModel
    from sim.core.seeding import replication_seed

    t0 = time.perf_counter()
    doc, theater = _default()
    first = PokrovskModel(doc.scenario, replication_seed(0, 0), theater)
    first_build = time.perf_counter() - t0
    first.run()  # warm: the compiled kernels load (or compile) on their first call, untimed
    builds, steps, agent_steps, days = [], [], 0, 0
    for i in range(replications):
        t = time.perf_counter()
        m = PokrovskModel(doc.scenario, replication_seed(0, i), theater)
        builds.append(time.perf_counter() - t)
        t = time.perf_counter()
        while m.running:
            agent_steps += int(m.forces.present.sum())
            m.step()
        steps.append(time.perf_counter() - t)
        days += m.day
    del first
    step_total = sum(steps)
    return {
        "first_build_s": first_build, "build_s": float(np.mean(builds)), "step_per_replication_s": float(np.mean(steps)),
        "step_per_day_ms": 1000 * step_total / days, "agent_step_us": 1e6 * step_total / max(agent_steps, 1),
        "agent_steps_per_replication": agent_steps / replications, "days": days // replications,
        "replications": replications,
    }


def bench_phases(replications: int = 4) -> dict[str, float]:
    """Milliseconds per simulated day spent in each step of the daily schedule (the profile
    behind docs/PERFORMANCE.md): every step function is timed in place for a few replications."""
    from sim import outcomes
    from sim.model import combat, commanders, doctrine, fires, logistics, model as model_module, movement, weather
    from sim.model.options import OPTIONS, Option
    from sim.core.seeding import replication_seed

    steps = [(weather, "set_today"), (fires, "availability"), (logistics, "update"), (fires, "fire"),
             (combat, "fight"), (combat, "counter_offensive"), (movement, "change_control"),
             (movement, "clear_empty_pockets"), (movement, "displace_defenders"), (movement, "move_toward_targets"),
             (doctrine, "cohesion_and_surrender"), (doctrine, "arrivals"), (commanders, "defender_orders"),
             (commanders, "counterattack_orders"), (commanders, "attacker_orders"),
             (model_module.PokrovskModel, "update_front"), (model_module.PokrovskModel, "update_unit_agents"),
             (outcomes.Recorder, "record")]
    # each option's own schedule rows (4b, 6e, 8d), where the option has them
    owners = dict.fromkeys(c for option in OPTIONS.values() for c in option.__mro__ if c not in (Option, object))
    steps += [(owner, hook) for owner in owners for hook in ("under_fire", "march", "decide") if hook in vars(owner)]
    spent: dict[str, float] = {}
    saved = []

    def timed(owner, name):
        inner = getattr(owner, name)
        saved.append((owner, name, inner))
        label = f"{getattr(owner, '__name__', '')}.{name}".split(".")[-2:]

        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                key = ".".join(label)
                spent[key] = spent.get(key, 0.0) + time.perf_counter() - t
        setattr(owner, name, wrapper)

    doc, theater = _default()
    model_module.PokrovskModel(doc.scenario, replication_seed(0, 0), theater).run()  # warm
    for owner, name in steps:
        timed(owner, name)
    try:
        days, t0 = 0, time.perf_counter()
        for i in range(replications):
            m = model_module.PokrovskModel(doc.scenario, replication_seed(0, i), theater).run()
            days += m.day
        total = time.perf_counter() - t0
    finally:
        for owner, name, inner in saved:
            setattr(owner, name, inner)
    out = {k: 1000 * v / days for k, v in sorted(spent.items(), key=lambda kv: -kv[1])}
    out["(construction, the rest of step)"] = 1000 * (total - sum(spent.values())) / days
    return out


def bench_grid(days: int = 60, repeats: int = 100) -> dict[str, float]:
    """Microseconds each of the day's whole-grid kernels takes on the default scenario's grid after
    ``days`` days (the median of five batches of ``repeats`` calls): the floor under a simulated
    day while the grid work is done over every cell every day (docs/PERFORMANCE.md, "Why")."""
    from sim.model import kernels, logistics
    from sim.model.agents import ATTACKER, DEFENDER
    from sim.model.model import PokrovskModel
    from sim.core.seeding import replication_seed

    doc, theater = _default()
    m = PokrovskModel(doc.scenario, replication_seed(0, 0), theater)
    for _ in range(days):
        m.step()
    cell_km = m.grid.cell_km
    control_def, passable = m.control == DEFENDER, m.control != ATTACKER
    dist = kernels.edt_km(control_def, cell_km)
    widths = np.array([t for t in logistics.HALF_WIDTHS_KM if t >= cell_km])
    sources = m.source_cells[control_def[m.source_cells[:, 0], m.source_cells[:, 1]]]
    level = np.where(control_def, np.searchsorted(widths, dist, side="right"), 0)
    level[m.city_zone & passable] = len(widths)
    road_def = control_def & (m.grid.road > 0)
    calls = {
        "distance transform (`edt_km`)": lambda: kernels.edt_km(control_def, cell_km),
        "flood fill of the passable ground (`reach`)": lambda: kernels.reach(passable, sources),
        "widest path over the probe levels (`widest_level`)": lambda: kernels.widest_level(level, sources, len(widths)),
        "road service (`within_steps`)": lambda: kernels.within_steps(road_def, 2),
        "the supply network in one call (`supply_network`)": lambda: kernels.supply_network(
            control_def, passable, dist, m.city_zone, m.grid.road, sources, widths, 2, cell_km),
        "step 3b's network as the model calls it (`logistics._network_today`)": lambda: logistics._network_today(m),
    }
    out = {}
    for name, call in calls.items():
        call()
        batches = []
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(repeats):
                call()
            batches.append((time.perf_counter() - t) / repeats)
        out[name] = 1e6 * float(np.median(batches))
    return out


def _busy(_: int = 0) -> float:
    """A fixed CPU task (a Python loop and some numpy), timed."""
    t = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i * i
    a = np.random.default_rng(0).random((300, 300))
    for _ in range(100):
        a = np.sqrt(a + 1.0)
    return time.perf_counter() - t


def bench_machine_scaling(workers: int = 2, tasks: int = 8) -> float:
    """How much faster ``workers`` processes get through a fixed CPU task than one process:
    the ceiling this machine puts on any speed-up (shared cores, other load)."""
    from concurrent.futures import ProcessPoolExecutor

    one = min(_busy() for _ in range(3))
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_busy, range(workers)))
        t = time.perf_counter()
        list(pool.map(_busy, range(tasks)))
        wall = time.perf_counter() - t
    return tasks * one / wall


def bench_thousand(workers: int = 2) -> float:
    """Seconds for 1,000 replications of the default scenario with ``sim run``'s machinery
    on ``workers`` processes, from a cold start (pool start-up and worker renewal included)."""
    from sim.experiment.replication import iterate

    doc, theater = _default()
    t = time.perf_counter()
    n = sum(1 for _ in iterate(doc.scenario, theater, 0, list(range(1000)), workers))
    assert n == 1000
    return time.perf_counter() - t


def bench_throughput(serial_runs: int, pool_runs: int, workers: int = 2) -> dict:
    """Replications per second: in-process (``--workers 1``), and on a warm pool of ``workers``
    (``--workers N``), with the pool's start-up (fork server, imports, compiled kernels) apart."""
    from sim.experiment.replication import iterate, local_pool

    doc, theater = _default()
    next(iterate(doc.scenario, theater, 0, [10**6]))  # warm this process (grid cache, kernels)
    t = time.perf_counter()
    n1 = sum(1 for _ in iterate(doc.scenario, theater, 0, list(range(serial_runs))))
    serial = n1 / (time.perf_counter() - t)
    t = time.perf_counter()
    with local_pool(doc.scenario, theater, 0, workers) as pool:
        list(iterate(doc.scenario, theater, 0, [10**6 + k for k in range(workers)], workers, chunk=1, pool=pool))
        startup = time.perf_counter() - t
        t = time.perf_counter()
        n2 = sum(1 for _ in iterate(doc.scenario, theater, 0, list(range(pool_runs)), workers, pool=pool))
        pooled = n2 / (time.perf_counter() - t)
    return {"serial_runs": serial_runs, "pool_runs": pool_runs, "workers": workers, "rate_1": serial,
            "rate_pool": pooled, "startup_s": startup, "speedup": pooled / serial,
            "thousand_s": startup + 1000 / pooled}


def _tree_pss_mb(root: int) -> tuple[float, float]:
    """Proportional set size (MB) of a process and all its descendants, and of the process alone
    (shared pages of forked workers counted once, in shares)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    total, own, todo = 0.0, 0.0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    mb = int(line.split()[1]) / 1024
                    total += mb
                    own = mb if pid == root else own
                    break
        except OSError:
            continue
    return total, own


def bench_sweep_memory(runs: int, workers: int = 2) -> dict:
    """Run a sweep of ``runs`` replications (``sim sweep``, LHS over four knobs of the default
    scenario) and sample the memory of the whole process tree every half second."""
    import subprocess
    import sys
    import tempfile

    from sim.scenario import BASE_SCENARIO

    points = max(1, min(200, runs // 10))
    reps = max(1, runs // points)
    with tempfile.TemporaryDirectory(prefix="sim-bench-") as tmp:
        exp = Path(tmp) / "memory.yaml"
        exp.write_text(f"""name: bench_memory
scenarios: [{BASE_SCENARIO.resolve()}]
sampler: lhs
samples: {points}
parameters:
  weather.fog_frequency: {{range: [0.05, 0.35]}}
  forces.attacker.personnel: {{range: [110000, 170000]}}
  forces.defender.personnel: {{range: [30000, 60000]}}
  drones.defender.sorties_per_day: {{range: [1500, 5000]}}
replications: {reps}
seed: 1
outcomes: [encircled]
""")
        cmd = [sys.executable, "-m", "sim.cli", "sweep", str(exp), "--out", str(Path(tmp) / "out"),
               "--workers", str(workers), "--no-plots"]
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONWARNINGS": "ignore"})
        peak_total = peak_parent = 0.0
        while proc.poll() is None:
            total, own = _tree_pss_mb(proc.pid)
            peak_total, peak_parent = max(peak_total, total), max(peak_parent, own)
            time.sleep(0.5)
        err = proc.stderr.read() if proc.stderr else ""
        if proc.returncode != 0:
            raise RuntimeError(f"the memory sweep failed: {err.strip().splitlines()[-1:] if err else proc.returncode}")
        return {"runs": points * reps, "workers": workers, "seconds": time.perf_counter() - t,
                "peak_tree_mb": peak_total, "peak_parent_mb": peak_parent, "date": dt.date.today().isoformat()}


def bench_wolf_sheep(steps: int = 20) -> dict:
    from mesa.examples.advanced.wolf_sheep.agents import Sheep, Wolf
    from mesa.examples.advanced.wolf_sheep.model import WolfSheep, WolfSheepScenario

    scenario = WolfSheepScenario(width=100, height=100, initial_sheep=1000, initial_wolves=500, rng=42)
    t = time.perf_counter()
    model = WolfSheep(scenario)
    build = time.perf_counter() - t
    agent_steps = 0
    t = time.perf_counter()
    for _ in range(steps):
        agent_steps += len(model.agents_by_type.get(Sheep, [])) + len(model.agents_by_type.get(Wolf, []))
        model.step()
    elapsed = time.perf_counter() - t
    return {"build_s": build, "steps": steps, "step_s": elapsed, "agent_steps": agent_steps,
            "agent_step_us": 1e6 * elapsed / max(agent_steps, 1)}


def bench_against_wolf_sheep(rounds: int = 5, replications: int = 1) -> dict:
    """Microseconds per agent-step of ours and of WolfSheep, measured in turn (ours, WolfSheep,
    ours, ...) so that both see the same load: each round, their medians, and WolfSheep's last
    measurement in full."""
    measured, wolf = [], {}
    for _ in range(rounds):
        ours = bench_model(replications)["agent_step_us"]
        wolf = bench_wolf_sheep()
        measured.append({"ours_us": ours, "wolf_sheep_us": wolf["agent_step_us"],
                         "ratio": ours / wolf["agent_step_us"]})
    medians = {key: float(np.median([m[key] for m in measured])) for key in ("ours_us", "wolf_sheep_us", "ratio")}
    return {"rounds": measured, **medians, "wolf_sheep": {**wolf, "agent_step_us": medians["wolf_sheep_us"]}}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def run_bench(out: Path, serial_runs: int = 30, pool_runs: int = 120, sweep_runs: int = 0,
              replications: int = 4, thousand: bool = False) -> dict:
    """Measure everything and write ``out`` (Markdown) and its data beside it (``.json``).

    The sweep-memory measurement is long (a sweep of ``sweep_runs`` runs); with
    ``sweep_runs`` 0 the last one recorded in the ``.json`` is kept, with its date.
    """
    import json

    data_path = out.with_suffix(".json")
    previous = json.loads(data_path.read_text()) if data_path.exists() else {}
    model = bench_model(replications)
    reference = bench_against_wolf_sheep()
    wolf = reference.pop("wolf_sheep")
    result = {"date": dt.date.today().isoformat(), "machine": machine(), "version": __version__,
              "model": model, "phases": bench_phases(replications), "grid": bench_grid(), "wolf_sheep": wolf,
              "throughput": bench_throughput(serial_runs, pool_runs),
              "machine_scaling": bench_machine_scaling(),
              "thousand_s": bench_thousand() if thousand else previous.get("thousand_s"),
              "thousand_date": dt.date.today().isoformat() if thousand else previous.get("thousand_date"),
              "ratio": reference["ratio"], "reference": reference,
              "memory": bench_sweep_memory(sweep_runs) if sweep_runs else previous.get("memory"),
              "history": previous.get("history", [])}
    write_performance(out, result)
    write_text_atomic(data_path, json.dumps(result, indent=1) + "\n")
    return result


WHY = """\
*Where the time goes now.* The grid work of a day (distance transform, supply network,
corridor: some six passes over 14,605 cells, logistics in the profile above) is compiled
and is now the largest share, about a quarter to a third of the day. The fighting (fires,
combat, counter-attacks) is compiled since the fourth round: about a sixth of the day.
What is left in Python is the commanders' orders (commanders.py, another engineer's file in
this round: about a tenth of the day), the daily record (sim/outcomes.py, the same), and
the schedule's own calls: some sixteen steps, each a few numpy calls and kernel calls on
arrays of about 40 units or 150 contact cells, where a call costs its overhead (1 to 5 µs),
not its arithmetic.

*What meeting them takes.* 30 s for 1,000 runs on 2 workers is about 0.055 s a
replication, under half a millisecond a simulated day: three to four times faster than now.
The whole-grid work alone takes most of that half millisecond (the table "The whole-grid
work alone": the distance transform and the supply network, each pass already linear in
the cells and compiled). Fusing the two into one call that reads the control grid directly
(no masks, no Python between them) was tried in the fifth round and was about a sixth
faster on that step: a few per cent of the day, so it was not kept. The target needs that
work done incrementally (only around the cells that changed hands: about 6% of days
change none, so skipping unchanged days does not pay; a cell's distance to the enemy
changes only within the reach of a flipped cell, but a retaken cell lengthens distances
that the transform's passes do not bound) as well as the rest of the day in one compiled
call (the orders, the record and the movement fused over the unit arrays, passed once).
Replications run in lockstep would share the interpreter's overhead but not the grid work.
The kernels of these rounds are the parts of such a rewrite; `experiments/paired_check.py`
is the check it needs.

*The speed-up.* Two workers on two cores share them with the parent process (which
collects results and draws the progress bar) and with the machine's other load; the
speed-up is measured on a warm pool, its start-up counted apart. The machine's own
scaling (a fixed CPU task on two processes against one, measured in the same minute)
varies from run to run on this shared machine: 1.83 and 2.15 in two runs a minute
apart while writing this. Our speed-up has measured 1.75 to 1.98 over the day; the
1.8 target sits inside that noise.

*Memory.* A sweep's memory is the import footprint of its processes, not its runs: the
parent (pandas, pyarrow, the experiment), the fork server holding the model's imports
(Mesa with pandas, SciPy, Numba's LLVM, matplotlib's path module), two workers sharing
those pages, and multiprocessing's resource tracker. It stays flat over the sweep (the
parent keeps one row per finished run and writes Parquet parts). It is measured as the
proportional set size (PSS) of the whole process tree, so pages shared between the fork
server and its workers count once; resident set sizes added up would count them three
times.
"""


GLUE = """\
The second round (issue 14, speed part) compiled the Python and numpy glue of the day
around the grid kernels, keeping every seeded result bit-identical. The new kernels are in
`sim/model/kernels.py` (grid work) and `sim/model/glue.py` (small-array arithmetic), each
quoting the numpy or scipy expression it replaces; tests/test_glue.py compares each with
that expression, exactly, on random inputs.

* **Front cells** (`border_cells`): the contact cells, the attacker's front and the
  defender's counter-attack targets in one pass each instead of five numpy passes over
  the grid; `touches` compiled; cell centres compiled.
* **Supply network** (`supply_network`, `edt_km`): the city zone, the road mask, the
  pockets, the bottleneck field and the corridor's summary in the same compiled call as
  the probes; the distance transform returns kilometres.
* **Engagement** (`glue.gauss_exponent`, `glue.engaged_personnel`): the engagement
  matrix's arithmetic compiled, row sums in numpy's own pairwise order
  (`glue.pairwise_sum`, the same bits as `ndarray.sum`).
* **Wedge support** (`box_mean`): scipy's `uniform_filter(mode="nearest")` replayed in
  its own order (a running sum divided by the window's size at each cell), the same bits.
* **Deep-infiltration candidates** (`cells_between`) and the breakthrough probe's distance
  (`edt_km` instead of scipy's distance transform).
* **Enum members passed to kernels**: Numba types an `IntEnum` member through a slow path
  on every call (some 10% of a day once the kernels above were in); the control states
  now go to the kernels as plain ints.

What had to stay numpy, so that results stay the same to the bit: `exp`, `log` and
`power` (numpy evaluates them with its own vectorised code on this AVX-512 machine, which
rounds differently from the C library Numba calls: about 5% of `exp` values differ in the
last bit), and the matrix products of the combat kernel (BLAS sums in its own order).
Fusing those would change results in the last bits; it is left for the whole-day kernel,
with the paired statistical checks the issue asks for. The k-d tree of `nearest_contact`
also stays (its choice among equally near cells is the tree's).

Measured: {glue_ratio}

Checked bit-identical, before and after every change: `sim run` of base (seeds 1 and 7),
hold_pokrovsk, hindcast_2025 (100 days), withdraw, reinforce, kursk_pressure and base
with `--posterior scenarios/posterior_tempo.yaml` (25 replications in all), comparing
runs.parquet and timeseries.parquet with pandas `equals` and control.npz array by array.
"""

GLUE_MEASURED = (
    "stepping one replication of scenarios/base.yaml (120 days) takes 1.21x less CPU time than at 00c11d5, "
    "the commit before this round: median of the per-round ratios over 8 interleaved rounds of 2 replications "
    "(0.534 s against 0.447 s a replication, `time.process_time` around `PokrovskModel.run()`, each tree in a "
    "process of its own, the rounds alternating between them, on this shared 2-core machine); 1.17x in a "
    "second run of 7 rounds while the test suite held both cores. Less than the 1.31x of the lost first "
    "attempt: the combat's exp, log and power and its matrix products stayed numpy to keep the bits.")


CORE = """\
The third round (issue 14, model-core branch) compiled most of what the second left in
Python outside commanders.py and mechanisms.py (another engineer's files in that round),
again keeping every seeded result bit-identical. Each kernel quotes the numpy it replaces
and tests/test_glue.py compares the two exactly, on random inputs:

* **The record** (`glue.side_tallies`, `kernels.control_tally`): the day's sums over the
  units (numpy's pairwise order, `glue.masked_sum`) and the control grid's counts, the
  city's share, the deepest advance and the next line in two flat passes instead of
  some twenty numpy calls. The **breakthrough probe** finds the new ground in one pass
  (`new_ground`) and measures only the new cells' distance to the older front
  (`distance_to_nearest`, a ring search in exact squared integers) instead of the
  distance transform of their whole bounding box.
* **Movement** (`move_units`, `nearest_cell`, `cells_at_xy`): step 6d whole, the
  nearest own cell for placement, fallback and break-out, and units' cells (Python's and
  numpy's float floor division replayed, `floor_index`).
* **Control changes** (`contact_captures`, `retake_cells`, `collapse_isolated`,
  `clear_unmanned`, `box_mean_at`): the captures and retakes cell by cell; the sealing
  candidates as front cells of a World layer (`open_active`); the wedge support read
  only at the candidates (column counts, then `box_mean`'s own row pass on the rows asked
  for: 5x cheaper than filtering the grid); empty pockets by a flood fill from the manned
  cells instead of `scipy.ndimage.label` (component membership does not depend on the
  labels' numbering).
* **Supply and losses** (`defender_supply`, `glue.book_losses`, `glue.replacements`):
  the defenders' supply update, the booking of losses (`np.add.at` replayed in order)
  and the replacements; a defender cell deeper than the widest corridor probe gets its
  level in one comparison.
* **Combat** (`glue.attack_powers`, `defence_powers`, `kernels.line_posture`,
  `glue.contact_hazards`, `within_reach`, `glue.front_distance`): the units' power, the
  defenders' posture factor, the contact cells' three hazards and the counter-attack's
  reach; a party's engaged personnel per cell summed once a day instead of three times.
* **The attacker commander's front choice** (`spread_along_front`, `nearest_front`, in
  kernels.py): a cell whose score cannot win, by a lower bound of `hypot` (the longer
  leg), is passed over without computing it: 2-3x cheaper, the same choices on grids
  full of ties.
* **Construction**: the unused walk of the scenario's uncertain inputs goes; the
  advance-from distances use the compiled distance transform.
* **Warm-up** (`kernels.warm_up`) compiles every kernel on the exact types the model
  passes (read-only World layers, `np.argwhere`'s Fortran order, strided cell columns),
  so a worker forked after it neither compiles nor loads a kernel mid-run
  (tests/test_glue.py checks it).

The scenario's numbers are typed (`schema.num()` gives `float`, or `int` with
`integer=True`, serialised as before), so the model's hundred-odd `float()`/`int()`
casts of scenario values went.

What stays, and why: `exp`, `log` and `power` and the combat's matrix products (as in
the second round: numpy's SIMD rounding and BLAS's summation order); `np.interp` in
Dupuy's opposition factor (numpy's C loop may fuse the interpolation into one
multiply-add; not replayed without a check of the build); the k-d tree of
`nearest_contact` (its choice among equally near cells, about half of them on this
grid, is the tree's); the weather's rescaling at construction (LAPACK's `lstsq`, and
its targets are drawn per replication, so it cannot be cached); the distance transform
and the supply network (exact already; a bucket-queue pool and a row scan were tried and
were slower); the formulas of mechanisms.py and the orders of commanders.py (not edited
in this round).

Measured: {core_ratio}

Checked bit-identical after every change: the SHA-256 of runs.parquet, timeseries.parquet
and control.npz of `sim compare` of the four options (hold, withdraw, reinforce,
kursk_pressure; `--runs 8 --seed 3 --workers 1`) and of `sim run
scenarios/hindcast_2025.yaml --runs 4 --seed 5 --workers 1`, against the files of the
commit before the round; and a hash of the outcome rows, time series and final control
of 2 replications of each of base, the four options and hindcast_2025 (60 days).
"""

CORE_MEASURED = (
    "a replication (construction and 120 days, `time.process_time`) takes 1.38x less CPU time than at 0d17c8b, "
    "the commit before this round, on scenarios/base.yaml: median of the per-round ratios over 12 interleaved "
    "rounds of 4 replications (0.471 s against 0.340 s a replication, the medians of the rounds), and 1.40x on "
    "scenarios/hold_pokrovsk.yaml (8 rounds of 3; 0.483 s against 0.342 s). Each tree ran in a process of its "
    "own (the editable install's import hook removed, the tree first on `sys.path`), warmed by one replication, "
    "and the two took the same seeds in turns, the first to go alternating by round, on this shared 2-core "
    "machine (load average 4 to 6 while measuring). With the second round's 1.21x, about 1.7x less CPU than at 00c11d5.")


PAIRED = """\
Where a change lets seeded results differ in the last bits, `experiments/paired_check.py`
shows whether the outcome distributions still agree (issue 14: "paired tests on 200
replications of each shipped scenario"). It runs the same replications (same root seed)
of base, hold_pokrovsk, withdraw_kramatorsk_sloviansk, reinforce_from_kursk and
kursk_pressure (`--runs`, default 200) and of hindcast_2025 (330 days: `--hindcast-runs`,
default 100, whole horizon) on two source trees: a git ref (`--ref`, checked out into a
temporary worktree) and the working tree (or `--after REF`, checked out the same way, so the
working tree may change while the check runs), each in subprocesses of its own with that tree
first on `sys.path` and the editable install's import hook removed. Per scenario it tests
P(encirclement) (Fisher's exact test), the fall of Pokrovsk censored at the horizon when
the city holds (the log-rank test), and defender casualties, attacker casualties and
ground lost (two-sample Kolmogorov-Smirnov, and the paired difference of means with its
95% t interval and p-value); all p-values of all scenarios are Holm-corrected together,
and the script exits 1 when any is distinguishable at 5%. Parts of 25 replications are
kept under `--out`, so an interrupted check resumes. `--workers 2` runs two subprocesses at
once; the whole check took about 25 minutes on this shared machine.

    .venv/bin/python experiments/paired_check.py --ref main --workers 2 --out results/paired
"""


FIGHT = """\
The fourth round (issue 14, last part) let seeded results change in the last bits, as the
issue allows when a paired check shows the outcome distributions unchanged, and compiled
what had to stay numpy to keep them:

* **The fighting** (`sim/model/assault.py`): the one combat kernel (`assault.assault`: each
  party's power per cell, the force ratio, the hazard, Dupuy's casualty rates with the
  opposition factor, the losses booked on the units) and the contact cells' result
  (`assault.contact`: the gap, the city's strangulation, the kill zone and tempo, the
  infiltrators spread along the line, the three hazards, each defender's threat), with the
  C library's `exp`, `log` and `pow` and sums in loop order instead of numpy's SIMD and
  BLAS. `combat.fight` and `combat.counter_offensive` are now a few compiled calls each
  instead of some sixty numpy calls. The engagement Gaussian takes as 0 a unit's share
  beyond sqrt(80) widths of it (below exp(-40) of its peak, under the last bit of its
  personnel near it), which spares most of the day's `exp` calls. The fires' losses
  (`assault.fire_losses`) are one call a side.
* **Deep infiltration** (`kernels.deep_infiltration`): each candidate's nearest contact
  cell by a direct search (the first of equally near cells in the contact cells' order;
  the k-d tree had its own choice among ties, so this changes results too), the hazard
  and the capture in one call; scipy's `cKDTree` is gone from the model.
* **Cohesion** (`glue.cohesion_day`, bit-identical).

combat.py and mechanisms.py keep their formulas as numpy functions (the sources, the
tests of tests/test_formulas.py and tests/test_mechanisms.py); tests/test_assault.py
checks each kernel against them to 1e-12 on random inputs.

Measured: {fight_ratio}

Checked equivalent: {fight_paired}

The seeded results changed, so docs/CALIBRATION.md's numbers (fitted and measured on the
code before this round) hold statistically, not run for run; the golden files of
tests/test_golden.py were regenerated after the paired check passed.
"""

FIGHT_MEASURED = (
    "a replication (construction and 120 days, `time.process_time`) takes 1.31x to 1.49x less CPU time than at "
    "a166066, the commit before this round: the medians of the per-round ratios of three interleaved runs, two on "
    "scenarios/base.yaml (12 rounds of 4 replications each: 1.49x and 1.31x; 0.30-0.39 s against 0.24-0.27 s a "
    "replication) and one on scenarios/hold_pokrovsk.yaml (10 rounds of 4: 1.33x; 0.374 s against 0.269 s), each "
    "tree in a persistent process of its own (the editable install's import hook removed, the tree first on "
    "`sys.path`), warmed by one replication, the two taking the same seeds in turns, the first to go alternating "
    "by round, while another engineer's calibration campaign held the machine (load average 3 to 4). The day's "
    "combat step went from about 0.36 to about 0.13 ms. With the earlier rounds, about 2.3x less CPU than at 00c11d5.")
FIGHT_PAIRED = (
    "`experiments/paired_check.py --ref a166066 --after 1cf161b --workers 2` (root seed 20261203; 200 "
    "replications of each 120-day scenario, 100 of hindcast_2025 over its 330 days): none of the 48 tests "
    "distinguishable after Holm's correction; the smallest unadjusted p-value 0.052 (withdraw's paired mean of "
    "defender casualties: -22 of 23,600, 95% CI -45 to +0.2); P(encirclement) within 0.02 in every scenario "
    "(reinforce 0.55 against 0.57, p 0.76), the median fall day within 2.5 days on the 120-day scenarios "
    "(hindcast 182 against 177.5, log-rank p 0.84). Between 30% and 43% of the replications still end with "
    "every tested outcome the same to the bit: a last-bit difference often changes no capture draw. The table "
    "is docs/PAIRED_CHECK.md.")

DONE = """\
The profile came first (cProfile and line_profiler of the default scenario, then each
schedule step timed in place as in the table above). The first profile: the corridor
probes labelled the defender's ground a dozen times a day (`scipy.ndimage.label`) and,
with the distance transform, took half of a simulated day; the attacker commander's
per-unit search of the front was next (about 15%).

* **Logistics in one pass** (`sim/model/kernels.py`, Numba): a flood fill from the
  sources instead of labelling; all twelve corridor probes at once as a widest-path
  (max-min) search over integer probe levels; the exact squared Euclidean distance
  transform (Felzenszwalb and Huttenlocher) in integers; the road-service dilation as a
  bounded breadth-first search. Then the whole supply network in one compiled call.
* **The attacker commander's front choice** compiled (the same scores, in the same
  order, first of equals).
* **No k-d tree for distances to the front** (a direct minimum over the contact cells,
  bit-identical to the tree's distances); the tree is kept, built on demand, where the
  index of the nearest contact cell matters (its choice among equals is the tree's).
* **Smaller things**: contested-cell collapse with a 4-neighbour test instead of a
  dilation; the morning's front reused when nothing changed hands overnight; moves
  checked for own ground at once; areas counted in one pass; kernels over flat indices.
* **Sweeps**: the grid cache was keyed by the theater object, and a sweep's workers
  receive a fresh copy of the theater with every batch of runs, so each batch built a
  new grid (120 ms) and kept it: memory grew without end. It is now keyed by the
  theater's content and bounded (tests/test_theater.py). The fork server freezes its
  imports out of the garbage collector (`gc.freeze()`), so the first full collection in a
  worker no longer copies the shared pages (about 50 MB a worker). The design is drawn
  in a short-lived child process, so the sweep's parent never loads scipy.stats or
  SALib (about 50 MB). A worker's memory still crept up by 25-50 KB a replication
  (native allocations, only in forked workers: tracemalloc sees none of it, and one
  process running the same replications does not grow), so pools now retire their
  workers after 25 batches each (`runner.BATCHES_PER_WORKER`; Python 3.12.1's own
  `max_tasks_per_child` hangs the pool here). Workers end when their parent is killed.

Every change was checked to give the same results, bit for bit, as before it: the
outcome rows, time series and final control grids of 6 replications of each of the five
shipped scenarios (30 runs); and tests/test_kernels.py compares each compiled kernel
with the scipy or numpy expression it replaces, on random grids.
"""


def _rounds_text(reference: dict | None) -> str:
    """The interleaved rounds behind the ratio, as a table."""
    if not reference:
        return "Measured in one pass of each (before the rounds were interleaved)."
    rows = "\n".join(f"| {i} | {x['ours_us']:.1f} | {x['wolf_sheep_us']:.2f} | {x['ratio']:.2f} |"
                     for i, x in enumerate(reference["rounds"], 1))
    return f"""The per agent-step figures and the ratio are medians of {len(reference['rounds'])} interleaved rounds
(a replication of ours, then WolfSheep, then ours again, ...), so that both meet the same load
on this shared machine (one pass of each varied 1.3x to 3x):

| round | ours, µs per agent-step | WolfSheep, µs per agent-step | ratio |
|---|---|---|---|
{rows}
| **median** | {reference['ours_us']:.1f} | {reference['wolf_sheep_us']:.2f} | {reference['ratio']:.2f} |"""


def _status(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _load_note(scaling: float | None) -> str:
    """A warning when other jobs held the cores while ``sim bench`` ran (the machine's own two-process scaling
    on a fixed CPU task below 1.5): the absolute times of that run measure the load as much as the model."""
    if scaling is None or scaling >= 1.5:
        return ""
    return (f"\n**This run was made while other jobs held the cores**: a fixed CPU task ran only {scaling:.2f}x "
            "as fast on two processes as on one in the same minute (about 1.7 to 2 on a quiet machine). Its "
            "absolute times and rates are not comparable with other days' runs; the paired A/B ratios "
            "(\"Glue kernels\" sections) measure what the code changes bought.\n")


def _grid_text(grid: dict | None) -> str:
    if not grid:
        return "Not measured yet: run `sim bench`."
    rows = "\n".join(f"| {name} | {us:.0f} |" for name, us in grid.items())
    network_ms = list(grid.values())[-1] / 1000
    return f"""| kernel (every cell of the 127 x 115 grid) | µs a call |
|---|---|
{rows}

Step 3b calls the distance transform and the supply network once a day (the last row, with
its masks and the sources on defender ground): {network_ms:.2f} ms of the day, where the
issue's 30 s for 1,000 runs leaves about 0.5 ms for the whole day."""


def write_performance(path: Path, r: dict) -> None:
    m, w, tp, mem = r["model"], r["wolf_sheep"], r["throughput"], r.get("memory")
    thousand = r.get("thousand_s") or tp["thousand_s"]
    if r.get("thousand_s"):
        thousand_text = (f"{thousand:.0f} s, measured {r.get('thousand_date') or ''} (`sim bench --thousand`: 1,000 runs "
                         "from a cold start)")
    else:
        thousand_text = (f"about {thousand:.0f} s (start-up {tp['startup_s']:.1f} s + 1,000 / {tp['rate_pool']:.2f} per s; "
                         "`--thousand` measures it)")
    ours_us = (r.get("reference") or {}).get("ours_us", m["agent_step_us"])
    day = sum(r["phases"].values())
    phases = "\n".join(f"| {k} | {v:.3f} | {100 * v / day:.0f}% |" for k, v in r["phases"].items())
    history = "\n".join(f"| {h['change']} | {h['replication_s']:.3f} |" for h in r.get("history", []))
    if mem:
        mem_rows = f"""| quantity | measured |
|---|---|
| runs | {mem['runs']:,} on {mem['workers']} workers, {mem['seconds']:.0f} s (measured {mem['date']}) |
| peak memory of the whole process tree (PSS: parent, fork server, workers) | {mem['peak_tree_mb']:.0f} MB |
| peak memory of the parent (`sim sweep` itself) | {mem['peak_parent_mb']:.0f} MB |"""
        mem_status = f"{mem['peak_tree_mb']:.0f} MB at {mem['runs']:,} runs: {_status(mem['peak_tree_mb'] < 500 and mem['runs'] >= 10_000)}"
    else:
        mem_rows = "Not measured yet: run `sim bench --sweep-runs 10000`."
        mem_status = "not measured"
    campaign_min = 20_000 / (tp["rate_pool"] * 120 / 300) / 60  # replications a second scale with 1 / days
    text = f"""# Performance

Measured by `sim bench` (package {r['version']}) on {r['date']}: {r['machine']}.
Reproduce with `.venv/bin/sim bench` (about three minutes; writes this file and
`docs/PERFORMANCE.json`); add `--sweep-runs 10000` to measure the memory of a
10,000-run sweep again (about {(mem or {}).get('seconds', 1800) / 60:.0f} minutes). Numbers vary by several
per cent between runs on this shared machine; compare runs made the same day.
{_load_note(r.get('machine_scaling'))}
## Targets of the performance issue

| target | measured | status |
|---|---|---|
| 1,000 replications of a 120-day scenario in under 30 s on 2 workers (the model-core issue; 60 s before it) | {thousand_text} | {_status(thousand < 30)}{'' if thousand < 30 else f': {thousand / 30:.1f}x too slow'} |
| a 20,000-run calibration campaign of 300-day hindcasts in under 30 minutes on 2 cores | {campaign_min:.0f} minutes, projected from the 2-worker rate of 120-day replications scaled to 300 days | {_status(campaign_min < 30)}{'' if campaign_min < 30 else f': {campaign_min / 30:.1f}x too slow'} |
| per agent-step at least 3x cheaper than WolfSheep (same process) | {ours_us:.1f} µs against {w['agent_step_us']:.1f} µs: ratio {r['ratio']:.2f}{' (medians of interleaved rounds)' if r.get('reference') else ''} | {_status(r['ratio'] <= 1 / 3)}: needs {r['ratio'] * 3:.1f}x faster |
| speed-up from 1 to 2 workers at least 1.8 | {tp['speedup']:.2f} ({tp['rate_1']:.2f} -> {tp['rate_pool']:.2f} replications per s); the machine's own two-process scaling on a fixed CPU task, the same minute: {r.get('machine_scaling', float('nan')):.2f} | {_status(tp['speedup'] >= 1.8)} |
| peak memory of a 10,000-run sweep under 500 MB | {mem_status.split(':')[0]} | {mem_status.split(': ')[-1] if mem else '**not measured**'} |
| adaptive replications (`--precision P` on `sim run` and `sim compare`) | batches of 50 until the 95% interval of P(encirclement), and in compare of its paired differences, is within ±P; `--runs` caps it; the number used is reported | done (tests/test_run_command.py) |

## The default scenario (scenarios/base.yaml: 120 days, 1 km cells, 127 x 115 grid)

| quantity | measured |
|---|---|
| first construction in a process (builds and caches the theater grid) | {m['first_build_s'] * 1000:.0f} ms |
| construction of a replication (grid cached) | {m['build_s'] * 1000:.1f} ms |
| stepping one replication ({m['days']} days) | {m['step_per_replication_s']:.3f} s |
| per simulated day | {m['step_per_day_ms']:.2f} ms |
| agent-steps per replication (present units x days) | {m['agent_steps_per_replication']:.0f} |
| per agent-step | {m['agent_step_us']:.1f} µs |

## Throughput of replications (the `sim run` machinery)

| quantity | measured |
|---|---|
| 1 worker (in process), {tp['serial_runs']} replications | {tp['rate_1']:.2f} per s |
| {tp['workers']} workers (warm pool), {tp['pool_runs']} replications | {tp['rate_pool']:.2f} per s |
| start-up of the pool (fork server importing the model, loading the compiled kernels, forking) | {tp['startup_s']:.2f} s |
| speed-up | {tp['speedup']:.2f} |
| the machine's scaling: 8 fixed CPU tasks on 2 processes against 1 | {r.get('machine_scaling', float('nan')):.2f} |

## Reference: Mesa's WolfSheep (100 x 100, 1,000 sheep, 500 wolves, 20 steps, same process)

| quantity | measured |
|---|---|
| construction | {w['build_s'] * 1000:.0f} ms |
| 20 steps | {w['step_s']:.3f} s |
| agent-steps (sheep and wolves present at each step) | {w['agent_steps']} |
| per agent-step | {w['agent_step_us']:.2f} µs |

{_rounds_text(r.get('reference'))}

A unit-day here is not a sheep-step: besides its own orders, movement and combat, each
of about {m['agent_steps_per_replication'] / max(m['days'], 1):.0f} present units carries a share of the day's
grid work over 14,605 cells (supply network, distance transform, corridor, control
changes). The ratio is the issue's measure all the same.

## Memory of a long sweep

{mem_rows}

A sweep keeps one row per finished run (no time series) and writes a Parquet part every
`chunk_runs` runs; workers hold one replication at a time.

## Profile: where a simulated day goes (each schedule step timed in place, {m['replications']} replications)

| schedule step | ms per day | share |
|---|---|---|
{phases}

## The whole-grid work alone (day 60 of the default scenario, each kernel timed apart)

{_grid_text(r.get('grid'))}

## What was done, and what it bought

{DONE}

| commit and change (in order) | seconds per replication |
|---|---|
{history}

Seconds per replication: the best of three passes over 6 replications of the default
scenario in one process, each commit checked out in turn and timed the same day on this machine
(`PYTHONPATH=<checkout> .venv/bin/python` timing `PokrovskModel(...).run()`).

## Glue kernels

{GLUE.format(glue_ratio=GLUE_MEASURED)}
## Glue kernels, second pass

{CORE.format(core_ratio=CORE_MEASURED)}
## Compiled fighting, results changed in the last bits

{FIGHT.format(fight_ratio=FIGHT_MEASURED, fight_paired=FIGHT_PAIRED)}
## The paired equivalence check

{PAIRED}

## Why the speed targets are not met, and what would meet them

{WHY}
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
