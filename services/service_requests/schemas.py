"""HTTP shapes of the service-request API (names follow Open311 GeoReport v2 where it has one)."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.paging import offset_field
from services.service_requests.attributes import TEXT_MAX
from services.service_requests.lifecycle import Status

STATUSES = [s.value for s in Status]
PHONE = validate.Regexp(r"^\+?[0-9][0-9 -]{4,30}$", error="a phone number: digits, spaces, dashes, optional +")


class AttributeValueSchema(Schema):
    key = fields.String()
    name_zh = fields.String()
    name_en = fields.String()


class ServiceAttributeSchema(Schema):
    variable = fields.Constant(True, metadata={"description": "Open311: the resident answers it"})
    code = fields.String()
    datatype = fields.String(metadata={"enum": ["string", "number", "datetime", "text", "singlevaluelist",
                                                "multivaluelist"]})  # fmt: skip
    required = fields.Boolean()
    order = fields.Integer()
    description_zh = fields.String()
    description_en = fields.String()
    values = fields.List(fields.Nested(AttributeValueSchema))


class ServiceSlaSchema(Schema):
    response_hours = fields.Float(metadata={"description": "hours to first response"})
    resolution_hours = fields.Float(metadata={"description": "hours to resolution (on-hold time not counted)"})


class CatalogueServiceSchema(Schema):
    service_code = fields.String(attribute="code")
    group = fields.String(attribute="category", metadata={"description": "category code (Open311 group)"})
    name_zh = fields.String()
    name_en = fields.String()
    description_zh = fields.String()
    description_en = fields.String()
    keywords = fields.List(fields.String())
    agency_zh = fields.String()
    agency_en = fields.String()
    private = fields.Boolean(metadata={"description": "requests are never shown in public"})
    sla = fields.Nested(ServiceSlaSchema)
    metadata = fields.Function(lambda s: bool(s.attributes), metadata={"description": "Open311: has attributes"})
    attributes = fields.List(fields.Nested(ServiceAttributeSchema))


class ServiceCategorySchema(Schema):
    code = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    service_codes = fields.List(fields.String())


class CatalogueQuery(Schema):
    q = fields.String(load_default="", metadata={"description": "text in a name, keyword or code (zh or en)"})
    category = fields.String()


class SubmissionSchema(Schema):
    service_code = fields.String(required=True)
    description = fields.String(load_default="", validate=validate.Length(max=TEXT_MAX))
    community_id = fields.String(load_default=None, metadata={"description": "staff: always their own community"})
    address = fields.String(load_default=None, validate=validate.Length(max=300))
    lat = fields.Float(load_default=None, validate=validate.Range(-90, 90), metadata={"description": "WGS-84"})
    lon = fields.Float(load_default=None, validate=validate.Range(-180, 180), metadata={"description": "WGS-84"})
    attributes = fields.Dict(keys=fields.String(), load_default=dict, metadata={"description": "code -> answer"})
    resident_name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    resident_phone = fields.String(required=True, validate=PHONE)
    resident_email = fields.Email(load_default=None)

    @validates_schema
    def _where(self, data, **_):
        if not data.get("address") and not data.get("community_id"):
            raise ValidationError("give an address or a community", "address")
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise ValidationError("lat and lon go together", "lat")


class RequestQueueQuery(Schema):
    status = fields.List(fields.String(validate=validate.OneOf(STATUSES)), metadata={"description": "default: open"})
    service_code = fields.String()
    category = fields.String()
    community_id = fields.String(metadata={"description": "operators only; staff always see their own"})
    overdue = fields.Boolean()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = offset_field()


class SlaClockSchema(Schema):
    due_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean()
    paused = fields.Boolean()
    remaining_seconds = fields.Integer()


class ServiceRequestSchema(Schema):
    """The full request, for staff of its community and for operators (contact details included)."""

    service_request_id = fields.String(attribute="public_id")
    service_code = fields.String()
    service_name_zh = fields.String()
    service_name_en = fields.String()
    group = fields.String(attribute="category")
    private = fields.Boolean()
    status = fields.String(metadata={"enum": STATUSES})
    open311_status = fields.String(metadata={"enum": ["open", "closed"]})
    allowed_transitions = fields.List(fields.String())
    description = fields.String()
    community_id = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    attributes = fields.Dict()
    resident_name = fields.String()
    resident_phone = fields.String()
    resident_email = fields.String(allow_none=True)
    agency_responsible = fields.String()
    assignee = fields.String(allow_none=True)
    duplicate_of = fields.String(allow_none=True)
    channel = fields.String()
    requested_datetime = fields.DateTime(attribute="requested_at")
    updated_datetime = fields.DateTime(attribute="updated_at")
    expected_datetime = fields.DateTime(attribute="resolution_due_at", allow_none=True)
    overdue = fields.Boolean()
    response_clock = fields.Nested(SlaClockSchema)
    resolution_clock = fields.Nested(SlaClockSchema)


class RequestQueueItemSchema(ServiceRequestSchema):
    class Meta:
        exclude = ("resident_email", "attributes", "response_clock", "resolution_clock", "allowed_transitions")


class RequestQueuePage(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(RequestQueueItemSchema))


class ChangeSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    assignee = fields.String(load_default=None, validate=validate.Length(max=120))
    duplicate_of = fields.String(load_default=None, metadata={"description": "the original's service_request_id"})


class RouteSchema(Schema):
    community_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class RequestHistorySchema(Schema):
    at = fields.DateTime()
    action = fields.String(metadata={"enum": ["submitted", "transition", "routed", "sla_breach"]})
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    actor_name = fields.String()
    actor_role = fields.String()
    note = fields.String()


class PublicRequestStepSchema(Schema):
    at = fields.DateTime()
    status = fields.String(attribute="to_status")


class PublicRequestSchema(Schema):
    """What anyone with the id may see: no names, phones, addresses or notes; private services not even the text."""

    service_request_id = fields.String(attribute="public_id")
    service_code = fields.String()
    service_name_zh = fields.String()
    service_name_en = fields.String()
    status = fields.String(metadata={"enum": STATUSES})
    open311_status = fields.String()
    description = fields.String(metadata={"description": "absent for private services"})
    community_id = fields.String(allow_none=True, metadata={"description": "absent for private services"})
    agency_responsible = fields.String()
    requested_datetime = fields.DateTime(attribute="requested_at")
    updated_datetime = fields.DateTime(attribute="updated_at")
    expected_datetime = fields.DateTime(attribute="resolution_due_at", allow_none=True)
    history = fields.List(fields.Nested(PublicRequestStepSchema))


class SessionActorSchema(Schema):
    role = fields.String()
    username = fields.String()
    community_id = fields.String(allow_none=True)
    csrf_token = fields.String(metadata={"description": "send it as the X-CSRFToken header on POST"})
