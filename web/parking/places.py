"""Places to sort car parks from, availability levels, and links that navigate there (pure: no I/O).

Every coordinate here is WGS-84, like the district file and the API; distances come from the backend's
Redis GEO search (services.parking.live.geo_search).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Landmark:
    """A well-known place in Heping a resident can sort the car parks from (approximate WGS-84)."""

    id: str
    name: str  # lazy_gettext: English msgid, Chinese in the page's catalogue
    lat: float
    lon: float


# The district centre first: the order until the visitor picks a place or the browser says where they are.
LANDMARKS: tuple[Landmark, ...] = (
    Landmark("centre", _l("Heping district centre"), 39.1244, 117.1981),
    Landmark("binjiangdao", _l("Binjiang Road pedestrian street"), 39.1262, 117.1962),
    Landmark("quanyechang", _l("Quanyechang Emporium"), 39.1280, 117.1938),
    Landmark("wudadao", _l("Five Great Avenues (Minyuan Square)"), 39.1112, 117.1930),
    Landmark("xiaobailou", _l("Xiaobailou"), 39.1175, 117.2060),
    Landmark("xikai", _l("Xikai Church"), 39.1205, 117.1920),
    Landmark("jinwan", _l("Jinwan Plaza (across from Tianjin Station)"), 39.1310, 117.2010),
    Landmark("zhongxin-park", _l("Central Park (French quarter)"), 39.1258, 117.2012),
    Landmark("nanshi", _l("Nanshi Food Street"), 39.1343, 117.1873),
)
DEFAULT_LANDMARK = LANDMARKS[0]


def landmark(landmark_id: str | None) -> Landmark:
    """The landmark with this id, or the district centre for a missing or unknown one."""
    return next((m for m in LANDMARKS if m.id == landmark_id), DEFAULT_LANDMARK)


# -- availability ----------------------------------------------------------------------------------
def availability(free: int, occupied: int) -> str:
    """plenty / few / full / unknown, from the berths whose state is known (free + occupied).

    "few" is at most 5 free berths or 10 % of the known ones, whichever is more (5 free in a 30-berth car park
    is worth hurrying for, 20 free in a 260-berth garage fill in minutes at peak time) — unless most of them
    are free, as in a 4-berth row of charging points with all 4 free.
    """
    known = free + occupied
    if known == 0:
        return "unknown"
    if free == 0:
        return "full"
    return "few" if free <= max(5, 0.1 * known) and 2 * free <= known else "plenty"


# -- navigation ------------------------------------------------------------------------------------
# Why two links: most phones in China navigate with Amap (高德), which works in GCJ-02, the offset datum
# Chinese maps are required to use; opening it with our WGS-84 coordinates would land a few hundred metres
# off, so we convert (the public GCJ-02 formula below; accurate to a few metres) and say coordinate=gaode.
# The geo: URI (RFC 5870, WGS-84 by definition) is the neutral second choice: on Android it opens whichever
# map app the resident uses, and apps that understand WGS-84 (OsmAnd, Google Maps) get exact coordinates.
_GCJ_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the GCJ-02 formula uses
_GCJ_EE = 0.00669342162296594323


def _gcj_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _gcj_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """WGS-84 to GCJ-02 (the datum of Amap and Tencent maps) for a point in mainland China."""
    x, y = lon - 105.0, lat - 35.0
    rad = lat / 180.0 * math.pi
    magic = 1 - _GCJ_EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (_gcj_lat(x, y) * 180.0) / ((_GCJ_A * (1 - _GCJ_EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (_gcj_lon(x, y) * 180.0) / (_GCJ_A / sqrt_magic * math.cos(rad) * math.pi)
    return lat + d_lat, lon + d_lon


def navigation_links(lat: float, lon: float, name: str) -> dict[str, str]:
    """Links that start navigation to a car park: Amap (converted to GCJ-02) and a geo: URI (WGS-84)."""
    g_lat, g_lon = wgs84_to_gcj02(lat, lon)
    amap = "https://uri.amap.com/navigation?" + urlencode(
        {
            "to": f"{g_lon:.6f},{g_lat:.6f},{name}",
            "mode": "car",
            "coordinate": "gaode",
            "callnative": 1,
            "src": "civicpulse",
        }
    )
    return {"amap": amap, "geo": f"geo:{lat:.6f},{lon:.6f}?q={lat:.6f},{lon:.6f}({quote(name)})"}


# -- opening hours ---------------------------------------------------------------------------------
def opening_hours_text(value: str) -> str:
    """The district file's OpenStreetMap opening_hours, in words for the two forms it uses; else as written."""
    value = value.strip()
    if value == "24/7":
        return str(_l("Open 24 hours"))
    days, _, hours = value.partition(" ")
    if days == "Mo-Su" and hours:
        return str(_l("Daily %(hours)s", hours=hours.replace("-", "–")))
    return value
