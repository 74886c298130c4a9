"""One error shape for every JSON API: {"code", "status", "message", "errors"}.

flask-smorest's handler already answers every HTTPException in this shape; this adds the 500 case
so an unexpected failure answers the same way (and is logged with its traceback).
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, jsonify

log = logging.getLogger(__name__)


def error_body(status: int, message: str, errors: dict | None = None) -> dict:
    body = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    if errors:
        body["errors"] = errors
    return body


def register_error_handlers(app: Flask) -> None:
    # Flask picks the most specific handler, so HTTPExceptions still reach flask-smorest's.
    @app.errorhandler(Exception)
    def _unexpected(_exc: Exception):
        log.exception("unhandled error")
        return jsonify(error_body(500, "Internal server error")), 500
