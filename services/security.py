"""Security headers on every response: CSP, no framing, no sniffing, referrer and permissions policies, HSTS.

The pages load only our own files: scripts and styles from /static (no inline script, no style attribute;
page data travels in ``<script type="application/json">`` blocks, which are data, not code). Swagger UI
at /api/docs has one inline script from flask-smorest's template: it alone is allowed, by its SHA-256
hash, on that page only. Map tiles come from MAP_TILE_URL's origin when one is configured.
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from flask import Flask, Response, abort, request, session
from werkzeug.middleware.proxy_fix import ProxyFix

from config.settings import Settings

DOCS_PAGE = "/api/docs"
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)  # a <script> with no src, no type


def tile_origin(tile_url: str) -> str:
    """``https://tiles.example/{z}/{x}/{y}.png`` -> ``https://tiles.example`` (empty for no or a relative URL)."""
    parts = urlsplit(tile_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def content_security_policy(img_sources: str = "'self'", script_hashes: tuple[str, ...] = ()) -> str:
    scripts = " ".join(("'self'", *(f"'sha256-{h}'" for h in script_hashes)))
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self'",
            f"img-src {img_sources}",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def inline_script_hashes(html: bytes) -> tuple[str, ...]:
    """Base64 SHA-256 of each inline script's text, as CSP hash sources want them."""
    return tuple(base64.b64encode(hashlib.sha256(body).digest()).decode() for body in INLINE_SCRIPT.findall(html))


def permissions_policy(path: str) -> str:
    """Only the parking page may ask for the visitor's position ("nearest to me"); nothing may use the rest."""
    geolocation = "(self)" if path == "/parking" or path.startswith("/parking/") else "()"
    return f"geolocation={geolocation}, camera=(), microphone=(), payment=(), usb=()"


NUL_ENCODED = re.compile(rb"%00|\\u0000", re.IGNORECASE)  # in a query or form body; in a JSON string


def carries_nul() -> bool:
    """Whether the request's query or text body holds a NUL: no field of ours is binary, and PostgreSQL
    refuses NUL in text, so it would fail deep in a write instead of here with a reason."""
    if NUL_ENCODED.search(request.query_string):
        return True
    if request.mimetype == "multipart/form-data":  # files may hold NULs; the text fields may not
        return any("\x00" in value for value in request.form.values())
    if request.mimetype in ("application/json", "application/x-www-form-urlencoded"):
        body = request.get_data(cache=True)
        return b"\x00" in body or bool(NUL_ENCODED.search(body))
    return False


def init_security(app: Flask, settings: Settings) -> None:
    """Add the headers to every response; trust ``X-Forwarded-For`` from TRUSTED_PROXIES reverse proxies."""
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)
    page_csp = content_security_policy(" ".join(filter(None, ("'self'", tile_origin(settings.map_tile_url)))))
    hsts = settings.session_cookie_secure

    @app.before_request
    def _refuse_nul() -> None:
        if carries_nul():
            abort(400, description="text may not contain NUL characters (\\u0000, %00)")

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        if request.path == DOCS_PAGE and response.mimetype == "text/html":
            # Swagger UI: its bootstrap script (fixed by the app's config) and its CSS's data: icons.
            headers["Content-Security-Policy"] = content_security_policy(
                "'self' data:", inline_script_hashes(response.get_data())
            )
        else:
            headers["Content-Security-Policy"] = page_csp
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "same-origin"  # request ids in URLs never leave the site
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = permissions_policy(request.path)
        if hsts:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if "_user_id" in session and "Cache-Control" not in headers:  # logged in (no database look-up)
            headers["Cache-Control"] = "no-store"  # a logged-in page may show residents' contact details
        return response
