"""Open311 errors: ``<errors><error><code/><description/></error></errors>`` in the requested format.

The spec fixes the HTTP codes (404 missing resource, 403 bad api_key, 400 everything else) and says
the description is shown to the user; clients break on errors in another format (uReport #162), so
every failure under /open311/ — unknown routes, wrong methods, rate limits, crashes — answers this way.
"""

from __future__ import annotations

import logging

from flask import Response, request

from services.open311.document import Document, Many, render

log = logging.getLogger(__name__)


class Open311Error(Exception):
    """One or more errors answered with ``status``; each error is (code, description)."""

    def __init__(self, status: int, description: str, code: int | str | None = None, more: list | None = None):
        super().__init__(description)
        self.status = status
        self.errors = [(code if code is not None else status, description), *(more or [])]


def bad_request(description: str, code: int | str = 400) -> Open311Error:
    return Open311Error(400, description, code)


def not_found(description: str) -> Open311Error:
    return Open311Error(404, description)


def requested_format() -> str:
    """The format the URL asks for (``….json`` or ``….xml``); XML, the required one, when unclear."""
    path = request.path
    return "json" if path.endswith(".json") else "xml"


def error_response(status: int, errors: list[tuple]) -> Response:
    body = Many("error", [{"code": code, "description": description} for code, description in errors])
    return render(Document("errors", body), requested_format(), status)


def handle_open311_error(exc: Open311Error) -> Response:
    return error_response(exc.status, exc.errors)


def handle_http_error(status: int, description: str) -> Response:
    return error_response(status, [(status, description)])


def is_open311_path() -> bool:
    return request.path.startswith("/open311/")
