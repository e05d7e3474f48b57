"""sim compare as an analyst drives it: --baseline, --set-for, --towns, --all-pairs, the figures, sim validate's diff."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from tests.conftest import mini_withdraw

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "data" / "mini_scenario.yaml"


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cmp")
    withdraw = mini_withdraw(tmp)
    out = tmp / "out"
    code = main(["compare", str(MINI), str(withdraw), "--runs", "4", "--seed", "9", "--out", str(out), "--set", "days=12",
                 "--baseline", "mini_withdraw", "--set-for", "mini_withdraw:option.withdraw.trigger_day=5",
                 "--towns", "Town,Northam", "--all-pairs"])
    assert code == 0
    return out


def test_set_for_changes_one_option_only(compared):
    mine = (compared / "mini_withdraw" / "scenario.yaml").read_text()
    other = (compared / "mini" / "scenario.yaml").read_text()
    assert "trigger_day: 5" in mine and "trigger_day: 5" not in other


def test_report_opens_with_the_bottom_line_against_the_baseline(compared):
    report = (compared / "report.md").read_text()
    head = report.split("## Bottom line", 1)
    assert len(head) == 2 and "## " not in head[0].split("\n", 1)[1]        # nothing before the bottom line
    assert "baseline **mini_withdraw**" in report and "- **mini** against mini_withdraw" in report
    assert "days until Town falls" in report and "days until Northam falls" in report
    diff = pd.read_csv(compared / "differences.csv")
    assert set(diff["versus"]) == {"mini_withdraw"}   # --all-pairs of two options: the one pair, against the baseline
    assert {"better", "worse", "unclear"} >= set(diff["verdict"])


def test_every_figure_is_there_in_the_report_and_in_each_option_folder(compared):
    report = (compared / "report.md").read_text()
    page = (compared / "report.html").read_text()
    for fig in ("distributions.png", "survival.png", "fans.png", "control_maps.png"):
        assert (compared / fig).stat().st_size > 10_000
        assert f"]({fig})" in report
    assert page.count("data:image/png;base64,") == 4 and "Glossary" in page and "Bottom line" in page
    for option in ("mini", "mini_withdraw"):
        for fig in ("outcomes.png", "fan.png", "control_probability.png"):
            assert (compared / option / fig).stat().st_size > 10_000, (option, fig)


def test_compare_writes_gis_maps_for_every_option_and_for_the_comparison(compared):
    import json

    import rasterio

    fc = json.loads((compared / "control_probability.geojson").read_text())
    assert {(f["properties"]["scenario"], f["properties"]["level"]) for f in fc["features"]} == \
        {(o, lv) for o in ("mini", "mini_withdraw") for lv in (0.1, 0.5, 0.9)}
    with rasterio.open(compared / "control_probability.tif") as ds:
        assert ds.count == 2 and ds.descriptions == ("mini", "mini_withdraw") and ds.crs.to_epsg() == 4326
    towns = pd.read_csv(compared / "town_fall_days.csv")
    assert set(towns["scenario"]) == {"mini", "mini_withdraw"} and set(towns["option"]) == {"hold", "withdraw"}
    for option in ("mini", "mini_withdraw"):
        for name in ("control_probability.geojson", "control_probability.tif", "town_fall_days.csv"):
            assert (compared / option / name).exists(), (option, name)


def test_plot_on_a_compare_folder_rebuilds_its_report(compared, capsys):
    before = (compared / "report.md").read_text()
    for name in ("report.md", "report.html", "survival.png", "control_probability.tif"):
        (compared / name).unlink()
    assert main(["plot", str(compared)]) == 0
    assert "report.md" in capsys.readouterr().out
    assert (compared / "report.md").read_text() == before  # the same tables, --towns and --all-pairs included
    for name in ("report.html", "survival.png", "control_probability.tif"):
        assert (compared / name).exists(), name


@pytest.mark.parametrize("extra, says", [
    (["--baseline", "nope"], "--baseline 'nope' is not an option"),
    (["--set-for", "nope:days=3"], "no option named 'nope'"),
    (["--set-for", "mini"], "expected OPTION:KEY=VALUE"),
    (["--towns", "Atlantis"], "no settlement 'Atlantis'"),
])
def test_bad_compare_arguments_are_one_line_and_exit_2(tmp_path, capsys, extra, says):
    code = main(["compare", str(MINI), "--runs", "2", "--out", str(tmp_path / "x"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and says in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_validate_shows_what_a_file_changes_against_the_one_it_extends(tmp_path, capsys):
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {MINI}\nname: child\ndays: 17\n")
    assert main(["validate", str(child)]) == 0
    out = capsys.readouterr().out
    assert f"against {MINI}: 2 changes" in out
    assert "~ days: " in out and "-> 17" in out and "~ name: 'mini' -> 'child'" in out


def test_readme_arrivals_example_validates_and_shows_the_added_unit(tmp_path, capsys):
    readme = (ROOT / "README.md").read_text()
    block = readme.split("**Adding units.**", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    example = tmp_path / "more.yaml"
    example.write_text(block.replace("extends: base.yaml", f"extends: {ROOT / 'scenarios' / 'base.yaml'}"))
    assert main(["validate", str(example)]) == 0
    assert "+ forces.attacker.arrivals.1.name: 'late bde'" in capsys.readouterr().out


def test_compare_on_a_dask_cluster_gives_the_serial_results(tmp_path):
    """`sim compare --scheduler local` runs the replications on a Dask LocalCluster: the same seeds, so
    the same runs, days and control counts as the serial comparison (issue 16: compare has a Dask path)."""
    import numpy as np

    withdraw = mini_withdraw(tmp_path)
    common = [str(MINI), str(withdraw), "--runs", "4", "--seed", "5", "--set", "days=10"]
    assert main(["compare", *common, "--out", str(tmp_path / "serial")]) == 0
    assert main(["compare", *common, "--out", str(tmp_path / "dask"), "--scheduler", "local", "--workers", "2"]) == 0
    for option in ("mini", "mini_withdraw"):
        for name in ("runs.parquet", "timeseries.parquet"):
            a = pd.read_parquet(tmp_path / "serial" / option / name)
            b = pd.read_parquet(tmp_path / "dask" / option / name)
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        assert np.array_equal(np.load(tmp_path / "serial" / option / "control.npz")["attacker_held_count"],
                              np.load(tmp_path / "dask" / option / "control.npz")["attacker_held_count"])
