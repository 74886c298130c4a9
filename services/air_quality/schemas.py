"""Air-quality messages and API shapes."""

from marshmallow import ValidationError, fields, validates_schema

from services.air_quality.measures import MEASURES
from services.pipeline.envelope import EnvelopeSchema, Plausible

# What the instruments can report at all (µg/m³ except CO mg/m³, °C, % RH); beyond this a message is
# dead-lettered (out_of_range). Small negatives are an analyser's zero drift: stored, and flagged by
# checks.py (with values above what ambient air reaches) rather than refused.
BOUNDS = {
    "pm25": (-20, 2000),
    "pm10": (-20, 3000),
    "so2": (-20, 3000),
    "no2": (-20, 3000),
    "o3": (-20, 2000),
    "co": (-2, 200),
    "temperature": (-50, 60),
    "humidity": (0, 100),
}


def _measure(name: str) -> fields.Float:
    low, high = BOUNDS[name]
    return fields.Float(allow_none=True, allow_nan=False, validate=Plausible(min=low, max=high))


def has_a_measure(data: dict) -> bool:
    return any(data.get(m) is not None for m in MEASURES)


class AirReadingMessage(EnvelopeSchema):
    """What an air station publishes on ``{district}/air/{station}/reading``."""

    pm25 = _measure("pm25")
    pm10 = _measure("pm10")
    so2 = _measure("so2")
    no2 = _measure("no2")
    o3 = _measure("o3")
    co = _measure("co")
    temperature = _measure("temperature")
    humidity = _measure("humidity")

    @classmethod
    def fast_checks(cls, data: dict) -> bool:
        return super().fast_checks(data) and has_a_measure(data)

    @validates_schema
    def _has_a_measure(self, data, **_kw):
        if not has_a_measure(data):
            raise ValidationError(f"at least one of {', '.join(MEASURES)} is required")
