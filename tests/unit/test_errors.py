"""Every JSON error has the one shape: code, status, message (and errors where there are some)."""

import pytest

from services.app import create_app


@pytest.fixture
def client(tmp_path):
    return create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}"}).test_client()


@pytest.mark.parametrize(
    ("path", "code"),
    [("/no/such/page", 404), ("/api/v1/air/aqi?pm25=-1", 422), ("/api/v1/events/stream?kind=weather", 422)],
)
def test_errors_share_one_shape(client, path, code):
    response = client.get(path)
    assert response.status_code == code
    body = response.json
    assert body["code"] == code and body["status"] and body["message"]
    if code == 422:
        assert body["errors"]["query"]
