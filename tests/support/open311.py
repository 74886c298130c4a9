"""Reading Open311 answers in either format into one shape, so each conformance test runs on XML and JSON.

XML is turned into what its Spark-convention JSON would be (the spec's rule): containers of repeated
elements become lists, leaves become text, empty elements None. JSON is read with every scalar turned
into the text XML would carry (``true``, ``39.12``), so the two formats can be compared as equals.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

# Elements whose children are a repeated element (a JSON array).
LISTS = {
    "services", "service_requests", "attributes", "values", "errors", "endpoints", "formats", "notes",
    "service_request_updates", "media_urls",
}  # fmt: skip
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}


def _element(element: ET.Element):
    children = list(element)
    if element.tag in LISTS:
        return [_element(child) for child in children]
    if children:
        return {child.tag: _element(child) for child in children}
    return element.text


def _texts(value):
    if isinstance(value, list):
        return [_texts(v) for v in value]
    if isinstance(value, dict):
        return {k: _texts(v) for k, v in value.items()}
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value in (None, "") else str(value)  # XML cannot tell an empty text from none


def read(response, fmt: str):
    """The body as plain lists/dicts of text (None for empty), checking the format's content type first."""
    assert response.headers["Content-Type"] == CONTENT_TYPES[fmt], response.headers["Content-Type"]
    if fmt == "json":
        return _texts(json.loads(response.data))
    assert response.data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>"), response.data[:60]
    return _element(ET.fromstring(response.data))  # the root's name is dropped, as JSON drops it


def errors(response, fmt: str) -> list[dict]:
    """The spec's error list ``[{code, description}]`` (the root is ``errors`` in XML, a bare array in JSON)."""
    body = read(response, fmt)
    assert isinstance(body, list) and body, body
    assert all(set(e) == {"code", "description"} and e["description"] for e in body), body
    return body
