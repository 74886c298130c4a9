"""Photos sent with an Open311 POST (multipart ``media`` — the v2.1 draft — or ``media[]``, or FixMyStreet's
``photo1…``): checked to be images by their first bytes, stored under random names, served back as
``media_url``. A private service's photos get a ``p-`` name and are shown only to staff who may see it.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from werkzeug.datastructures import FileStorage, MultiDict

from services.open311.errors import Open311Error

MAX_FILES = 5
MAX_BYTES = 5 * 1024 * 1024
URL_MAX = 500
FIELDS = ("media", "media[]", *(f"photo{n}" for n in range(1, MAX_FILES + 1)))
SIGNATURES = (  # (magic prefix, offset of a second mark, second mark, extension)
    (b"\xff\xd8\xff", 0, b"", "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, b"", "png"),
    (b"GIF87a", 0, b"", "gif"),
    (b"GIF89a", 0, b"", "gif"),
    (b"RIFF", 8, b"WEBP", "webp"),
)
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}


def image_extension(head: bytes) -> str | None:
    """``jpg``/``png``/``gif``/``webp`` if the bytes start like one, else None (the name and type are not trusted)."""
    for prefix, offset, mark, extension in SIGNATURES:
        if head.startswith(prefix) and (not mark or head[offset : offset + len(mark)] == mark):
            return extension
    return None


def uploads(files: MultiDict) -> list[FileStorage]:
    return [f for name in FIELDS for f in files.getlist(name) if f and f.filename is not None]


def read_images(files: list[FileStorage]) -> list[tuple[bytes, str]]:
    """(content, extension) of each upload; Open311Error if one is too big, not an image, or too many."""
    if len(files) > MAX_FILES:
        raise Open311Error(400, f"at most {MAX_FILES} photos per request")
    images = []
    for upload in files:
        content = upload.stream.read(MAX_BYTES + 1)
        if len(content) > MAX_BYTES:
            raise Open311Error(400, f"each photo must be at most {MAX_BYTES // (1024 * 1024)} MiB")
        extension = image_extension(content[:16])
        if extension is None:
            raise Open311Error(400, "media must be JPEG, PNG, GIF or WebP images")
        images.append((content, extension))
    return images


def client_urls(form: MultiDict) -> list[str]:
    """``media_url`` values (FixMyStreet repeats the key for several photos): http(s) URLs only."""
    urls = [u.strip() for u in form.getlist("media_url") if u.strip()]
    for url in urls:
        if not url.lower().startswith(("http://", "https://")) or len(url) > URL_MAX or any(c.isspace() for c in url):
            raise Open311Error(400, f"media_url must be an http(s) URL of at most {URL_MAX} characters")
    return urls[:MAX_FILES]


def store_images(directory: Path, images: list[tuple[bytes, str]], private: bool) -> list[str]:
    """Write the images; returns the request's media entries (``file:<name>``)."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for content, extension in images:
        name = ("p-" if private else "") + secrets.token_urlsafe(16) + "." + extension
        (directory / name).write_bytes(content)
        entries.append(f"file:{name}")
    return entries


def is_private_name(name: str) -> bool:
    return name.startswith("p-")
