"""The ``sim`` command: parses arguments and calls the library. Nothing else lives here.

Bad input of any kind ends with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from sim.core.errors import InputError

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line, exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(message, source=self.prog)


def _int_at_least(low: int, what: str):
    """An argparse type: a whole number >= ``low``; otherwise one line saying what was expected."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected {what}, found {text!r}")
        return value
    return parse


_non_negative_int = _int_at_least(0, "a whole number >= 0")
_positive_int = _int_at_least(1, "a positive integer")
_seed = _int_at_least(0, "a non-negative integer seed")


def _precision(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 0.5, found {text!r}") from None
    if not 0 < value < 0.5:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 0.5, found {text!r}")
    return value


def _levels(text: str) -> list[float]:
    """--map-levels: probabilities in (0, 1] separated by commas, e.g. 0.1,0.5,0.9."""
    try:
        levels = sorted({float(t) for t in text.split(",") if t.strip()})
    except ValueError:
        levels = []
    if not levels or not all(0 < lv <= 1 for lv in levels):
        raise argparse.ArgumentTypeError(f"expected probabilities in (0, 1] separated by commas (e.g. 0.1,0.5,0.9), "
                                         f"found {text!r}")
    return levels


def _map_levels_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--map-levels", type=_levels, default=None, metavar="P,P,...",
                        help="probability levels of the GIS contour map control_probability.geojson "
                             "(default 0.1,0.5,0.9)")


def _towns(text: str) -> list[str]:
    towns = [t.strip() for t in text.split(",") if t.strip()]
    if not towns:
        raise argparse.ArgumentTypeError(f"expected settlement names separated by commas, found {text!r}")
    return towns


def _posterior_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--posterior", metavar="FILE", default=None,
                        help="draw each replication's calibrated parameters from this posterior file (sim calibrate); "
                             "the same as --set posterior=FILE")


def _scheduler_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="run the replications on a Dask scheduler (tcp://HOST:PORT), or 'local' to start a "
                             "LocalCluster of --workers processes; the same seeds give the same results")


def _sets_with_posterior(sets: list[str], posterior: str | None) -> tuple[str, ...]:
    """``--posterior FILE`` is the scenario key ``posterior`` set for every scenario of the command."""
    import json

    return (*sets, f"posterior={json.dumps(str(Path(posterior).resolve()))}") if posterior else tuple(sets)


def _request(kind, args, **given):
    """The typed request (sim/experiment/requests.py) of a command from its parsed arguments: each
    field from the option of the same name, lists as tuples; ``given`` values win."""
    from dataclasses import fields

    parsed = vars(args)
    values = {f.name: parsed[f.name] for f in fields(kind) if f.name in parsed}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return kind(**(values | given))


def build_parser() -> argparse.ArgumentParser:
    from sim import __version__

    p = _Parser(prog="sim", description="Pokrovsk scenario simulator: options as outcome distributions.")
    p.add_argument("--version", action="version", version=f"sim {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    v = sub.add_parser("validate", help="check scenario (and theater) files; one line per problem")
    v.add_argument("files", nargs="+", metavar="FILE")
    v.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a value by dotted path (repeatable)")

    m = sub.add_parser("map", help="draw the theater and the scenario's front as a PNG")
    m.add_argument("scenario", metavar="SCENARIO")
    m.add_argument("--out", default="map.png", help="PNG file to write (default map.png)")
    m.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")

    f = sub.add_parser("front", help="turn an occupied-area map (GeoJSON) into a theater's front, with a PNG preview")
    f.add_argument("geojson", metavar="GEOJSON", help="a GeoJSON file of the occupied area, or a folder of "
                   "occupied_YYYY-MM-DD.geojson files")
    f.add_argument("--date", type=_date, help="the map's date (a folder: the latest map at or before it); "
                   "default: the file's 'date' property")
    f.add_argument("--out", required=True, help="GeoJSON file to write; a scenario names it as front: {geojson: FILE}")
    f.add_argument("--scenario", default=None, help="whose theater and settings to use (default: the base scenario)")

    r = sub.add_parser("run", help="run replications of a scenario and write runs/timeseries/manifest")
    r.add_argument("scenario", metavar="SCENARIO")
    r.add_argument("--runs", type=_positive_int, default=100, help="replications (default 100)")
    r.add_argument("--seed", type=_seed, default=0, help="root seed (default 0)")
    r.add_argument("--out", required=True, help="results folder")
    r.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    r.add_argument("--workers", type=_positive_int, default=1, help="worker processes (default 1)")
    r.add_argument("--force", action="store_true", help="overwrite results already in --out")
    r.add_argument("--no-plots", action="store_true", help="skip the figures")
    r.add_argument("--precision", type=_precision, default=None, metavar="P",
                   help="add replications until the 95%% interval of P(encirclement) is at most +/-P; --runs is the cap")
    r.add_argument("--animate", action="store_true",
                   help="also write animation.gif (and .mp4 where ffmpeg exists) of the first replication, day by day")
    r.add_argument("--first", type=_non_negative_int, default=0, metavar="I",
                   help="run replications I .. I+N-1 of the root seed (default 0): replays replication I of a "
                        "comparison with --seed ROOT --first I --runs 1")
    _posterior_option(r)
    _scheduler_option(r)
    _map_levels_option(r)

    cp = sub.add_parser("compare", help="run options with common random numbers and compare them")
    cp.add_argument("scenarios", nargs="+", metavar="SCENARIO")
    cp.add_argument("--runs", type=_positive_int, default=100, help="replications per option (default 100)")
    cp.add_argument("--seed", type=_seed, default=0, help="root seed (default 0)")
    cp.add_argument("--out", required=True, help="results folder")
    cp.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="override a value in every scenario (repeatable)")
    cp.add_argument("--set-for", dest="sets_for", action="append", default=[], metavar="OPTION:KEY=VALUE",
                    help="override a value in the option named OPTION only (repeatable)")
    cp.add_argument("--baseline", metavar="OPTION", default=None,
                    help="the option every other is compared against (default the first)")
    cp.add_argument("--all-pairs", action="store_true", help="paired differences of every pair of options")
    cp.add_argument("--towns", type=_towns, default=[], metavar="TOWN,TOWN",
                    help="add each named settlement's fall day (tables, survival curves), e.g. Myrnohrad,Rodynske")
    cp.add_argument("--workers", type=_positive_int, default=1, help="worker processes (default 1)")
    cp.add_argument("--force", action="store_true", help="overwrite results already in --out")
    cp.add_argument("--precision", type=_precision, default=None, metavar="P",
                    help="add replications until P(encirclement) and its paired differences are known to +/-P; "
                         "--runs is the cap")
    _posterior_option(cp)
    _scheduler_option(cp)
    _map_levels_option(cp)

    sw = sub.add_parser("sweep", help="run an experiment: a design of points x replications, streamed to Parquet")
    sw.add_argument("experiment", metavar="EXPERIMENT")
    sw.add_argument("--out", required=True, help="results folder")
    sw.add_argument("--resume", action="store_true", help="finish an interrupted sweep in --out")
    sw.add_argument("--force", action="store_true", help="start again, deleting a sweep in --out")
    _scheduler_option(sw)
    sw.add_argument("--workers", type=_positive_int, default=1, help="local worker processes (default 1)")
    sw.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="override a value in every scenario of the experiment (repeatable)")
    sw.add_argument("--no-plots", action="store_true", help="skip the figures")

    rb = sub.add_parser("robust", help="which option holds up across deep uncertainties: regret over a design of "
                                       "worlds, the worlds each option wins, the facts that would change the choice")
    rb.add_argument("experiment", metavar="EXPERIMENT", help="an experiment whose scenarios are the options and whose "
                    "parameters are the deep uncertainties (optionally with posterior: FILE)")
    rb.add_argument("--out", required=True, help="results folder (the sweep's files, report.md, report.html, figures)")
    rb.add_argument("--workers", type=_positive_int, default=1, help="local worker processes (default 1)")
    rb.add_argument("--resume", action="store_true", help="finish an interrupted robust run in --out")
    _scheduler_option(rb)
    rb.add_argument("--force", action="store_true", help="start again, deleting the runs in --out")
    rb.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="override a value in every option (repeatable)")

    ca = sub.add_parser("calibrate", help="history-match the model to the record in waves; write the posterior")
    ca.add_argument("campaign", metavar="CAMPAIGN")
    ca.add_argument("--out", required=True, help="results folder (one sweep a wave, points.csv, report.md, posterior.yaml)")
    ca.add_argument("--resume", action="store_true", help="finish an interrupted campaign in --out")
    ca.add_argument("--force", action="store_true", help="start again, deleting the waves' runs in --out")
    _scheduler_option(ca)
    ca.add_argument("--workers", type=_positive_int, default=1, help="local worker processes (default 1)")
    ca.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="override a value in every scenario of the campaign (repeatable)")

    vm = sub.add_parser("validate-model", help="regenerate the validation figures and tables of docs/CALIBRATION.md")
    vm.add_argument("--out", required=True, help="folder for the figures and tables")
    vm.add_argument("--runs", type=_positive_int, default=100, help="replications of the hindcast and of November (default 100)")
    vm.add_argument("--seed", type=_seed, default=0)
    vm.add_argument("--workers", type=_positive_int, default=1)
    vm.add_argument("--engagement-days", type=_positive_int, default=10,
                    help="length of the standard engagement set beside the Dupuy Institute table (default 10)")
    vm.add_argument("--record-runs", type=_non_negative_int, default=30,
                    help="replications per start date of the record test bench (hindcasts from 14 Jan, 1 Apr, "
                         "1 Jul, 1 Sep 2025 scored against DeepState; default 30, 0 skips it)")
    vm.add_argument("--record-only", action="store_true", help="run only the record test bench")
    _posterior_option(vm)

    bn = sub.add_parser("bench", help="measure the model's speed and write docs/PERFORMANCE.md")
    bn.add_argument("--out", default="docs/PERFORMANCE.md", help="where to write the report")
    bn.add_argument("--serial-runs", type=_positive_int, default=30,
                    help="replications timed in process for the 1-worker rate (default 30)")
    bn.add_argument("--pool-runs", type=_positive_int, default=120,
                    help="replications timed on a warm 2-worker pool (default 120)")
    bn.add_argument("--thousand", action="store_true",
                    help="also time 1,000 replications on 2 workers from a cold start (about 3 minutes)")
    bn.add_argument("--sweep-runs", type=_non_negative_int, default=0,
                    help="also measure the memory of a sweep of this many runs (long; 0 keeps the last measurement)")

    ap = sub.add_parser("app", help="the browser view: watch one replication day by day (Mesa SolaraViz); on /ensemble, several options x many replications")
    ap.add_argument("scenario", nargs="?", default=None, metavar="SCENARIO")
    ap.add_argument("--port", type=_positive_int, default=8765)
    ap.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")

    pl = sub.add_parser("plot", help="draw the figures (and maps for GIS) of a run, compare, sweep or robust folder again; "
                                     "a compare folder's report too")
    pl.add_argument("dir", metavar="DIR")
    _map_levels_option(pl)
    return p


def main(argv: list[str] | None = None) -> int:
    import signal

    # Ctrl-C stops long work and keeps what finished, even when started with SIGINT ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return 0
        return COMMANDS[args.command](args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # an --out that cannot be written, a full disk: one line, not a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def cmd_validate(args) -> int:
    from sim.theater import load_scenario
    from sim.theater.spec import load_theater

    bad = 0
    for f in args.files:
        try:
            if _looks_like_theater(f):
                load_theater(str(Path(f).resolve()))
                print(f"ok: {f} (theater)")
            elif _looks_like_posterior(f):
                from sim.posterior import load_posterior

                post = load_posterior(f)
                print(f"ok: {f} (posterior: {len(post.sets)} sets of {len(post.parameters)} parameters)")
            elif _looks_like_robust(f):
                from sim.robust import load_robust

                rob = load_robust(f, args.sets)
                post = f", a posterior set a world from {len(rob.posterior.sets)}" if rob.posterior else ""
                print(f"ok: {f} (robust experiment {rob.experiment.name}, {len(rob.options())} options x "
                      f"{len(rob.doc.design())} worlds x {rob.experiment.replications} replications{post})")
            elif _looks_like_campaign(f):
                from sim.calibrate import load_campaign

                camp = load_campaign(f, args.sets)
                print(f"ok: {f} (campaign {camp.name}, {camp.calibration.waves} waves x {camp.doc.experiment.samples} "
                      f"points x {camp.doc.experiment.replications} replications x {len(camp.doc.scenarios)} scenarios, "
                      f"{len(camp.calibration.targets)} targets)")
            elif _looks_like_experiment(f):
                from sim.experiment import load_experiment

                doc = load_experiment(f, args.sets)
                n = len(doc.design())
                print(f"ok: {f} (experiment {doc.experiment.name}, {doc.experiment.sampler}, {n} points x "
                      f"{doc.experiment.replications} replications x {len(doc.scenarios)} scenarios)")
            else:
                doc = load_scenario(f, args.sets)
                print(f"ok: {f} ({doc.scenario.name}, option {doc.scenario.option.kind}, {doc.scenario.days} days)")
                _print_changes(doc)
        except InputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            bad += 1
    return EXIT_BAD_INPUT if bad else 0


def _print_changes(doc, most: int = 40) -> None:
    """What a scenario changes against the file it extends (dotted paths), after its "ok" line."""
    from sim.scenario import changes, read_scenario

    if len(doc.files) < 2:
        return
    lines = changes(read_scenario(doc.files[-2]).raw, doc.raw)
    print(f"  against {doc.files[-2]}: {len(lines)} change{'s' if len(lines) != 1 else ''}")
    for line in lines[:most]:
        print(f"    {line}")
    if len(lines) > most:
        print(f"    ... and {len(lines) - most} more")


def _head_lines(path: str, limit: int = 200_000) -> list[str]:
    """The first lines of a file (at most ``limit`` bytes read), for sniffing its kind."""
    try:
        with open(path, "rb") as fh:
            return fh.read(limit).decode("utf-8", errors="replace").splitlines()
    except OSError:
        return []


def _looks_like_theater(path: str) -> bool:
    """A theater file has top-level ``bbox`` and ``front`` keys (cheap sniff, no parse)."""
    lines = _head_lines(path)
    return any(line.startswith("bbox:") for line in lines) and any(line.startswith("front:") for line in lines)


def _looks_like_campaign(path: str) -> bool:
    """A calibration campaign is an experiment with a top-level ``calibration`` block."""
    return _looks_like_experiment(path) and any(line.startswith("calibration:") for line in _head_lines(path))


def _looks_like_posterior(path: str) -> bool:
    """A posterior (sim calibrate) has top-level ``posterior``, ``parameters`` and ``sets`` keys."""
    lines = _head_lines(path)
    return all(any(line.startswith(key) for line in lines) for key in ("posterior:", "parameters:", "sets:"))


def _looks_like_robust(path: str) -> bool:
    """A robust experiment (sim robust) is an experiment that names a top-level ``posterior``."""
    return _looks_like_experiment(path) and any(line.startswith("posterior:") for line in _head_lines(path))


def _looks_like_experiment(path: str) -> bool:
    """An experiment file has top-level ``sampler`` and ``parameters`` keys."""
    lines = _head_lines(path)
    return any(line.startswith("sampler:") for line in lines) and any(line.startswith("parameters:") for line in lines)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, found {text!r}") from None


def cmd_front(args) -> int:
    from sim.scenario import BASE_SCENARIO
    from sim.theater import load_scenario, theater_of
    from sim.theater.front import write_front_file

    scenario = args.scenario or str(BASE_SCENARIO)
    theater = theater_of(load_scenario(scenario))
    out = Path(args.out).resolve()
    map_date, _ = write_front_file(args.geojson, args.date, out, theater)
    preview = out.with_suffix(".png")
    doc = load_scenario(scenario, [f"front.geojson={out}", f"start_date={map_date}"])
    _draw_map(doc, preview)
    print(f"front of {map_date} written to {out} (preview {preview}); "
          f"start a scenario from it with front: {{geojson: {out.name}}} and start_date: {map_date}")
    return 0


def cmd_map(args) -> int:
    from sim.theater import load_scenario

    out = _draw_map(load_scenario(args.scenario, args.sets), args.out)
    print(f"map written to {out}")
    return 0


def _draw_map(doc, out) -> Path:
    """The theater and the scenario's front at its start date as a PNG."""
    from sim.plots.map import map_title, save_map
    from sim.theater import build_grid, theater_of

    sc = doc.scenario
    theater = theater_of(doc)
    grid = build_grid(theater, sc.grid.cell_km)
    front_date, control = grid.initial_control(sc.start_date)
    sources = [grid.cell_of_place(p) for p in sc.logistics.sources]
    sector = grid.sectors.get(sc.active_sector) if sc.active_sector else None
    focus = grid.to_km(*theater.place_latlon(sc.outcomes.city))
    return save_map(grid, control, out, title=map_title(theater.name, sc.start_date, front_date, sc.grid.cell_km),
                    sources=sources, sector=sector, focus=(float(focus[0]), float(focus[1])))


def cmd_run(args) -> int:
    from sim.commands import run_command
    from sim.experiment.requests import RunRequest

    if args.first and args.precision:
        raise InputError("--first replays chosen replications; --precision adds them from 0: use one of them",
                         source="sim run")
    return run_command(_request(RunRequest, args, sets=_sets_with_posterior(args.sets, args.posterior)))


def cmd_compare(args) -> int:
    from sim.commands import compare_command
    from sim.experiment.requests import CompareRequest

    return compare_command(_request(CompareRequest, args, sets=_sets_with_posterior(args.sets, args.posterior)))


def cmd_sweep(args) -> int:
    from sim.commands import sweep_command
    from sim.experiment.requests import SweepRequest

    return sweep_command(_request(SweepRequest, args))


def cmd_robust(args) -> int:
    from sim.experiment.requests import RobustRequest
    from sim.robust import robust_command

    return robust_command(_request(RobustRequest, args))


def cmd_calibrate(args) -> int:
    from sim.commands import calibrate_command
    from sim.experiment.requests import CalibrateRequest

    return calibrate_command(_request(CalibrateRequest, args))


def cmd_validate_model(args) -> int:
    from sim.commands import validate_model_command
    from sim.experiment.requests import ValidateModelRequest

    return validate_model_command(_request(ValidateModelRequest, args, sets=_sets_with_posterior([], args.posterior)))


def cmd_bench(args) -> int:
    from sim.bench import run_bench

    r = run_bench(Path(args.out), serial_runs=args.serial_runs, pool_runs=args.pool_runs, sweep_runs=args.sweep_runs,
                  thousand=args.thousand)
    tp = r["throughput"]
    ours_us = r.get("reference", {}).get("ours_us", r["model"]["agent_step_us"])  # the rounds' median
    print(f"per simulated day {r['model']['step_per_day_ms']:.2f} ms; {ours_us:.1f} us per agent-step "
          f"(WolfSheep {r['wolf_sheep']['agent_step_us']:.2f} us, ratio {r['ratio']:.2f}); "
          f"{tp['rate_1']:.2f} runs/s on 1 worker, {tp['rate_pool']:.2f} on 2 (speed-up {tp['speedup']:.2f}); "
          f"1,000 runs in {r['thousand_s'] or tp['thousand_s']:.0f} s{'' if r['thousand_s'] else ' (projected)'}")
    if r.get("memory"):
        print(f"sweep of {r['memory']['runs']:,} runs: peak memory {r['memory']['peak_tree_mb']:.0f} MB")
    print(f"written to {args.out}")
    return 0


def cmd_app(args) -> int:
    from sim.app_server import serve_app
    from sim.scenario import BASE_SCENARIO
    from sim.theater import load_scenario

    scenario = args.scenario or str(BASE_SCENARIO.parent / "hold_pokrovsk.yaml")
    load_scenario(scenario)  # a bad file fails here, in one line, not inside the server
    print(f"sim app: http://{args.host}:{args.port}/ (Ctrl-C to stop)", flush=True)
    return serve_app(scenario, args.host, args.port)


def cmd_plot(args) -> int:
    from sim.experiment.store import COMPARE, ROBUST, SWEEP, folder_kind

    folder = Path(args.dir)
    kind = folder_kind(folder)   # from its manifest; one line when the folder is not one of sim's
    if kind == ROBUST:
        from sim.robust import analyse_folder as plot
    elif kind == SWEEP:
        from sim.commands import sweep_figures as plot
    elif kind == COMPARE:
        from sim.commands import redraw_comparison

        def plot(f):
            return [f / name for name in redraw_comparison(f, args.map_levels)]
    else:
        from sim.plots.run import plot_results

        def plot(f):
            return plot_results(f, args.map_levels)
    for path in plot(folder):
        print(f"wrote {path}")
    return 0


COMMANDS = {"validate": cmd_validate, "map": cmd_map, "front": cmd_front, "run": cmd_run, "compare": cmd_compare,
            "sweep": cmd_sweep, "robust": cmd_robust, "calibrate": cmd_calibrate,
            "validate-model": cmd_validate_model, "bench": cmd_bench, "app": cmd_app, "plot": cmd_plot}


if __name__ == "__main__":
    raise SystemExit(main())
