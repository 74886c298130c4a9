"""The ``offset`` argument of the list APIs."""

from __future__ import annotations

from marshmallow import fields, validate

# Far past any list here. Unbounded, a number beyond PostgreSQL's bigint OFFSET was a 500 (found by the
# OpenAPI fuzz test), not the 422 a bad argument gets.
MAX_OFFSET = 2**31 - 1


def offset_field() -> fields.Integer:
    return fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))
