"""Parking messages and API shapes."""

from marshmallow import fields

from services.pipeline.envelope import EnvelopeSchema


class BerthStateMessage(EnvelopeSchema):
    """What a berth occupancy sensor publishes on ``{district}/parking/{facility}/{berth}/state``."""

    occupied = fields.Boolean(required=True, truthy={True}, falsy={False})
