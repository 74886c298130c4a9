"""HTTP: the live event stream (Server-Sent Events), fed from the Redis channel the workers publish on."""

from __future__ import annotations

import json
import time

from flask import Response, request, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from config.topics import EventKind
from services.extensions import runtime

blp = Blueprint("events", __name__, url_prefix="/api/v1/events", description="Live events 实时事件")

KEEPALIVE_S = 15  # a comment line this often keeps proxies from closing an idle stream
POLL_S = 1.0


def _sse(kind: str, data: str) -> str:
    return f"event: {kind}\ndata: {data}\n\n"


@blp.route("/stream")
class EventStream(MethodView):
    @blp.doc(
        parameters=[
            {
                "in": "query",
                "name": "kind",
                "schema": {"type": "array", "items": {"type": "string", "enum": [k.value for k in EventKind]}},
                "explode": True,
                "description": "Only these kinds (repeatable); all kinds when absent.",
            }
        ],
        responses={
            "200": {
                "description": "text/event-stream; one event per state change",
                "content": {"text/event-stream": {}},
            }
        },
    )
    def get(self):
        """Stream live events as Server-Sent Events (`event:` is the kind, `data:` the JSON event)."""
        kinds = set(request.args.getlist("kind"))
        unknown = kinds - {k.value for k in EventKind}
        if unknown:
            abort(422, message="unknown event kind", errors={"query": {"kind": sorted(unknown)}})
        rt = runtime()
        pubsub = rt.redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(rt.keys.events_channel)

        def generate():
            try:
                yield "retry: 3000\n\n"
                quiet_since = time.monotonic()
                while True:
                    message = pubsub.get_message(timeout=POLL_S)
                    if message is not None:
                        data = message["data"].decode()
                        kind = json.loads(data).get("kind", "")
                        if not kinds or kind in kinds:
                            quiet_since = time.monotonic()
                            yield _sse(kind, data)
                    elif time.monotonic() - quiet_since >= KEEPALIVE_S:
                        quiet_since = time.monotonic()
                        yield ": keepalive\n\n"
            finally:
                pubsub.close()

        return Response(
            stream_with_context(generate()),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
