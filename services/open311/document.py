"""One serializer for Open311's two formats: XML (required by the spec) and JSON (its Spark mapping).

A response is a ``Document``: a root element name and a body built of dicts (elements in order),
``Many`` (a repeated element: ``<services><service/>…</services>`` in XML, a JSON array, even with one
item) and scalars. JSON follows the spec's Spark convention: the root disappears, a list body is a bare
top-level array. XML has no namespace, booleans are ``true``/``false`` and ``None`` is an empty element.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from flask import Response

FORMATS = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}

# Characters XML 1.0 cannot carry (control characters, lone surrogates, U+FFFE/FFFF): a hostile
# description must not make the whole list unparseable, so they are shown as U+FFFD.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Many:
    """A repeated element: each item becomes one ``<tag>`` (XML) or one array entry (JSON)."""

    tag: str
    items: list


@dataclass(frozen=True)
class Document:
    root: str
    body: dict | Many


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("\ufffd", str(value))


def _fill(element: ET.Element, value) -> None:
    if isinstance(value, Many):
        for item in value.items:
            _fill(ET.SubElement(element, value.tag), item)
    elif isinstance(value, dict):
        for name, child in value.items():
            _fill(ET.SubElement(element, name), child)
    elif isinstance(value, list | tuple | set):
        raise TypeError("wrap repeated values in Many(tag, items) so XML knows their element name")
    elif value is not None:
        element.text = _text(value)


def _plain(value):
    if isinstance(value, Many):
        return [_plain(item) for item in value.items]
    if isinstance(value, dict):
        return {name: _plain(child) for name, child in value.items()}
    return value


def to_xml(document: Document) -> bytes:
    root = ET.Element(document.root)
    _fill(root, document.body)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def to_json(document: Document) -> bytes:
    return json.dumps(_plain(document.body), ensure_ascii=False).encode()


def render(document: Document, fmt: str, status: int = 200) -> Response:
    """The document as a response in ``fmt`` (``xml`` or ``json``)."""
    body = to_json(document) if fmt == "json" else to_xml(document)
    return Response(body, status=status, content_type=FORMATS.get(fmt, FORMATS["xml"]))
