"""HTTP: the dead-letter store (list, inspect, re-queue, purge). Operators and admins only: raw payloads."""

from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from services.accounts.auth import current_actor, operators_only
from services.audit.store import AuditAction, record
from services.blueprint import Blueprint
from services.extensions import db, runtime
from services.paging import offset_field
from services.pipeline.intake import Reason, Rejected
from services.pipeline.models import DeadLetter
from services.pipeline.requeue import requeue
from services.pipeline.store import counts_by_reason, list_dead_letters, purge
from services.types import is_big_id

blp = Blueprint(
    "dead_letters",
    __name__,
    url_prefix="/api/v1/dead-letters",
    description="Messages the bridge refused, with their reasons 被拒收的消息",
)

REASONS = [r.value for r in Reason]
STATUSES = ["pending", "requeued"]


class DeadLetterQuery(Schema):
    reason = fields.String(validate=validate.OneOf(REASONS))
    status = fields.String(validate=validate.OneOf(STATUSES))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = offset_field()


class PurgeQuery(Schema):
    reason = fields.String(validate=validate.OneOf(REASONS))
    status = fields.String(validate=validate.OneOf(STATUSES))


class DeadLetterSchema(Schema):
    id = fields.Integer()
    received_at = fields.DateTime()
    topic = fields.String()
    reason = fields.String(metadata={"enum": REASONS})
    detail = fields.String()
    kind = fields.String(allow_none=True)
    device_id = fields.String(allow_none=True)
    status = fields.String()
    requeued_at = fields.DateTime(allow_none=True)
    payload_text = fields.Method("_text", metadata={"description": "raw payload, undecodable bytes as U+FFFD"})
    payload_hex = fields.Method("_hex", metadata={"description": "raw payload bytes in hex"})
    payload_bytes = fields.Function(lambda d: len(d.payload))

    def _text(self, letter):
        return letter.payload.decode("utf-8", errors="replace")

    def _hex(self, letter):
        return letter.payload.hex()


class DeadLetterPage(Schema):
    total = fields.Integer()
    pending_by_reason = fields.Dict(keys=fields.String(), values=fields.Integer())
    items = fields.List(fields.Nested(DeadLetterSchema))


class PurgeResult(Schema):
    deleted = fields.Integer()


def _get(letter_id: int) -> DeadLetter:
    letter = db().get(DeadLetter, letter_id) if is_big_id(letter_id) else None
    if letter is None:
        abort(404, message=f"no dead letter {letter_id}")
    return letter


@blp.route("")
class DeadLetters(MethodView):
    @operators_only
    @blp.arguments(DeadLetterQuery, location="query")
    @blp.response(200, DeadLetterPage)
    def get(self, query):
        """Newest first, filtered by reason and status."""
        items, total = list_dead_letters(db(), **query)
        return {"total": total, "pending_by_reason": counts_by_reason(db()), "items": items}

    @operators_only
    @blp.arguments(PurgeQuery, location="query")
    @blp.response(200, PurgeResult)
    def delete(self, query):
        """Purge dead letters (all, or those of one reason or status)."""
        session = db()
        deleted = purge(session, **query)
        record(
            session, current_actor(), AuditAction.DEAD_LETTER_PURGE, "dead_letter", None, {**query, "deleted": deleted}
        )
        session.commit()
        return {"deleted": deleted}


@blp.route("/<int:letter_id>")
class DeadLetterDetail(MethodView):
    @operators_only
    @blp.response(200, DeadLetterSchema)
    def get(self, letter_id):
        """One dead letter with its raw payload."""
        return _get(letter_id)

    @operators_only
    @blp.response(204)
    def delete(self, letter_id):
        """Delete one dead letter."""
        session = db()
        session.delete(_get(letter_id))
        record(session, current_actor(), AuditAction.DEAD_LETTER_DELETE, "dead_letter", letter_id)
        session.commit()


@blp.route("/<int:letter_id>/requeue")
class DeadLetterRequeue(MethodView):
    @operators_only
    @blp.response(200, DeadLetterSchema)
    @blp.alt_response(409, description="Still refused; the error says why")
    def post(self, letter_id):
        """Validate the message again and, if it now passes, send it on to storage."""
        session = db()
        letter = _get(letter_id)
        if letter.status == "requeued":
            abort(409, message="already re-queued")
        outcome = requeue(runtime(), session, letter)
        if isinstance(outcome, Rejected):
            abort(409, message=f"still refused: {outcome.reason}", errors={"detail": outcome.detail})
        record(session, current_actor(), AuditAction.DEAD_LETTER_REQUEUE, "dead_letter", letter_id)
        session.commit()
        return letter
