"""Field types shared by the scenario, theater and experiment schemas.

Every number a user writes goes through :func:`num`, which gives one clear
message for a wrong type, a value out of range, or a bad distribution.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, PlainSerializer, PlainValidator, WithJsonSchema
from pydantic.fields import FieldInfo

from sim.distributions import Distribution, parse_distribution
from sim.core.errors import found


class Strict(BaseModel):
    """A block of a user file: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


def _describe(integer: bool, ge, gt, le) -> str:
    kind = "an integer" if integer else "a number"
    bounds = []
    if gt is not None:
        bounds.append(f"> {gt:g}")
    if ge is not None:
        bounds.append(f">= {ge:g}")
    if le is not None:
        bounds.append(f"<= {le:g}")
    return kind + (" " + " and ".join(bounds) if bounds else "")


def _as_is(value: Any) -> Any:
    """A number field's value serialised as it is (a number, or a distribution not yet drawn)."""
    return value


def num(*, ge: float | None = None, gt: float | None = None, le: float | None = None,
        integer: bool = False, uncertain: bool = True) -> Any:
    """A number field, typed ``float`` (``int`` with ``integer``): a value read from it is a Python
    ``float`` (``int``), so the model uses it without a cast. With ``uncertain`` the field may also hold
    a distribution, until :func:`sim.scenario.sample` draws it (a concrete scenario holds numbers only).

    ``ge``/``gt``/``le`` bound the value and, for a distribution, its whole support.
    """
    desc = _describe(integer, ge, gt, le)

    def in_bounds(lo: float, hi: float) -> bool:
        return ((ge is None or lo >= ge) and (gt is None or lo > gt) and (le is None or hi <= le))

    def validate(value: Any) -> Any:
        if isinstance(value, dict):
            if not uncertain:
                raise ValueError(f"expected {desc}, found a distribution (this input cannot be uncertain)")
            value = parse_distribution(value)
        if isinstance(value, Distribution):
            value = replace(value, integer=integer)
            lo, hi = value.support
            if not in_bounds(lo, hi):
                raise ValueError(f"expected {desc}; the distribution {value!r} reaches outside that range")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            extra = " or a distribution such as {uniform: [a, b]}" if uncertain else ""
            raise ValueError(f"expected {desc}{extra}, found {found(value)}")
        if not math.isfinite(value):
            raise ValueError(f"expected {desc}, found {value!r}")
        if integer and float(value) != int(value):
            raise ValueError(f"expected {desc}, found {value!r}")
        if not in_bounds(value, value):
            raise ValueError(f"expected {desc}, found {value!r}")
        return int(value) if integer else float(value)

    schema = {"anyOf": [{"type": "integer" if integer else "number"}, {"type": "object"}]}
    number = int if integer else float
    return Annotated[number, PlainValidator(validate), PlainSerializer(_as_is, return_type=Any), WithJsonSchema(schema)]


def _place(value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        return value
    if (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)):
        lat, lon = value
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return (float(lat), float(lon))
    raise ValueError(f"expected a settlement name or [lat, lon], found {found(value)}")


Place = Annotated[Any, PlainValidator(_place), WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array"}]})]


def _is_place_validator(item: Any) -> bool:
    return isinstance(item, PlainValidator) and item.func is _place


def names_a_place(field: FieldInfo) -> bool:
    """Whether a schema field holds a place or a list of places, read from its type (``Place``)."""

    def holds(tp: Any) -> bool:
        if get_origin(tp) is Annotated:
            return any(_is_place_validator(m) for m in get_args(tp)[1:])
        return any(holds(a) for a in get_args(tp))

    return any(_is_place_validator(m) for m in field.metadata) or holds(field.annotation)

Probability = num(ge=0, le=1)
Fraction = Probability
NonNegative = num(ge=0)
Positive = num(gt=0)
Factor = num(ge=0)
Day = num(ge=0, integer=True)
