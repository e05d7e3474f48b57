"""Property-based tests: whatever a user feeds the loader, the answer is a scenario or one InputError line.

SOURCES.md s.11, "Scenario files": a bad file or ``--set`` gets one clear line, no
traceback, exit code 2; nothing in YAML is ever executed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim import cli
from sim.core.errors import InputError
from sim.theater import load_scenario

REPO = Path(__file__).resolve().parents[1]
BASE = REPO / "scenarios" / "base.yaml"
BASE_RAW = yaml.safe_load(BASE.read_text())

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEAVY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # each loads the base


def _paths(value, prefix=()):
    """Every dotted path in the base scenario, leaves and inner nodes."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, prefix + (str(k),))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, prefix + (str(i),))
    return out


REAL_PATHS = [".".join(p) for p in _paths(BASE_RAW)]
FAKE_PATHS = [
    "weather.fog_frequncy", "dayz", "forces.attacker.personel", "option.knd", "forces.attacker.units.99.at",
    "days.sub", "weather.transitions.13", "weather.transitions.x.0", "kinds.tank.attack", "a.b.c",
    "logistics.sources.-1", "option.withdraw.trigger_day.uniform", "extends", "theater", "0", "weather.effects.hail",
]
KEY_WORDS = sorted({p.split(".")[-1] for p in REAL_PATHS} | {"extends", "uniform", "triangular", "normal",
                                                             "choice", "gamma", "at", "<<"})


def assert_one_line(err: InputError) -> None:
    text = str(err)
    assert text.strip() and len(text.splitlines()) == 1, repr(text)


def load_or_input_error(path, sets=None) -> None:
    """Loading either succeeds or raises InputError (one line); anything else fails the test."""
    try:
        load_scenario(path, sets)
    except InputError as err:
        assert_one_line(err)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("junk")


# ----------------------------------------------------------------------------- strategies
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(KEY_WORDS + ["Pokrovsk", "Pokrovks", "hold", "withdraw", "fog", "[1,", "base.yaml", ""]),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
)
keys = st.one_of(st.sampled_from(KEY_WORDS), st.text(max_size=12), st.integers(-3, 13))


def documents(max_leaves=25):
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.dictionaries(keys, children, max_size=6),
            # distribution-shaped values
            st.builds(lambda k, v: {k: v}, st.sampled_from(["uniform", "triangular", "normal", "choice", "gamma"]),
                      st.one_of(st.lists(st.one_of(st.integers(-5, 200000), st.floats()), max_size=4), children)),
        ),
        max_leaves=max_leaves,
    )


def dump(doc) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, default_flow_style=None)


def set_in(doc, path: str, value):
    """``doc`` with ``value`` at the dotted ``path`` (a real path of the base scenario)."""
    node = doc
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[_key(node, part)]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[_key(node, last)] = value
    return doc


def _key(node: dict, part: str):
    return int(part) if part not in node and part.isdigit() and int(part) in node else part


# ----------------------------------------------------------------------------- (a) random text and bytes
@FAST
@given(text=st.text(max_size=400))
def test_random_text_gives_input_error_only(folder, text):
    path = folder / "text.yaml"
    path.write_text(text, encoding="utf-8")
    load_or_input_error(path)


@FAST
@given(text=st.text(max_size=300))
def test_random_text_after_a_valid_extends_gives_input_error_only(folder, text):
    path = folder / "text_child.yaml"
    path.write_text(f"extends: {BASE}\n{text}", encoding="utf-8")
    load_or_input_error(path)


@FAST
@given(data=st.binary(max_size=400))
def test_random_bytes_give_input_error_only(folder, data):
    path = folder / "bytes.yaml"
    path.write_bytes(data)
    load_or_input_error(path)


@FAST
@given(lines=st.lists(st.sampled_from([
    "name: x", "days: 3", "days: ten", "  fog_frequency: 0.2", "weather:", "  - a", "- b", "extends: base.yaml",
    f"extends: {BASE}", "option: {kind: hold", "}", "[", "&a [1, 2]", "*a", "<<: *a", "? complex", ": key",
    "!!python/object:os.system", "!!binary |", "  AAAA", "'", '"\\x"', "\t", "---", "...", "%YAML 1.1",
    "start_date: 2025-02-30", "key: 2025-13-01 25:61:00", "bbox: {}", "fronts:", "%TAG ! tag:x,2000:",
]), max_size=12))
def test_yaml_shaped_line_soup_gives_input_error_only(folder, lines):
    path = folder / "soup.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    load_or_input_error(path)


# ----------------------------------------------------------------------------- (b) random documents
@FAST
@given(doc=documents())
def test_random_documents_give_input_error_only(folder, doc):
    path = folder / "doc.yaml"
    path.write_text(dump(doc), encoding="utf-8")
    load_or_input_error(path)


@HEAVY
@given(doc=st.dictionaries(keys, documents(max_leaves=10), max_size=6))
def test_random_overrides_of_the_base_give_input_error_only(folder, doc):
    doc = dict(doc)
    doc["extends"] = str(BASE)
    path = folder / "override.yaml"
    path.write_text(dump(doc), encoding="utf-8")
    load_or_input_error(path)


@HEAVY
@given(path=st.sampled_from(REAL_PATHS), value=documents(max_leaves=8))
def test_random_value_at_a_real_path_gives_input_error_only(folder, path, value):
    """The whole base scenario, standalone, with one value replaced anywhere."""
    import copy

    doc = set_in(copy.deepcopy(BASE_RAW), path, value)
    file = folder / "replaced.yaml"
    file.write_text(dump(doc), encoding="utf-8")
    load_or_input_error(file)


# ----------------------------------------------------------------------------- (c) random --set
@HEAVY
@given(item=st.text(max_size=80))
def test_random_set_text_gives_input_error_only(item):
    load_or_input_error(BASE, [item])


set_values = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["0.3", "-1", "1e400", ".nan", "[1,", "{uniform: [0.1, 0.2]}", "{uniform: [3, 1]}",
                     "{triangular: [1, 5, 2]}", "{gamma: [1, 2]}", "{}", "[]", "~", "hold", "withdraw", "Pokrovsk",
                     "Pokrovks", "[48.3, 37.2]", "[99, 99]", "2025-02-30", "true", "!!python/name:os.system"]),
    documents(max_leaves=6).map(lambda v: yaml.safe_dump(v, default_flow_style=True).strip()),
)
set_paths = st.one_of(
    st.sampled_from(REAL_PATHS),
    st.sampled_from(FAKE_PATHS),
    st.lists(st.one_of(st.sampled_from(KEY_WORDS), st.text(max_size=6)), min_size=1, max_size=4).map(".".join),
)


@HEAVY
@given(sets=st.lists(st.tuples(set_paths, set_values).map(lambda kv: f"{kv[0]}={kv[1]}"), min_size=1, max_size=3))
def test_random_structured_sets_give_input_error_only(sets):
    load_or_input_error(BASE, sets)


def test_a_real_path_with_a_good_value_really_loads():
    """The property tests above can succeed too; this pins one success so they are not vacuous."""
    doc = load_scenario(BASE, ["weather.fog_frequency=0.25", "option.kind=withdraw"])
    assert doc.scenario.weather.fog_frequency == 0.25


# ----------------------------------------------------------------------------- the CLI on junk
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(min_size=1, max_size=300), st.text(min_size=1, max_size=300).map(str.encode)))
def test_cli_validate_on_junk_exits_2_with_one_line(folder, capsys, data):
    path = folder / "cli_junk.yaml"
    path.write_bytes(data)
    try:
        load_scenario(path)
    except InputError:
        pass
    else:
        assume(False)  # junk that happens to be a valid scenario is not junk
    code = cli.main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.endswith("\n"), repr(err)
    assert "Traceback" not in err and str(path) in err
