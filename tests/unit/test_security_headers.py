"""The pure parts of the security headers: CSP text, script hashes, tile origins, the permissions policy."""

import base64
import hashlib

from services.security import content_security_policy, inline_script_hashes, permissions_policy, tile_origin


def test_the_page_policy_allows_only_our_own_files():
    csp = content_security_policy()
    assert "script-src 'self';" in csp and "style-src 'self';" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe" not in csp


def test_tiles_are_allowed_from_their_origin_only():
    assert tile_origin("https://tiles.example.cn/{z}/{x}/{y}.png") == "https://tiles.example.cn"
    assert tile_origin("") == "" and tile_origin("/tiles/{z}/{x}/{y}.png") == ""


def test_inline_scripts_are_hashed_but_json_blocks_and_files_are_not():
    html = b'<script src="/a.js"></script><script type="application/json">{}</script><script>go()</script>'
    assert inline_script_hashes(html) == (base64.b64encode(hashlib.sha256(b"go()").digest()).decode(),)


def test_only_the_parking_pages_may_ask_for_the_position():
    assert permissions_policy("/parking").startswith("geolocation=(self)")
    assert permissions_policy("/parking/P-ZIYANGLI").startswith("geolocation=(self)")
    assert permissions_policy("/parkingx").startswith("geolocation=()")
    assert permissions_policy("/desk").startswith("geolocation=()")
