"""Safe YAML reading that remembers the line of every value.

Used for scenario, theater and experiment files alike. YAML is composed with
PyYAML's ``SafeLoader`` (no tags that construct Python objects, nothing
executed) and turned into plain dicts, lists and scalars while recording, for
every dotted path, the file and line it came from, so that a validation error
can point at the line the user must fix.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from sim.core.errors import InputError, found

Path_ = tuple[str, ...]
Locations = dict[Path_, tuple[str, int]]

MAX_NODES = 200_000  # guards against alias bombs ("billion laughs")
MAX_BYTES = 5_000_000


def printable(text: str) -> str:
    """User text for a one-line message: line breaks and control characters shown as escapes (``\\r``)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def dotted(path: Path_ | list) -> str:
    """``('a', 'b', 0)`` -> ``'a.b.0'``; the empty path is ``(top level)``."""
    return ".".join(printable(p) for p in path) if path else "(top level)"


def path_exists(path: str | Path) -> bool:
    """``Path.exists`` that answers False, not OSError, for a name the system refuses (too long, NUL)."""
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


def read_yaml_text(path: str | Path) -> str:
    """Read a file as UTF-8 text, or raise one clear InputError."""
    p = Path(path)
    if not path_exists(p):
        raise InputError("file not found", source=str(path))
    if p.is_dir():
        raise InputError("is a folder, expected a YAML file", source=str(path))
    try:
        with p.open("rb") as fh:  # never read more than the limit (a device or a huge file)
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", source=str(path)) from None
    if len(data) > MAX_BYTES:
        raise InputError(f"file is larger than {MAX_BYTES} bytes, expected a YAML file", source=str(path))
    if b"\x00" in data:
        raise InputError("binary data (NUL bytes), expected YAML text", source=str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (bad byte at offset {exc.start})", source=str(path)) from None


def parse_yaml(text: str, source: str) -> tuple[Any, Locations]:
    """Parse YAML text into plain Python data plus the line of every path."""
    locations: Locations = {}
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, locations
            counter = [0]
            value = _to_python(loader, node, (), locations, source, counter)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or exc.context or "malformed YAML"
        raise InputError(f"malformed YAML: {what}", source=source, line=line) from None
    except yaml.YAMLError as exc:
        raise InputError(f"malformed YAML: {exc}", source=source) from None
    except RecursionError:
        raise InputError("malformed YAML: nested too deeply", source=source) from None
    return value, locations


def _to_python(loader, node, path: Path_, locs: Locations, source: str, counter: list[int]) -> Any:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise InputError(f"more than {MAX_NODES} values (alias expansion?)", source=source)
    locs[path] = (source, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # YAML merge keys (<<)
        out: dict = {}
        for key_node, value_node in node.value:
            key = _construct(loader, key_node, path, source)
            if isinstance(key, (dt.date, dt.datetime)):
                key = key.isoformat()  # dates as keys (a theater's fronts) stay addressable by path
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise InputError(
                    f"keys must be names, found {found(key)}",
                    source=source,
                    line=key_node.start_mark.line + 1,
                    path=dotted(path),
                )
            if key in out:
                raise InputError(
                    f"duplicate key {key!r}",
                    source=source,
                    line=key_node.start_mark.line + 1,
                    path=dotted(path),
                )
            out[key] = _to_python(loader, value_node, path + (str(key),), locs, source, counter)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _to_python(loader, item, path + (str(i),), locs, source, counter)
            for i, item in enumerate(node.value)
        ]
    return _construct(loader, node, path, source)


def _construct(loader, node, path: Path_, source: str) -> Any:
    """A scalar's Python value; a value PyYAML cannot build (``2025-13-45``) is an InputError."""
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, OverflowError) as exc:
        raise InputError(f"cannot read {found(node.value)}: {exc}", source=source,
                         line=node.start_mark.line + 1, path=dotted(path)) from None


def load_yaml_file(path: str | Path) -> tuple[Any, Locations]:
    """Read and parse one YAML file (no ``extends`` handling here)."""
    return parse_yaml(read_yaml_text(path), str(path))


def parse_scalar(text: str, source: str) -> Any:
    """Parse the value of a ``--set key=value`` as YAML (``0.3``, ``true``, ``{uniform: [1, 2]}``)."""
    value, _ = parse_yaml(text, source)
    return value
