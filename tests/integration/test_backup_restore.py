"""Backup and restore, done once for real as docs/reliability.md ("Data lifecycle") tells an operator to:
`pg_dump --format=custom` of a database holding a service request with its history, air readings and
rollups, berth events and a provisioned device; `pg_restore` into a fresh database; every row, the
append-only history and the audit log's guard come back, sequences go on from where they were, and
`civic db upgrade` on the restored database changes nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import select

from config.settings import Settings
from services.accounts.roles import Role
from services.accounts.store import create_user
from services.air_quality.rollups import roll_up_dirty
from services.air_quality.store import record_air_readings
from services.app import create_app
from services.db import Base, import_models, transaction
from services.parking.models import Berth
from services.parking.store import record_berth_events
from tests.support.accounts import PASSWORD, logged_in
from tests.support.services import ROOT, scratch_postgres_database, unavailable

HOME = "wudadao-01"
CONTACT = {"resident_name": "李淑芬", "resident_phone": "139 0000 5678", "resident_email": "li@example.cn"}


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (Debian package: postgresql-client)")
    return path


def server_major(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.info.server_version // 10000


def client_major(binary: str) -> int:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    return int(out.split()[-1].split(".")[0])  # "pg_dump (PostgreSQL) 15.20" -> 15


def table_digests(url: str) -> dict[str, tuple[int, str]]:
    """Per table (the platform's and Alembic's), its row count and an md5 of its rows in a fixed order."""
    import_models()
    tables = [t.name for t in Base.metadata.sorted_tables] + ["alembic_version"]
    digests = {}
    with psycopg.connect(url) as conn:
        for name in tables:
            count, digest = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {name} t"
            ).fetchone()
            digests[name] = (count, digest)
    return digests


def schema(url: str) -> str:
    """The database's schema as pg_dump writes it, less the random key of its psql \\restrict guard lines."""
    out = subprocess.run(
        [tool("pg_dump"), "--schema-only", "--no-owner", "--dbname", url], capture_output=True, text=True, check=True
    ).stdout
    return "\n".join(line for line in out.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


def make_data(app, runtime) -> str:
    """A request with four history entries, a device (audited), air readings with rollups, berth events."""
    with transaction(runtime.sessions) as session:
        create_user(session, "clerk", Role.STAFF, PASSWORD, HOME)
        create_user(session, "root", Role.ADMIN, PASSWORD)
        free_berth = session.scalars(select(Berth.id).where(Berth.device_id.is_(None)).order_by(Berth.id)).first()
    staff = logged_in(app, "clerk")
    body = {"service_code": "EN-STREETLIGHT", "description": "路灯不亮", "address": "睦南道 20 号"} | CONTACT
    created = staff.post("/api/v1/requests", json=body)
    assert created.status_code == 201, created.json
    rid = created.json["service_request_id"]
    for change in (
        {"status": "accepted", "note": "已受理"},
        {"status": "assigned", "assignee": "路灯所"},
        {"status": "in_progress"},
    ):
        assert staff.post(f"/api/v1/requests/{rid}/transitions", json=change).status_code == 200
    admin = logged_in(app, "root")
    provisioned = admin.post("/api/v1/devices", json={"berth_id": free_berth})
    assert provisioned.status_code == 201, provisioned.json

    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    rows = [
        {
            "device_id": "S-AQ-HEPING-01",
            "boot": 1,
            "seq": i + 1,
            "station_id": "AQ-HEPING-01",
            "observed_at": (start + timedelta(minutes=5 * i)).timestamp(),
            "received_at": (start + timedelta(minutes=5 * i)).timestamp() + 1,
            "pm25": 35.0 + i % 3,
            "pm10": 70.0,
        }
        for i in range(36)
    ]
    berth = "P-ZIYANGLI-001"
    events = [
        {
            "device_id": f"S-{berth}", "boot": 1, "seq": s, "berth_id": berth, "facility_id": "P-ZIYANGLI",
            "occupied": s % 2 == 0, "observed_at": start.timestamp() + s, "received_at": start.timestamp() + s,
        }
        for s in range(1, 21)
    ]  # fmt: skip
    with transaction(runtime.sessions) as session:
        record_air_readings(session, rows)
        record_berth_events(session, events)
    with transaction(runtime.sessions) as session:
        roll_up_dirty(session)
    return rid


def test_pg_dump_and_pg_restore_bring_back_every_row_and_the_history(app, runtime, postgres_url, env, tmp_path):
    pg_dump, pg_restore = tool("pg_dump"), tool("pg_restore")
    if client_major(pg_dump) < server_major(postgres_url):
        pytest.fail(f"pg_dump {client_major(pg_dump)} is older than the server ({server_major(postgres_url)})")
    rid = make_data(app, runtime)
    history = logged_in(app, "clerk").get(f"/api/v1/requests/{rid}/history").json
    assert [h["to_status"] for h in history] == ["submitted", "accepted", "assigned", "in_progress"]
    original = table_digests(postgres_url)
    for table in ("service_requests", "service_request_history", "users", "devices", "audit_log", "air_readings",
                  "air_hourly", "air_daily", "berth_events", "alembic_version"):  # fmt: skip
        assert original[table][0] > 0, f"{table} is empty: the test would prove nothing for it"

    dump = tmp_path / "civic.dump"
    subprocess.run([pg_dump, "--format=custom", "--file", str(dump), "--dbname", postgres_url], check=True)
    with scratch_postgres_database() as restored_url:
        subprocess.run(
            [pg_restore, "--no-owner", "--exit-on-error", "--dbname", restored_url, str(dump)],
            check=True,
            capture_output=True,
        )
        assert table_digests(restored_url) == original

        before_upgrade = schema(restored_url)
        upgrade = subprocess.run(
            [sys.executable, "-m", "services.cli", "db", "upgrade"],
            env=env | {"DATABASE_URL": restored_url},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert upgrade.returncode == 0, upgrade.stderr
        assert "Running upgrade" not in upgrade.stderr  # Alembic found the restored database at head
        assert schema(restored_url) == before_upgrade
        assert table_digests(restored_url) == original

        # The restored database serves the same history, takes new rows after the old ids, and keeps its guard.
        settings = Settings.from_env(env | {"DATABASE_URL": restored_url})
        restored_app = create_app(settings)
        staff = logged_in(restored_app, "clerk")
        restored_runtime = restored_app.extensions["civic"]
        assert staff.get(f"/api/v1/requests/{rid}/history").json == history
        moved = staff.post(f"/api/v1/requests/{rid}/transitions", json={"status": "resolved", "note": "已修复"})
        assert moved.status_code == 200, moved.json
        with psycopg.connect(restored_url) as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM service_request_history ORDER BY id")]
            assert len(ids) == 5 and ids[-1] > max(ids[:-1])
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute("UPDATE audit_log SET actor = 'someone-else'")
        restored_runtime.close()
