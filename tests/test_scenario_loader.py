"""The scenario loader and `sim validate`: what a user sees for good and bad input.

SOURCES.md s.11, "Scenario files": a bad file or ``--set`` gets one clear line (file,
line where known, the dotted path, what was expected, what was found), no
traceback, exit code 2. Uncertain inputs are distributions drawn once per
replication, from named streams so that options share their draws.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from sim import cli
from sim.distributions import Distribution
from sim.core.errors import InputError
from sim.scenario import get_value, sample, uncertain_inputs
from sim.theater import load_scenario

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
BASE = SCENARIOS / "base.yaml"
SHIPPED = sorted(SCENARIOS.glob("*.yaml"))
OPTION_KINDS = {"hold", "withdraw", "reinforce", "kursk_pressure"}



# ----------------------------------------------------------------------------- helpers
def child(tmp_path: Path, body: str, name: str = "bad.yaml") -> Path:
    """A scenario that extends the shipped base and changes one thing (body starts on line 2)."""
    path = tmp_path / name
    path.write_text(f"extends: {BASE}\n{body}", encoding="utf-8")
    return path


def load_error(path, sets=None) -> InputError:
    with pytest.raises(InputError) as info:
        load_scenario(path, sets)
    return info.value


def check_line(err: InputError, *, file=None, line=None, path=None, says=()) -> str:
    """The error is one line naming the file (and line), the dotted path and what is wrong."""
    text = str(err)
    assert "\n" not in text and "\r" not in text, text
    assert "Traceback" not in text
    if file is not None:
        assert str(file) in text, text
    if line is not None:
        assert f"{file}:{line}:" in text, text
    if path is not None:
        assert f": {path}:" in text, text
    for fragment in ([says] if isinstance(says, str) else says):
        assert fragment in text, text
    return text


def run_cli(capsys, argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_cli_bad_input(capsys, argv, *fragments) -> str:
    code, out, err = run_cli(capsys, argv)
    assert code == 2
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "Traceback" not in out
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# ----------------------------------------------------------------------------- bad values
# (id, body written after the extends line, line of the error, dotted path, fragments of the message)
BAD_VALUES = [
    ("string for integer", "days: ten\n", 2, "days", ["'ten'"]),
    ("string for probability", "weather:\n  fog_frequency: lots\n", 3, "weather.fog_frequency",
     ["expected a number >= 0 and <= 1", "'lots'"]),
    ("string for personnel", "forces:\n  attacker:\n    personnel: many\n", 4, "forces.attacker.personnel",
     ["expected a number", "'many'"]),
    ("list for number", "drones:\n  attacker:\n    sorties_per_day: [1, 2]\n", 4, "drones.attacker.sorties_per_day",
     ["expected a number"]),
    ("boolean for number", "artillery:\n  defender:\n    shells_per_day: true\n", 4, "artillery.defender.shells_per_day",
     ["expected a number", "True"]),
    ("fraction for integer", "option:\n  reinforce:\n    brigades: 2.5\n", 4, "option.reinforce.brigades",
     ["expected an integer", "2.5"]),
    ("probability above 1", "weather:\n  fog_frequency: 1.5\n", 3, "weather.fog_frequency",
     ["expected a number >= 0 and <= 1", "1.5"]),
    ("negative probability", "weather:\n  precipitation_frequency: -0.1\n", 3, "weather.precipitation_frequency",
     ["expected a number >= 0 and <= 1", "-0.1"]),
    ("negative personnel", "forces:\n  defender:\n    personnel: -5\n", 4, "forces.defender.personnel",
     ["> 0", "-5"]),
    ("zero days", "days: 0\n", 2, "days", ["0"]),
    ("uniform a > b", "weather:\n  fog_frequency: {uniform: [3, 1]}\n", 3, "weather.fog_frequency",
     ["uniform needs a <= b", "[3, 1]"]),
    ("triangular mode outside", "forces:\n  attacker:\n    personnel: {triangular: [1, 5, 2]}\n", 4,
     "forces.attacker.personnel", ["triangular needs lo <= mode <= hi", "[1, 5, 2]"]),
    ("unknown distribution", "forces:\n  attacker:\n    personnel: {gamma: [1, 2]}\n", 4,
     "forces.attacker.personnel", ["unknown distribution 'gamma'", "uniform"]),
    ("unknown distribution over a number", "option:\n  hold:\n    counterattack_radius_km: {gamma: [1, 2]}\n", 4,
     "option.hold.counterattack_radius_km", ["unknown distribution 'gamma'"]),
    ("distribution for the run length", "days: {uniform: [10, 20]}\n", 2, "days", ["integer", "uniform"]),
    ("distribution of a string", "forces:\n  attacker:\n    personnel: {uniform: x}\n", 4,
     "forces.attacker.personnel", ["uniform takes a list of numbers", "'x'"]),
    ("distribution with two keys", "forces:\n  attacker:\n    personnel: {uniform: [1, 2], normal: [1, 2]}\n", 4,
     "forces.attacker.personnel", ["exactly one key", "normal", "uniform"]),
    ("distribution with too few numbers", "weather:\n  fog_frequency: {triangular: [0.1, 0.2]}\n", 3,
     "weather.fog_frequency", ["triangular takes 3 numbers, found 2"]),
    ("distribution reaching above 1", "weather:\n  fog_frequency: {uniform: [0.5, 1.5]}\n", 3,
     "weather.fog_frequency", ["reaches outside", "{uniform: [0.5, 1.5]}"]),
    ("unbounded distribution for a probability", "weather:\n  fog_frequency: {normal: [0.1, 0.02]}\n", 3,
     "weather.fog_frequency", ["reaches outside"]),
    ("distribution for a fixed input", "attacker:\n  pincer_arms: {uniform: [0, 2]}\n", 3, "attacker.pincer_arms",
     []),
    ("unknown option kind", "option:\n  kind: surrender\n", 3, "option.kind",
     ["expected one of", "'hold'", "'withdraw'", "'reinforce'", "'kursk_pressure'", "'surrender'"]),
    ("unknown weather state", "weather:\n  initial: sandstorm\n", 3, "weather.initial", ["'sandstorm'", "'fog'"]),
    ("transition row not summing to 1",
     "weather:\n  transitions:\n"
     "    1: [[0.5, 0.2, 0.1, 0.1], [0.075, 0.725, 0.125, 0.075], [0.075, 0.225, 0.625, 0.075], [0.075, 0.225, 0.125, 0.575]]\n",
     4, "weather.transitions", ["month 1", "row clear", "add up to 1", "0.9"]),
    ("transition table not 4x4", "weather:\n  transitions:\n    2: [[1.0]]\n", 4, "weather.transitions",
     ["month 2", "4x4"]),
    ("transition month 13",
     "weather:\n  transitions:\n    13: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]\n", 4,
     "weather.transitions", ["months 1 to 12", "13"]),
    ("impossible start date", "start_date: 2025-13-45\n", 2, "start_date", ["'2025-13-45'", "month"]),
    ("30 February", "start_date: 2025-02-30\n", 2, "start_date", ["'2025-02-30'"]),
    ("start date not a date", "start_date: soon\n", 2, "start_date", ["'soon'"]),
    ("cell size too small", "grid: {cell_km: 0.01}\n", 2, "grid.cell_km", ["0.01"]),
]


@pytest.mark.parametrize("body, line, path, says", [c[1:] for c in BAD_VALUES], ids=[c[0] for c in BAD_VALUES])
def test_bad_value_is_one_line_with_file_line_and_path(tmp_path, body, line, path, says):
    bad = child(tmp_path, body)
    check_line(load_error(bad), file=bad, line=line, path=path, says=says)


# ----------------------------------------------------------------------------- unknown keys
@pytest.mark.parametrize(
    "body, line, parent, key, suggestion",
    [
        ("weather:\n  fog_frequncy: 0.2\n", 3, "weather", "fog_frequncy", "fog_frequency"),
        ("dayz: 30\n", 2, "(top level)", "dayz", "days"),
        ("option:\n  withdraw:\n    trigger_dya: 3\n", 4, "option.withdraw", "trigger_dya", "trigger_day"),
        ("forces:\n  attacker:\n    personel: 100000\n", 4, "forces.attacker", "personel", "personnel"),
        ("drones:\n  defender:\n    sorties_per_dya: 10\n", 4, "drones.defender", "sorties_per_dya", "sorties_per_day"),
    ],
)
def test_unknown_key_names_it_and_suggests_the_near_miss(tmp_path, body, line, parent, key, suggestion):
    bad = child(tmp_path, body)
    text = check_line(load_error(bad), file=bad, line=line, path=parent, says=repr(key))
    if suggestion:
        assert f"did you mean {suggestion!r}" in text


def test_unknown_key_of_a_fixed_table_lists_the_allowed_keys(tmp_path):
    bad = child(tmp_path, "combat:\n  posture_defence: {hasty: 1.3, prepared: 1.5, fortified: 1.6, delay: 1.2, withdrawl: 1.1}\n")
    check_line(load_error(bad), file=bad, line=3, says=["combat.posture_defence", "'withdrawl'", "'withdrawal'"])


def test_unknown_key_far_from_any_lists_the_allowed_keys(tmp_path):
    bad = child(tmp_path, "option:\n  zzzzzzzz: 1\n")
    check_line(load_error(bad), file=bad, line=3, path="option",
               says=["'zzzzzzzz'", "hold", "withdraw", "reinforce", "kursk_pressure"])


def test_missing_required_key_is_named(tmp_path):
    path = tmp_path / "partial.yaml"
    path.write_text("name: partial\ntheater: pokrovsk\nstart_date: 2025-11-11\ndays: 10\n")
    text = check_line(load_error(path), file=path, says="missing required key")
    assert "grid" in text or "weather" in text


# ----------------------------------------------------------------------------- unknown places
@pytest.mark.parametrize(
    "body, line, path, name, suggestion",
    [
        ("forces:\n  defender:\n    units:\n"
         "      - {name: garrison, kind: infantry, echelon: brigade, sector: city, at: Pokrovks}\n",
         5, "forces.defender.units.0.at", "Pokrovks", "Pokrovsk"),
        ("logistics:\n  sources: [Kramatorsk, Slovyansk]\n", 3, "logistics.sources.1", "Slovyansk", "Sloviansk"),
        ("attacker:\n  arms:\n    ne: {waypoints: [Rodynske, Bilytsk]}\n"
         "    sw: {waypoints: [Kotlyne]}\n    centre: {waypoints: [Pokrovsk]}\n",
         4, "attacker.arms.ne.waypoints.1", "Bilytsk", "Bilytske"),
        ("option:\n  withdraw:\n    destination: [Druzkivka]\n", 4, "option.withdraw.destination.0", "Druzkivka",
         "Druzhkivka"),
        ("outcomes:\n  city: Pokrovskk\n", 3, "outcomes.city", "Pokrovskk", "Pokrovsk"),
        ("outcomes:\n  pocket_towns: [Pokrovsk, Myrnograd]\n", 3, "outcomes.pocket_towns.1", "Myrnograd", "Myrnohrad"),
    ],
)
def test_unknown_settlement_names_it_and_suggests(tmp_path, body, line, path, name, suggestion):
    bad = child(tmp_path, body)
    check_line(load_error(bad), file=bad, line=line, path=path,
               says=[f"unknown settlement {name!r}", f"did you mean {suggestion!r}"])


def test_place_outside_the_theater_is_refused(tmp_path):
    bad = child(tmp_path, "logistics:\n  sources: [[50.5, 30.5]]\n")
    check_line(load_error(bad), file=bad, line=3, path="logistics.sources.0", says="outside the theater")


def test_unknown_fortification_belt_and_sector(tmp_path):
    bad = child(tmp_path, "outcomes:\n  next_line: maginot\n")
    check_line(load_error(bad), file=bad, line=3, path="outcomes.next_line", says=["kramatorsk_sloviansk", "'maginot'"])
    bad2 = child(tmp_path, "active_sector: kherson\n", name="bad2.yaml")
    check_line(load_error(bad2), file=bad2, line=2, path="active_sector", says=["pokrovsk", "'kherson'"])


def test_start_date_before_any_front_of_the_theater(tmp_path):
    bad = child(tmp_path, "start_date: 2020-01-01\n")
    check_line(load_error(bad), file=bad, line=2, path="start_date", says=["2020-01-01", "the first map is of 2024-07-08"])


def test_unknown_theater(tmp_path):
    bad = child(tmp_path, "theater: narnia\n")
    check_line(load_error(bad), file=bad, line=2, path="theater", says=["'narnia'", "pokrovsk"])


# ----------------------------------------------------------------------------- broken files
def test_missing_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    check_line(load_error(missing), file=missing, says="not found")


def test_folder_instead_of_file(tmp_path):
    check_line(load_error(tmp_path), file=tmp_path, says="folder")


def test_names_too_long_for_the_system(tmp_path):
    long = "x" * 300
    check_line(load_error(tmp_path / f"{long}.yaml"), says="not found")
    bad = tmp_path / "longparent.yaml"
    bad.write_text(f"extends: {long}.yaml\n")
    check_line(load_error(bad), file=bad, line=1, path="extends", says="not found")
    bad2 = child(tmp_path, f"theater: {long}\n", name="longtheater.yaml")
    check_line(load_error(bad2), file=bad2, line=2, path="theater", says="not found")


def test_missing_extends_target(tmp_path):
    bad = tmp_path / "orphan.yaml"
    bad.write_text("name: orphan\nextends: no_such_parent.yaml\n")
    check_line(load_error(bad), file=bad, line=2, path="extends", says=["'no_such_parent.yaml'", "not found"])


def test_extends_that_is_not_a_path(tmp_path):
    bad = tmp_path / "weird.yaml"
    bad.write_text("extends: [base.yaml]\n")
    check_line(load_error(bad), file=bad, line=1, path="extends", says="expected the path of a scenario file")


def test_extends_cycle(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("name: a\nextends: b.yaml\n")
    b.write_text("# b goes back to a\nextends: a.yaml\nname: b\n")
    text = check_line(load_error(a), path="extends", says=["cycle", "a.yaml", "b.yaml"])
    # the line to fix is b's `extends:` (line 2), the one that closes the cycle
    assert f"{b}:2:" in text


def test_extends_itself(tmp_path):
    me = tmp_path / "me.yaml"
    me.write_text("name: me\nextends: me.yaml\n")
    check_line(load_error(me), file=me, line=2, path="extends", says="cycle")


@pytest.mark.parametrize(
    "text, line",
    [
        ("name: x\ndays: 3\n  bad: indent\n", 4),            # mapping inside a scalar
        ("name: x\nweather:\n  fog_frequency: [0.1, \n  x: : y\n", 5),
        ("name: x\ndays: 3\nforces: {attacker: [1, 2}\n", 4),  # bracket mismatch
        ("name: x\n\tdays: 3\n", 3),                            # a tab used for indentation
    ],
    ids=["bad indent", "double colon", "bracket mismatch", "tab"],
)
def test_malformed_yaml_reports_the_line(tmp_path, text, line):
    bad = tmp_path / "malformed.yaml"
    bad.write_text(f"extends: {BASE}\n{text}")
    check_line(load_error(bad), file=bad, line=line, says="malformed YAML")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n", "~\n"], ids=repr)
def test_empty_file(tmp_path, text):
    bad = tmp_path / "empty.yaml"
    bad.write_text(text)
    check_line(load_error(bad), file=bad, says="empty file")


def test_binary_junk_with_nul(tmp_path):
    bad = tmp_path / "junk.yaml"
    rng = np.random.default_rng(7)
    bad.write_bytes(bytes(rng.integers(0, 256, 4000, dtype=np.uint8)) + b"\x00" + b"name: x\n")
    check_line(load_error(bad), file=bad, says="binary")


def test_invalid_utf8(tmp_path):
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("name: Pokrovsk\ndescription: café\n".encode("latin-1"))
    check_line(load_error(bad), file=bad, says="UTF-8")


@pytest.mark.parametrize(
    "text, found_type",
    [("- name: a\n- name: b\n", "list"), ("just a sentence\n", "str"), ("42\n", "int")],
)
def test_top_level_not_a_mapping(tmp_path, text, found_type):
    bad = tmp_path / "notmap.yaml"
    bad.write_text(text)
    check_line(load_error(bad), file=bad, line=1, says=["expected a mapping", found_type])


def test_duplicate_key_top_level(tmp_path):
    bad = child(tmp_path, "days: 30\nname: dup\ndays: 40\n")
    check_line(load_error(bad), file=bad, line=4, path="(top level)", says="duplicate key 'days'")


def test_duplicate_key_nested(tmp_path):
    bad = child(tmp_path, "weather:\n  fog_frequency: 0.1\n  fog_frequency: 0.2\n")
    check_line(load_error(bad), file=bad, line=4, path="weather", says="duplicate key 'fog_frequency'")


@pytest.mark.parametrize(
    "template",
    ["name: !!python/object/apply:os.system ['touch {marker}']\n",
     "name: !!python/object/apply:os.system\n  args: ['touch {marker}']\n",
     "name: !!python/name:os.system\ndescription: touch {marker}\n",
     "description: !!python/object/new:subprocess.Popen [['touch', '{marker}']]\n"],
)
def test_yaml_is_never_executed(tmp_path, template):
    marker = tmp_path / "pwned"
    bad = child(tmp_path, template.format(marker=marker))
    check_line(load_error(bad), file=bad, line=2)
    assert not marker.exists()


def test_alias_bomb_is_refused(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    bad = tmp_path / "bomb.yaml"
    bad.write_text("\n".join(lines) + "\n")
    check_line(load_error(bad), file=bad, says="more than")


# ----------------------------------------------------------------------------- the CLI
@pytest.mark.parametrize(
    "body, fragments",
    [
        ("weather:\n  fog_frequncy: 0.2\n", [":3:", "weather", "did you mean 'fog_frequency'"]),
        ("weather:\n  fog_frequency: 1.5\n", [":3:", "weather.fog_frequency", "1.5"]),
        ("option:\n  kind: surrender\n", [":3:", "option.kind", "'surrender'"]),
        ("name: x\ndays: 3\n  bad: indent\n", [":4:", "malformed YAML"]),
    ],
)
def test_cli_validate_bad_file_exit_2_one_line(tmp_path, capsys, body, fragments):
    bad = child(tmp_path, body)
    assert_cli_bad_input(capsys, ["validate", bad], str(bad), *fragments)


def test_cli_validate_binary_junk(tmp_path, capsys):
    bad = tmp_path / "junk.yaml"
    bad.write_bytes(os.urandom(512) + b"\x00\xff\xfe")
    assert_cli_bad_input(capsys, ["validate", bad], str(bad))


def test_cli_validate_missing_file(tmp_path, capsys):
    assert_cli_bad_input(capsys, ["validate", tmp_path / "nope.yaml"], "nope.yaml", "not found")


def test_cli_validate_reports_each_bad_file_and_passes_good_ones(tmp_path, capsys):
    bad = child(tmp_path, "days: ten\n")
    code, out, err = run_cli(capsys, ["validate", BASE, bad])
    assert code == 2
    assert "ok: " in out and "base.yaml" in out
    assert len(err.strip().splitlines()) == 1 and str(bad) in err


def test_cli_bad_set_exit_2_one_line(capsys):
    assert_cli_bad_input(capsys, ["validate", BASE, "--set", "weather.fog_frequency=1.5"],
                         "--set", "weather.fog_frequency", "1.5")


def test_cli_map_of_bad_scenario_exit_2(tmp_path, capsys):
    bad = child(tmp_path, "logistics:\n  sources: [Kramatorks]\n")
    assert_cli_bad_input(capsys, ["map", bad, "--out", tmp_path / "m.png"], "did you mean 'Kramatorsk'")
    assert not (tmp_path / "m.png").exists()


@pytest.mark.parametrize("scenario", SHIPPED, ids=lambda p: p.name)
def test_cli_validate_every_shipped_scenario(capsys, scenario):
    code, out, err = run_cli(capsys, ["validate", scenario])
    assert code == 0, err
    assert err == ""
    assert out.startswith("ok: ")


def test_cli_validate_all_shipped_scenarios_at_once(capsys):
    code, out, err = run_cli(capsys, ["validate", *SHIPPED])
    assert code == 0, err
    assert len(out.strip().splitlines()) == len(SHIPPED)


def test_the_five_option_files_exist_and_extend_base():
    names = {p.name for p in SHIPPED}
    for required in ("base.yaml", "hold_pokrovsk.yaml", "withdraw_kramatorsk_sloviansk.yaml",
                     "reinforce_from_kursk.yaml", "kursk_pressure.yaml", "hindcast_2025.yaml"):
        assert required in names
    kinds = {p.name: load_scenario(p).scenario.option.kind for p in SHIPPED}
    assert kinds["hold_pokrovsk.yaml"] == "hold"
    assert kinds["withdraw_kramatorsk_sloviansk.yaml"] == "withdraw"
    assert kinds["reinforce_from_kursk.yaml"] == "reinforce"
    assert kinds["kursk_pressure.yaml"] == "kursk_pressure"
    assert str(load_scenario(SCENARIOS / "hindcast_2025.yaml").scenario.start_date) == "2025-01-14"
    assert str(load_scenario(SCENARIOS / "hold_pokrovsk.yaml").scenario.start_date) == "2025-11-11"


# ----------------------------------------------------------------------------- knobs
# SOURCES.md s.11, "Knobs every scenario has": each path with a valid value to set it to
KNOB_SETTINGS = [
    ("days", "60", 60),
    ("weather.fog_frequency", "0.3", 0.3),
    ("weather.precipitation_frequency", "0.2", 0.2),
    ("forces.attacker.personnel", "120000", 120000),
    ("forces.defender.personnel", "40000", 40000),
    ("drones.attacker.sorties_per_day", "1000", 1000),
    ("drones.defender.sorties_per_day", "900", 900),
    ("artillery.defender.shells_per_day", "1500", 1500),
    ("artillery.attacker.shells_per_day", "9000", 9000),
    ("attacker.pincer_arms", "1", 1),
    ("option.kind", "reinforce", "reinforce"),
    ("option.withdraw.trigger_day", "12", 12),
    ("option.withdraw.trigger_corridor_km", "2.5", 2.5),
    ("option.reinforce.brigades", "4", 4),
    ("option.reinforce.depart_day", "5", 5),
    ("option.reinforce.transit_days", "9", 9),
]

KNOBS = [k for k, _, _ in KNOB_SETTINGS]


@pytest.mark.parametrize("scenario", SHIPPED, ids=lambda p: p.name)
def test_every_knob_exists_in_every_shipped_scenario(scenario):
    sc = load_scenario(scenario).scenario
    for knob in KNOBS:
        value = get_value(sc, knob)
        if knob == "option.kind":
            assert value in OPTION_KINDS
        else:
            assert isinstance(value, (int, float, Distribution)) and not isinstance(value, bool), (knob, value)


@pytest.mark.parametrize("knob, text, expected", KNOB_SETTINGS, ids=[k for k, _, _ in KNOB_SETTINGS])
def test_every_knob_can_be_set(knob, text, expected):
    sc = load_scenario(BASE, [f"{knob}={text}"]).scenario
    assert get_value(sc, knob) == expected


# ----------------------------------------------------------------------------- --set
def test_set_changes_a_number():
    assert load_scenario(BASE, ["weather.fog_frequency=0.3"]).scenario.weather.fog_frequency == 0.3


def test_set_option_kind():
    assert load_scenario(BASE, ["option.kind=withdraw"]).scenario.option.kind == "withdraw"


def test_set_distribution():
    value = load_scenario(BASE, ["weather.fog_frequency={uniform: [0.1, 0.2]}"]).scenario.weather.fog_frequency
    assert isinstance(value, Distribution)
    assert value.kind == "uniform" and value.params == (0.1, 0.2)


def test_set_replaces_a_distribution_by_one_of_another_kind():
    value = load_scenario(BASE, ["forces.attacker.personnel={uniform: [100000, 120000]}"]).scenario.forces.attacker.personnel
    assert value == Distribution("uniform", (100000.0, 120000.0))


def test_set_repeated_last_wins_and_others_stay():
    sc = load_scenario(BASE, ["days=10", "weather.fog_frequency=0.4", "days=20"]).scenario
    assert sc.days == 20 and sc.weather.fog_frequency == 0.4
    assert isinstance(sc.weather.precipitation_frequency, Distribution)  # untouched


def test_set_inside_a_list_and_a_month_table():
    sc = load_scenario(BASE, ["logistics.sources.2=Druzhkivka",
                     "weather.transitions.11.0=[0.7, 0.1, 0.1, 0.1]"]).scenario
    assert sc.logistics.sources[2] == "Druzhkivka"
    assert sc.weather.transitions[11][0] == [0.7, 0.1, 0.1, 0.1]


def test_set_applies_on_top_of_an_option_file():
    sc = load_scenario(SCENARIOS / "withdraw_kramatorsk_sloviansk.yaml", ["option.withdraw.trigger_day=3"]).scenario
    assert sc.option.kind == "withdraw" and sc.option.withdraw.trigger_day == 3


def test_set_does_not_touch_the_file(tmp_path):
    before = BASE.read_bytes()
    load_scenario(BASE, ["days=5"])
    assert BASE.read_bytes() == before
    assert load_scenario(BASE).scenario.days != 5


@pytest.mark.parametrize(
    "item, says",
    [
        ("weather.fog_frequency", ["KEY=VALUE"]),
        ("=0.3", ["dotted path"]),
        ("   =0.3", ["dotted path"]),
        ("a..b=1", ["dotted path", "'a..b'"]),
        (".days=1", ["dotted path"]),
        ("days.=1", ["dotted path"]),
        ("days=", ["days", "expected a value"]),
        ("weather.fog_frequncy=0.2", ["weather", "did you mean 'fog_frequency'"]),
        ("option.knd=hold", ["option", "did you mean 'kind'"]),
        ("dayz=3", ["did you mean 'days'"]),
        ("weather.fog_frequncy.x=0.2", ["weather", "did you mean 'fog_frequency'"]),
        ("option.withdraw.extra.deep=3", ["option.withdraw", "unknown key 'extra'"]),
        ("logistics.sources.²=Pokrovsk", ["logistics.sources", "list index"]),
        ("days=1\r2", ["days", "\\r"]),
        ("\n", ["KEY=VALUE"]),
        ("weather.fog_frequency=1.5", ["weather.fog_frequency", "1.5"]),
        ("weather.fog_frequency=abc", ["weather.fog_frequency", "'abc'"]),
        ("weather.fog_frequency={uniform: [0.5, 1.5]}", ["weather.fog_frequency", "reaches outside"]),
        ("weather.fog_frequency=[1,", ["weather.fog_frequency", "not valid YAML"]),
        ("weather.fog_frequency={uniform: [0.1,", ["weather.fog_frequency", "not valid YAML"]),
        ("option.kind=surrender", ["option.kind", "'surrender'"]),
        ("days.sub=1", ["days", "single value"]),
        ("logistics.sources.99=Kramatorsk", ["logistics.sources", "list index"]),
        ("logistics.sources.x=Kramatorsk", ["logistics.sources", "list index"]),
        ("logistics.sources.0=Kramatorks", ["logistics.sources.0", "did you mean 'Kramatorsk'"]),
        ("weather={}", ["weather"]),
        ("option.reinforce.brigades=2.5", ["option.reinforce.brigades", "integer"]),
    ],
)
def test_bad_set_names_the_set(item, says):
    text = check_line(load_error(BASE, [item]), says=["--set", *says])
    assert text.startswith("--set ") and str(BASE) not in text  # the --set is to blame, not the file


def test_bad_set_after_good_ones_names_the_bad_one():
    err = load_error(BASE, ["days=10", "weather.fog_frequency=7"])
    check_line(err, says=["--set weather.fog_frequency=7"])


# ----------------------------------------------------------------------------- extends
def test_extends_overrides_a_nested_key_and_keeps_its_siblings(tmp_path):
    sc = load_scenario(child(tmp_path, "weather:\n  fog_frequency: 0.33\n", name="c.yaml")).scenario
    base = load_scenario(BASE).scenario
    assert sc.weather.fog_frequency == 0.33
    assert sc.weather.precipitation_frequency == base.weather.precipitation_frequency
    assert sc.weather.initial == base.weather.initial
    assert sc.weather.transitions == base.weather.transitions
    assert sc.weather.effects == base.weather.effects
    assert sc.days == base.days and sc.combat == base.combat


def test_extends_replaces_lists(tmp_path):
    sc = load_scenario(child(tmp_path, "logistics:\n  sources: [Kramatorsk]\n", name="c.yaml")).scenario
    assert sc.logistics.sources == ["Kramatorsk"]
    units = ("forces:\n  defender:\n    units:\n"
             "      - {name: only unit, kind: infantry, echelon: brigade, sector: city, at: Pokrovsk}\n")
    sc2 = load_scenario(child(tmp_path, units, name="c2.yaml")).scenario
    assert [u.name for u in sc2.forces.defender.units] == ["only unit"]
    assert sc2.forces.defender.units[0].weight == 1.0  # defaults, not the parent's first unit


def test_extends_replaces_a_distribution_by_another_kind(tmp_path):
    """A child writing {uniform: ...} over the parent's {triangular: ...} gets the uniform."""
    sc = load_scenario(child(tmp_path, "forces:\n  attacker:\n    personnel: {uniform: [100000, 120000]}\n", name="c.yaml")).scenario
    assert sc.forces.attacker.personnel == Distribution("uniform", (100000.0, 120000.0))
    sc2 = load_scenario(child(tmp_path, "forces:\n  attacker:\n    personnel: 125000\n", name="c2.yaml")).scenario
    assert sc2.forces.attacker.personnel == 125000


def test_extends_chain_and_relative_paths(tmp_path):
    sub = tmp_path / "family"
    sub.mkdir()
    mid = tmp_path / "mid.yaml"
    mid.write_text(f"extends: {BASE}\nname: mid\ndays: 50\nweather:\n  initial: clear\n")
    leaf = sub / "leaf.yaml"
    leaf.write_text("extends: ../mid.yaml\nname: leaf\nweather:\n  fog_frequency: 0.05\n")
    doc = load_scenario(leaf)
    sc = doc.scenario
    assert sc.name == "leaf" and sc.days == 50
    assert sc.weather.initial == "clear" and sc.weather.fog_frequency == 0.05
    assert [Path(f).name for f in doc.files] == ["base.yaml", "mid.yaml", "leaf.yaml"]


def test_error_in_the_middle_of_a_chain_names_that_file(tmp_path):
    mid = tmp_path / "mid.yaml"
    mid.write_text(f"extends: {BASE}\nname: mid\n\n\nattacker:\n  pincer_arms: 3\n")
    leaf = tmp_path / "leaf.yaml"
    leaf.write_text("extends: mid.yaml\nname: leaf\n")
    check_line(load_error(leaf), file=mid, line=6, path="attacker.pincer_arms", says="3")


def test_child_value_overridden_by_set_is_blamed_on_the_set(tmp_path):
    ok_child = child(tmp_path, "days: 40\n", name="c.yaml")
    text = check_line(load_error(ok_child, ["days=-1"]), path="days", says="--set days=-1")
    assert str(ok_child) not in text


# ----------------------------------------------------------------------------- sampling
SEED = np.random.SeedSequence(1, spawn_key=(0,))


def draws_of(path, seq=SEED, sets=None):
    return sample(load_scenario(path, sets).scenario, seq)


def test_sample_stays_in_every_support_and_replaces_every_distribution():
    sc = load_scenario(SCENARIOS / "reinforce_from_kursk.yaml").scenario
    dists = uncertain_inputs(sc)
    assert "forces.attacker.personnel" in dists and "option.reinforce.transit_days" in dists
    for i in range(20):
        concrete, draws = sample(sc, np.random.SeedSequence(1, spawn_key=(i,)))
        assert set(draws) == set(dists)
        assert uncertain_inputs(concrete) == {}
        for path, dist in dists.items():
            lo, hi = dist.support
            assert lo <= draws[path] <= hi, (path, draws[path])
            assert get_value(concrete, path) == draws[path]


def test_integer_inputs_are_drawn_as_integers():
    sc = load_scenario(SCENARIOS / "reinforce_from_kursk.yaml").scenario
    seen = set()
    for i in range(30):
        concrete, draws = sample(sc, np.random.SeedSequence(1, spawn_key=(i,)))
        value = concrete.option.reinforce.transit_days
        assert type(value) is int and 4 <= value <= 14
        assert draws["option.reinforce.transit_days"] == value
        seen.add(value)
    assert len(seen) > 3  # it really varies


def test_choice_distribution_of_an_integer_input():
    sc = load_scenario(BASE, ["option.reinforce.brigades={choice: [1, 2, 3]}"]).scenario
    values = {sample(sc, np.random.SeedSequence(5, spawn_key=(i,)))[0].option.reinforce.brigades for i in range(40)}
    assert values == {1, 2, 3}
    assert all(type(v) is int for v in values)


def test_sampling_is_reproducible_and_varies_with_the_replication():
    a = draws_of(BASE)[1]
    b = draws_of(BASE)[1]
    assert a == b
    c = draws_of(BASE, np.random.SeedSequence(1, spawn_key=(1,)))[1]
    d = draws_of(BASE, np.random.SeedSequence(2, spawn_key=(0,)))[1]
    assert a != c and a != d
    assert all(a[k] != c[k] for k in a)  # every input, not just one


def test_options_share_draws_of_shared_inputs():
    """Common random numbers: same replication, same draw, whatever else the files differ in."""
    for i in range(5):
        seq = np.random.SeedSequence(1, spawn_key=(i,))
        _, hold = draws_of(SCENARIOS / "hold_pokrovsk.yaml", seq)
        _, withdraw = draws_of(SCENARIOS / "withdraw_kramatorsk_sloviansk.yaml", seq)
        assert "option.withdraw.trigger_day" in withdraw and "option.withdraw.trigger_day" not in hold
        shared = set(hold) & set(withdraw)
        assert "forces.attacker.personnel" in shared and "weather.fog_frequency" in shared
        for path in shared:
            assert hold[path] == withdraw[path], path


def test_shared_draw_survives_a_set_on_another_input():
    _, plain = draws_of(BASE)
    _, changed = draws_of(BASE, sets=["drones.attacker.sorties_per_day={uniform: [100, 200]}",
                                      "option.withdraw.trigger_day={uniform: [1, 9]}"])
    assert plain["forces.attacker.personnel"] == changed["forces.attacker.personnel"]
    assert 100 <= changed["drones.attacker.sorties_per_day"] <= 200


def test_typo_in_a_whole_file_is_reported_as_a_typo_not_as_a_missing_key(tmp_path):
    """Without a parent to fill in the right key, the misspelt one must still get its 'did you mean'."""
    text = BASE.read_text().replace("\n  fog_frequency:", "\n  fog_frequncy:")
    bad = tmp_path / "whole.yaml"
    bad.write_text(text)
    line = text.splitlines().index(next(x for x in text.splitlines() if x.startswith("  fog_frequncy:"))) + 1
    check_line(load_error(bad), file=bad, line=line, path="weather",
               says=["unknown key 'fog_frequncy'", "did you mean 'fog_frequency'"])
