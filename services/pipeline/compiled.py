"""Marshmallow schemas compiled into a fast path for the messages they plainly accept.

The bridge validates every sensor message with its marshmallow schema; per message that costs about as
much as everything else the bridge does with it (docs/benchmarks.md). ``compile_schema`` reads a
schema's declared fields — their types, ``required``, ``allow_none``, range validators — and builds
one function that checks a message the same way with plain Python. It answers only for a message it
can vouch for: anything unusual (another type, an unknown key, a value out of range, a string number)
returns ``None`` and the caller runs the schema itself, which decides and words the refusal. So the
schema stays the contract; tests/unit/test_compiled_schema.py checks with Hypothesis that whatever the
fast path accepts, the schema accepts with the same result.

A schema's own rules beyond its fields come in through ``fast_checks`` (a classmethod taking the
loaded dict), which the schema's ``@validates`` hooks call too, so the rule is written once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime

from marshmallow import Schema, fields, validate

ISO_AWARE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)$")
Check = Callable[[object], object]  # returns the loaded value, or _NO when the fast path cannot vouch
_NO = object()


def _bounds(field: fields.Field) -> Callable[[float], bool]:
    checks = [v for v in field.validators if isinstance(v, validate.Range)]
    if len(checks) != len(field.validators):
        raise TypeError(f"{field!r}: only Range validators can be compiled")

    def inside(value: float) -> bool:
        for r in checks:
            if r.min is not None and (value < r.min if r.min_inclusive else value <= r.min):
                return False
            if r.max is not None and (value > r.max if r.max_inclusive else value >= r.max):
                return False
        return True

    return inside


def _integer(field: fields.Integer) -> Check:
    inside = _bounds(field)
    return lambda v: v if type(v) is int and inside(v) else _NO


def _float(field: fields.Float) -> Check:
    inside = _bounds(field)

    def check(v):
        if type(v) not in (int, float):
            return _NO
        try:
            number = float(v)
        except OverflowError:  # an integer beyond any float: the schema words the refusal
            return _NO
        return number if math.isfinite(number) and inside(number) else _NO

    return check


def _boolean(field: fields.Boolean) -> Check:
    if True not in field.truthy or False not in field.falsy:
        raise TypeError(f"{field!r}: a boolean must accept the JSON literals")
    return lambda v: v if v is True or v is False else _NO


def _aware_datetime(field: fields.AwareDateTime) -> Check:
    if field.format != "iso" or field.validators:
        raise TypeError(f"{field!r}: only plain ISO aware datetimes can be compiled")

    def check(v):
        if type(v) is not str or not ISO_AWARE.match(v):
            return _NO
        try:
            return datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:  # the shape is right but not the values (a 25th hour, 30 February)
            return _NO

    return check


COMPILERS: dict[type, Callable[[fields.Field], Check]] = {
    fields.Integer: _integer,
    fields.Float: _float,
    fields.Boolean: _boolean,
    fields.AwareDateTime: _aware_datetime,
}


def _compile_field(field: fields.Field) -> Check:
    compiler = COMPILERS.get(type(field))
    if compiler is None:
        raise TypeError(f"no fast path for {type(field).__name__}")
    if isinstance(field, fields.Integer) and not field.strict:
        raise TypeError(f"{field!r}: only strict integers can be compiled")
    check = compiler(field)
    if field.allow_none:
        return lambda v: None if v is None else check(v)
    return check


# Hooks whose rules the schema also states in ``fast_checks``; any other hook (pre_load, post_load…)
# would change what load returns, so such a schema is not compiled.
COVERED_HOOKS = frozenset({"validates", "validates_schema"})


def compile_schema(schema: Schema) -> Callable[[dict], dict | None]:
    """A function returning what ``schema.load(data)`` returns, or None when it cannot vouch for ``data``."""
    if schema.unknown != "raise":
        raise TypeError("only schemas that refuse unknown keys can be compiled")
    hooks = {name for name, registered in schema._hooks.items() if registered}
    if not hooks <= COVERED_HOOKS or (hooks and not hasattr(type(schema), "fast_checks")):
        raise TypeError(f"hooks {sorted(hooks)} need a fast_checks classmethod stating the same rules")
    if any(field.data_key for field in schema.load_fields.values()):
        raise TypeError("fields with a data_key cannot be compiled")
    checks = {name: _compile_field(field) for name, field in schema.load_fields.items()}
    required = frozenset(name for name, field in schema.load_fields.items() if field.required)
    extra = getattr(type(schema), "fast_checks", None)

    def load(data: dict) -> dict | None:
        if not required <= data.keys() or not data.keys() <= checks.keys():
            return None
        loaded = {}
        for name, value in data.items():
            result = checks[name](value)
            if result is _NO:
                return None
            loaded[name] = result
        if extra is not None and not extra(loaded):
            return None
        return loaded

    return load
