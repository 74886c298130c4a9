"""One error shape for every JSON API: {"code", "status", "message", "errors"}.

flask-smorest's handler builds it from ``abort(..., message=, errors=)``; this wraps it so every
error carries a message (validation failures and plain 404s included), and adds the 500 case so an
unexpected failure answers in the same shape (and is logged with its traceback).
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

DEFAULT_MESSAGES = {422: "The request's parameters are not valid; `errors` says which and why."}


def error_body(status: int, message: str, errors: dict | None = None) -> dict:
    body = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    if errors:
        body["errors"] = errors
    return body


def register_error_handlers(app: Flask, api) -> None:
    from services.open311.errors import handle_http_error, is_open311_path  # Open311 keeps the spec's shape

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if is_open311_path():
            return handle_http_error(exc.code or 500, exc.description or exc.name)
        payload, code, headers = api.handle_http_exception(exc)
        payload.setdefault("message", DEFAULT_MESSAGES.get(code, exc.description))
        return payload, code, headers

    # Flask picks the most specific handler, so HTTPExceptions still reach the one above.
    @app.errorhandler(Exception)
    def _unexpected(_exc: Exception):
        log.exception("unhandled error")
        if is_open311_path():
            return handle_http_error(500, "Internal server error")
        return jsonify(error_body(500, "Internal server error")), 500
