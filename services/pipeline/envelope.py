"""The message envelope every device message carries: identity (boot, seq) and device time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

OUT_OF_RANGE = "out of range"
# A device clock may run a little fast; a timestamp further ahead than this is a broken clock.
MAX_CLOCK_AHEAD = timedelta(hours=1)
EARLIEST = datetime(2015, 1, 1, tzinfo=UTC)


class Plausible(validate.Range):
    """A range check whose failures are reported as out-of-range values, not malformed ones."""

    message_all = OUT_OF_RANGE + ": must be {min_op} {{min}} and {max_op} {{max}}, got {{input}}"
    message_min = OUT_OF_RANGE + ": must be {min_op} {{min}}, got {{input}}"
    message_max = OUT_OF_RANGE + ": must be {max_op} {{max}}, got {{input}}"


def ts_plausible(value: datetime) -> bool:
    return EARLIEST <= value <= datetime.now(UTC) + MAX_CLOCK_AHEAD


class EnvelopeSchema(Schema):
    """Fields common to every sensor message; ``(device, boot, seq)`` is its identity."""

    class Meta:
        unknown = RAISE

    boot = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=2**31 - 1))
    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1))
    ts = fields.AwareDateTime(required=True, format="iso")
    battery = fields.Float(validate=Plausible(min=0, max=100), allow_nan=False)
    rssi = fields.Integer(strict=True, validate=Plausible(min=-150, max=0))

    @classmethod
    def fast_checks(cls, data: dict) -> bool:
        """The rules beyond the fields, for the compiled fast path (services/pipeline/compiled.py)."""
        return ts_plausible(data["ts"])

    @validates("ts")
    def _ts_plausible(self, value: datetime, **_kw) -> None:
        if not ts_plausible(value):
            raise ValidationError(f"{OUT_OF_RANGE}: device time {value.isoformat()} is not plausible")


def only_out_of_range(messages: dict) -> bool:
    """True when every validation error is a range failure (not a missing or mistyped field)."""

    def leaves(node):
        if isinstance(node, dict):
            for v in node.values():
                yield from leaves(v)
        elif isinstance(node, list):
            for v in node:
                yield from leaves(v)
        else:
            yield str(node)

    found = list(leaves(messages))
    return bool(found) and all(m.startswith(OUT_OF_RANGE) for m in found)
