"""HTTP: the live event stream (Server-Sent Events) read from the district's Redis Stream, with replay."""

from __future__ import annotations

import json
import time

from flask import Response, request, stream_with_context
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import abort

from config.topics import EventKind
from services.accounts.roles import CITY_WIDE, Role
from services.blueprint import Blueprint
from services.events import bus
from services.events.areas import AreaIndex
from services.extensions import db, runtime

blp = Blueprint("events", __name__, url_prefix="/api/v1/events", description="Live events 实时事件")

# Kinds that carry the figures of operator-only APIs (fleet and pipeline health): sent to operators only.
OPERATOR_KINDS = frozenset({EventKind.FLEET, EventKind.PIPELINE})
KEEPALIVE_S = 15  # a comment line this often keeps proxies from closing an idle stream
BLOCK_MS = 1000  # longest wait for new events in one read, so a closed client is noticed soon


def _sse(event_id: str, kind: str, data: str) -> str:
    return f"id: {event_id}\nevent: {kind}\ndata: {data}\n\n"


def _is_operator() -> bool:
    return current_user.is_authenticated and Role(current_user.role) in CITY_WIDE


def _resume_from() -> str | None:
    """The id the client last received: the Last-Event-ID header (EventSource's reconnect) or query."""
    value = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    if value is None:
        return None
    if not bus.valid_id(value):
        abort(422, message="Last-Event-ID is not an event id", errors={"headers": {"Last-Event-ID": [value[:40]]}})
    return value


@blp.route("/stream")
class EventStream(MethodView):
    @blp.doc(
        parameters=[
            {
                "in": "query",
                "name": "kind",
                "schema": {"type": "array", "items": {"type": "string", "enum": [k.value for k in EventKind]}},
                "explode": True,
                "description": "Only these kinds (repeatable); all kinds when absent. `fleet` and `pipeline` "
                "events go to logged-in operators only, as their APIs do.",
            },
            {
                "in": "query",
                "name": "subdistrict",
                "schema": {"type": "array", "items": {"type": "string"}},
                "explode": True,
                "description": "Only events about these subdistricts (repeatable), plus district-wide ones.",
            },
            {
                "in": "header",
                "name": "Last-Event-ID",
                "schema": {"type": "string", "pattern": bus.EVENT_ID.pattern},
                "description": "Replay what followed this event (a browser's EventSource sends it on reconnect).",
            },
            {
                "in": "query",
                "name": "last_event_id",
                "schema": {"type": "string", "pattern": bus.EVENT_ID.pattern},
                "description": "As the Last-Event-ID header, for clients that cannot set headers.",
            },
        ],
        responses={
            "200": {
                "description": "text/event-stream; one event per state change, each with its id. An event "
                "`reset` says events were missed beyond the replay window: reload the state.",
                "content": {"text/event-stream": {}},
            }
        },
    )
    def get(self):
        """Stream live events as Server-Sent Events (`id:` for replay, `event:` the kind, `data:` the JSON)."""
        kinds = set(request.args.getlist("kind"))
        unknown = kinds - {k.value for k in EventKind}
        if unknown:
            abort(422, message="unknown event kind", errors={"query": {"kind": sorted(unknown)}})
        hidden = frozenset() if _is_operator() else OPERATOR_KINDS
        areas = set(request.args.getlist("subdistrict"))
        index = AreaIndex(db()) if areas else None
        db().close()  # the stream may last hours: hold no database connection (a login check may have taken one)
        if index is not None and areas - index.subdistricts:
            strange = sorted(areas - index.subdistricts)
            abort(422, message="unknown subdistrict", errors={"query": {"subdistrict": strange}})
        rt = runtime()
        resume = _resume_from()
        start = bus.latest_id(rt.redis, rt.keys)
        reset = resume is not None and bus.missed_beyond_replay(rt.redis, rt.keys, resume)
        last_id = start if resume is None or reset else resume

        def wanted(event: dict) -> bool:
            kind = event.get("kind")
            return kind not in hidden and (not kinds or kind in kinds) and (index is None or index.admits(event, areas))

        def generate():
            yield "retry: 3000\n\n"
            if reset:
                yield _sse(start, EventKind.RESET, json.dumps({"kind": EventKind.RESET, "after": resume}))
            position, quiet_since = last_id, time.monotonic()
            while True:
                for event_id, event in bus.read_after(rt.redis, rt.keys, position, BLOCK_MS):
                    position = event_id
                    if wanted(event):
                        quiet_since = time.monotonic()
                        yield _sse(event_id, event.get("kind", ""), json.dumps(event, ensure_ascii=False))
                if time.monotonic() - quiet_since >= KEEPALIVE_S:
                    quiet_since = time.monotonic()
                    yield ": keepalive\n\n"

        return Response(
            stream_with_context(generate()),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
