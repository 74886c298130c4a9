"""Who may use each route: the table the role matrix test (tests/integration/test_role_matrix.py) holds the app to.

The views enforce it (``require_role``, ``operators_only``, ``admins_only``, community scoping in the stores);
this table states it in one place, for review and for docs/security.md. Every route of the app must be listed:
a new endpoint fails the test until it is classified here.
"""

from __future__ import annotations

from enum import StrEnum

from services.accounts.roles import Role


class Access(StrEnum):
    PUBLIC = "public"  # anyone, logged in or not
    ACCOUNTS = "accounts"  # any logged-in account: staff, operators, admins
    COMMUNITY = "community"  # accounts, but staff only for their own community's records (others: 404)
    OPERATORS = "operators"  # operators and admins: the command centre
    ADMIN = "admin"  # admins only


ALLOWED: dict[Access, frozenset[Role]] = {
    Access.PUBLIC: frozenset(Role),
    Access.ACCOUNTS: frozenset({Role.STAFF, Role.OPERATOR, Role.ADMIN}),
    Access.COMMUNITY: frozenset({Role.STAFF, Role.OPERATOR, Role.ADMIN}),
    Access.OPERATORS: frozenset({Role.OPERATOR, Role.ADMIN}),
    Access.ADMIN: frozenset({Role.ADMIN}),
}

PUB, ACC, COM, OPS, ADM = Access.PUBLIC, Access.ACCOUNTS, Access.COMMUNITY, Access.OPERATORS, Access.ADMIN

# (method, URL rule) -> access. HEAD and OPTIONS follow GET and are not listed.
ROUTES: dict[tuple[str, str], Access] = {
    # pages
    ("GET", "/"): PUB,
    ("GET", "/parking"): PUB,
    ("GET", "/parking/<facility_id>"): PUB,
    ("GET", "/air"): PUB,
    ("GET", "/air/<station_id>"): PUB,
    ("GET", "/track"): PUB,
    ("GET", "/static/<path:filename>"): PUB,
    ("GET", "/login"): PUB,
    ("POST", "/login"): PUB,  # rate-limited: LOGIN_RATE_LIMIT failures per address and per username
    ("POST", "/logout"): PUB,  # ends whatever session there is
    ("GET", "/desk"): ACC,
    ("GET", "/desk/queue"): ACC,
    ("GET", "/desk/services"): ACC,
    ("GET", "/desk/services/<code>"): ACC,
    ("POST", "/desk/requests"): ACC,
    ("GET", "/desk/requests/<request_id>"): COM,
    ("GET", "/desk/stats"): ACC,  # staff: their community's figures; operators: the district's
    ("POST", "/desk/requests/<request_id>/transition"): COM,
    ("POST", "/desk/requests/<request_id>/route"): OPS,  # the page form of POST /api/v1/requests/<id>/route
    ("GET", "/ops"): OPS,  # the command centre's console; others are sent to log in
    # operations: probes and Prometheus (internal network; no personal data)
    ("GET", "/healthz"): PUB,
    ("GET", "/readyz"): PUB,
    ("GET", "/metrics"): PUB,
    # API documentation
    ("GET", "/api/docs"): PUB,
    ("GET", "/api/docs/assets/<path:filename>"): PUB,
    ("GET", "/api/openapi.json"): PUB,
    # open data: parking, air quality, live events, NGSI-LD
    ("GET", "/api/v1/parking/facilities"): PUB,
    ("GET", "/api/v1/parking/facilities/<facility_id>"): PUB,
    ("GET", "/api/v1/parking/facilities.geojson"): PUB,
    ("GET", "/api/v1/parking/nearby"): PUB,
    ("GET", "/api/v1/parking/berths"): PUB,
    ("GET", "/api/v1/parking/berths/<berth_id>"): PUB,
    ("GET", "/api/v1/parking/history"): PUB,
    ("GET", "/api/v1/parking/history.csv"): PUB,
    ("GET", "/api/v1/parking/stats"): PUB,
    ("GET", "/api/v1/parking/kpis"): PUB,
    ("GET", "/api/v1/air/aqi"): PUB,
    ("GET", "/api/v1/air/kpi"): PUB,
    ("GET", "/api/v1/kpis"): PUB,  # the plan's KPI board: aggregate figures only
    ("GET", "/api/v1/air/latest"): PUB,
    ("GET", "/api/v1/air/stations"): PUB,
    ("GET", "/api/v1/air/stations/<station_id>/series"): PUB,
    ("GET", "/api/v1/air/stations/<station_id>/series.csv"): PUB,
    ("GET", "/api/v1/events/stream"): PUB,  # events carry no personal data
    ("GET", "/ngsi-ld/v1/entities"): PUB,
    ("GET", "/api/v1/alerts"): PUB,  # alerts are about sensors and places; the air page shows them
    ("GET", "/api/v1/alerts/<int:alert_id>"): PUB,
    # service requests
    ("GET", "/api/v1/requests/catalogue/categories"): PUB,
    ("GET", "/api/v1/requests/catalogue/services"): PUB,
    ("GET", "/api/v1/requests/catalogue/services/<service_code>"): PUB,
    ("GET", "/api/v1/requests/lookup/<request_id>"): PUB,  # status only, never contact details
    ("GET", "/api/v1/requests/me"): PUB,
    ("GET", "/api/v1/requests"): ACC,
    ("POST", "/api/v1/requests"): ACC,
    ("GET", "/api/v1/requests/stats"): ACC,  # scoped like the queue: staff get their community's figures
    ("GET", "/api/v1/requests/stats.csv"): ACC,
    ("GET", "/api/v1/requests/export.csv"): ACC,  # one row per request, no personal data
    ("GET", "/api/v1/requests/<request_id>"): COM,
    ("GET", "/api/v1/requests/<request_id>/history"): COM,
    ("POST", "/api/v1/requests/<request_id>/transitions"): COM,
    ("POST", "/api/v1/requests/<request_id>/route"): OPS,  # to another community centre
    # Open311 GeoReport v2: public reads (public fields only); POST needs an application's api_key instead
    ("GET", "/open311/v2/discovery.<fmt>"): PUB,
    ("GET", "/open311/v2/services.<fmt>"): PUB,
    ("GET", "/open311/v2/services/<service_code>.<fmt>"): PUB,
    ("GET", "/open311/v2/requests.<fmt>"): PUB,
    ("POST", "/open311/v2/requests.<fmt>"): PUB,  # api_key (403 without), SUBMISSION_RATE_LIMIT per address
    ("GET", "/open311/v2/requests/<request_id>.<fmt>"): PUB,
    ("GET", "/open311/v2/tokens/<token>.<fmt>"): PUB,
    ("GET", "/open311/v2/servicerequestupdates.<fmt>"): PUB,
    ("GET", "/open311/v2/media/<name>"): PUB,  # a private service's photo: only accounts that may see the request
    # the command centre
    ("POST", "/api/v1/alerts/<int:alert_id>/acknowledge"): OPS,
    ("POST", "/api/v1/alerts/<int:alert_id>/assign"): OPS,
    ("POST", "/api/v1/alerts/<int:alert_id>/clear"): OPS,
    ("POST", "/api/v1/parking/berths/<berth_id>/close"): OPS,
    ("POST", "/api/v1/parking/berths/<berth_id>/open"): OPS,
    ("GET", "/api/v1/dead-letters"): OPS,  # raw payloads
    ("DELETE", "/api/v1/dead-letters"): OPS,
    ("GET", "/api/v1/dead-letters/<int:letter_id>"): OPS,
    ("DELETE", "/api/v1/dead-letters/<int:letter_id>"): OPS,
    ("POST", "/api/v1/dead-letters/<int:letter_id>/requeue"): OPS,
    ("GET", "/api/v1/pipeline/health"): OPS,  # the ops console's pipeline panel
    ("GET", "/api/v1/devices"): OPS,
    ("GET", "/api/v1/devices/<device_id>"): OPS,
    ("GET", "/api/v1/fleet"): OPS,  # device health: the command centre's
    ("GET", "/api/v1/fleet/devices"): OPS,
    # admins
    ("POST", "/api/v1/devices"): ADM,
    ("POST", "/api/v1/devices/<device_id>/revoke"): ADM,
    ("GET", "/api/v1/audit"): ADM,
}


def may(role: Role, access: Access) -> bool:
    """Whether ``role`` passes the role check of a route with ``access`` (community scoping aside)."""
    return role in ALLOWED[access]
