"""The service catalogue (config/district/<district>-services.yaml): categories, services, attributes, SLAs.

Loaded once per file and checked on load: a wrong datatype, a duplicate code or a list without
values stops the platform with an error naming the service and attribute, instead of failing later
at the desk. Field names follow Open311 GeoReport v2 (service_code, group, keywords, attributes).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
LIST_DATATYPES = ("singlevaluelist", "multivaluelist")


class CatalogueError(ValueError):
    """The catalogue file is not valid; the message says where and why."""


@dataclass(frozen=True)
class AttributeValue:
    key: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: str
    required: bool
    order: int
    description_zh: str
    description_en: str
    values: tuple[AttributeValue, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(v.key for v in self.values)


@dataclass(frozen=True)
class Sla:
    response_hours: float
    resolution_hours: float


@dataclass(frozen=True)
class Service:
    code: str
    category: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    keywords: tuple[str, ...]
    agency_zh: str
    agency_en: str
    private: bool
    sla: Sla
    attributes: tuple[Attribute, ...]
    # The place is a public one (a street light, a pavement), not someone's home: public views may show
    # a non-private request's address and coordinates. Off by default.
    public_location: bool = False


@dataclass(frozen=True)
class Category:
    code: str
    name_zh: str
    name_en: str
    service_codes: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    id_prefix: str
    sample_data: bool
    categories: tuple[Category, ...]
    services: dict[str, Service]

    def service(self, code: str) -> Service | None:
        return self.services.get(code)

    def category(self, code: str) -> Category | None:
        return next((c for c in self.categories if c.code == code), None)

    def search(self, text: str = "", category: str | None = None) -> list[Service]:
        """Services whose code, names or keywords contain ``text`` (any case); name matches first."""
        needle = text.strip().casefold()
        found = []
        for service in self.services.values():
            if category and service.category != category:
                continue
            names = (service.name_zh.casefold(), service.name_en.casefold())
            if not needle or any(needle in n for n in names):
                found.append((0, service))
            elif needle in service.code.casefold() or any(needle in k.casefold() for k in service.keywords):
                found.append((1, service))
        return [s for _, s in sorted(found, key=lambda pair: pair[0])]


def _need(entry: dict, key: str, where: str):
    if entry.get(key) in (None, ""):
        raise CatalogueError(f"{where}: `{key}` is missing")
    return entry[key]


def _hours(sla: dict, key: str, where: str) -> float:
    value = _need(sla, key, f"{where} sla")
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise CatalogueError(f"{where} sla: `{key}` must be a positive number of hours, got {value!r}")
    return float(value)


def _attribute(raw: dict, where: str) -> Attribute:
    code = _need(raw, "code", where)
    where = f"{where} attribute {code}"
    datatype = _need(raw, "datatype", where)
    if datatype not in DATATYPES:
        raise CatalogueError(f"{where}: unknown datatype {datatype!r} (one of {', '.join(DATATYPES)})")
    order = _need(raw, "order", where)
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise CatalogueError(f"{where}: `order` must be a positive integer, got {order!r}")
    values = tuple(
        AttributeValue(str(_need(v, "key", f"{where} value")), v.get("name_zh", ""), v.get("name_en", ""))
        for v in raw.get("values") or ()
    )
    if datatype in LIST_DATATYPES and not values:
        raise CatalogueError(f"{where}: a {datatype} needs at least one entry in `values`")
    if datatype not in LIST_DATATYPES and values:
        raise CatalogueError(f"{where}: only list datatypes take `values`, this one is {datatype}")
    if len({v.key for v in values}) != len(values):
        raise CatalogueError(f"{where}: duplicate value keys")
    return Attribute(
        code=str(code),
        datatype=datatype,
        required=bool(raw.get("required", False)),
        order=order,
        description_zh=raw.get("description_zh", ""),
        description_en=raw.get("description_en", ""),
        values=values,
    )


def _service(raw: dict, category: dict, where: str) -> Service:
    code = str(_need(raw, "code", where))
    where = f"service {code}"
    attributes = tuple(sorted((_attribute(a, where) for a in raw.get("attributes") or ()), key=lambda a: a.order))
    for label, items in (("code", [a.code for a in attributes]), ("order", [a.order for a in attributes])):
        if len(set(items)) != len(items):
            raise CatalogueError(f"{where}: attribute {label}s must be unique")
    sla = _need(raw, "sla", where)
    return Service(
        code=code,
        category=category["code"],
        name_zh=_need(raw, "name_zh", where),
        name_en=_need(raw, "name_en", where),
        description_zh=raw.get("description_zh", ""),
        description_en=raw.get("description_en", ""),
        keywords=tuple(str(k) for k in raw.get("keywords") or ()),
        agency_zh=raw.get("agency_zh") or _need(category, "agency_zh", f"{where} (or its category)"),
        agency_en=raw.get("agency_en") or _need(category, "agency_en", f"{where} (or its category)"),
        private=bool(raw.get("private", category.get("private", False))),
        sla=Sla(_hours(sla, "response_hours", where), _hours(sla, "resolution_hours", where)),
        attributes=attributes,
        public_location=bool(raw.get("public_location", category.get("public_location", False))),
    )


def parse_catalogue(raw: dict) -> Catalogue:
    """Build and check a catalogue from the parsed YAML; raise CatalogueError naming what is wrong."""
    if not isinstance(raw, dict) or not raw.get("categories"):
        raise CatalogueError("the catalogue has no `categories`")
    categories, services = [], {}
    for cat in raw["categories"]:
        where = f"category {cat.get('code', '?')}"
        code = _need(cat, "code", where)
        if any(c.code == code for c in categories):
            raise CatalogueError(f"{where}: duplicate category code")
        codes = []
        for entry in cat.get("services") or ():
            service = _service(entry, cat, where)
            if service.code in services:
                raise CatalogueError(f"service {service.code}: duplicate service code")
            services[service.code] = service
            codes.append(service.code)
        if not codes:
            raise CatalogueError(f"{where}: no services")
        categories.append(Category(code, _need(cat, "name_zh", where), _need(cat, "name_en", where), tuple(codes)))
    return Catalogue(str(raw.get("id_prefix", "SR")), bool(raw.get("sample_data", False)), tuple(categories), services)


def catalogue_path(district_file: Path) -> Path:
    """The catalogue file the district file names (``service_catalogue:``, relative to it)."""
    district_file = Path(district_file)
    raw = yaml.safe_load(district_file.read_text(encoding="utf-8"))
    name = raw.get("service_catalogue") or f"{district_file.stem}-services.yaml"
    return district_file.parent / name


@cache
def load_catalogue(path: Path) -> Catalogue:
    """Read and check the catalogue file (once per path per process)."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return parse_catalogue(raw)
    except CatalogueError as exc:
        raise CatalogueError(f"{path}: {exc}") from None


def district_catalogue(district_file: Path) -> Catalogue:
    """The catalogue of the district whose file is ``district_file``."""
    return load_catalogue(catalogue_path(district_file))
