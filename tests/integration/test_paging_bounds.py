"""Every list API bounds its offset: a number beyond PostgreSQL's bigint OFFSET is a 422 that names it, not a 500
(the OpenAPI fuzz test found one on /api/v1/requests)."""

from __future__ import annotations

import pytest

from tests.support.accounts import operator_client

BEYOND_BIGINT = str(2**66)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/requests",
        "/api/v1/dead-letters",
        "/ngsi-ld/v1/entities?type=ParkingSpot",
        "/api/v1/parking/berths",
    ],
)
def test_an_offset_beyond_any_list_is_refused_by_name(app, runtime, path):
    separator = "&" if "?" in path else "?"
    response = operator_client(app, runtime).get(f"{path}{separator}offset={BEYOND_BIGINT}")
    assert response.status_code == 422, response.json
    assert "offset" in response.json["errors"]["query"]
