"""One error shape for every JSON API: {"code", "status", "message", "errors"}.

flask-smorest's handler builds it from ``abort(..., message=, errors=)``; this wraps it so every
error carries a message (validation failures and plain 404s included), and adds the 500 case so an
unexpected failure answers in the same shape (and is logged with its traceback).
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, current_app, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

DEFAULT_MESSAGES = {422: "The request's parameters are not valid; `errors` says which and why."}


def error_body(status: int, message: str, errors: dict | None = None) -> dict:
    body = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    if errors:
        body["errors"] = errors
    return body


def _page_for_people(code: int):
    """The web's HTML error page when a browser asked for a page (web/errors.py), else None."""
    render = current_app.extensions.get("civic_error_page")
    if render is None:
        return None
    try:
        return render(code)
    except Exception:  # the page itself failed (its database, say): the plain JSON answer still goes out
        log.exception("error page for %s failed", code)
        return None


def register_error_handlers(app: Flask, api) -> None:
    from services.open311.errors import handle_http_error, is_open311_path  # Open311 keeps the spec's shape

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if is_open311_path():
            return handle_http_error(exc.code or 500, exc.description or exc.name)
        if (page := _page_for_people(exc.code or 500)) is not None:
            return page
        payload, code, headers = api.handle_http_exception(exc)
        payload.setdefault("message", DEFAULT_MESSAGES.get(code, exc.description))
        return payload, code, headers

    # Flask picks the most specific handler, so HTTPExceptions still reach the one above.
    @app.errorhandler(Exception)
    def _unexpected(_exc: Exception):
        log.exception("unhandled error")
        if is_open311_path():
            return handle_http_error(500, "Internal server error")
        if (page := _page_for_people(500)) is not None:
            return page
        return jsonify(error_body(500, "Internal server error")), 500
