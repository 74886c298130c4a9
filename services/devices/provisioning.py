"""Provision devices and service accounts, and write the broker's password and ACL files."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.topics import DeviceKind, Topics, device_address
from services.accounts.roles import SYSTEM, Actor
from services.air_quality.models import AirStation
from services.audit.store import AuditAction, record
from services.devices.accounts import BrokerAccount
from services.devices.broker_auth import (
    Account,
    Role,
    device_topics,
    hash_password,
    new_password,
    render_acl,
    render_password_file,
)
from services.devices.models import Device
from services.district.loader import sensor_id
from services.parking.models import Berth, ParkingFacility
from services.runtime import Runtime


class ProvisioningError(ValueError):
    """A request that cannot be carried out as asked (the message says why)."""


def _issue_credentials(session: Session, device: Device) -> str:
    password = new_password()
    account = session.get(BrokerAccount, device.id)
    if account is None:
        account = BrokerAccount(username=device.id, role=str(Role.DEVICE), device_id=device.id)
        account.created_at = datetime.now(UTC)
        session.add(account)
    account.password_hash = hash_password(password)
    account.revoked_at = None
    return password


def add_device(
    session: Session,
    *,
    berth_id: str | None = None,
    station_id: str | None = None,
    device_id: str | None = None,
    actor: Actor = SYSTEM,
) -> tuple[Device, str]:
    """Register the sensor of a berth or station (or re-issue an existing device's password); audited as ``actor``.

    Returns the device and its new broker password: shown once, stored only as a hash.
    """
    if device_id and (existing := session.get(Device, device_id)) is not None:
        existing.active, existing.revoked_at = True, None
        record(session, actor, AuditAction.DEVICE_PROVISION, "device", existing.id, {"reissued": True})
        return existing, _issue_credentials(session, existing)
    if bool(berth_id) == bool(station_id):
        raise ProvisioningError("name exactly one of a berth or a station for a new device")
    now = datetime.now(UTC)
    if berth_id:
        berth = session.get(Berth, berth_id)
        if berth is None:
            raise ProvisioningError(f"no berth {berth_id}")
        if berth.device_id:
            raise ProvisioningError(f"berth {berth_id} already has device {berth.device_id}")
        facility = session.get(ParkingFacility, berth.facility_id)
        device = Device(
            id=device_id or sensor_id(berth_id),
            kind=str(DeviceKind.PARKING_BERTH),
            address=device_address(DeviceKind.PARKING_BERTH, facility.id, berth_id),
            subdistrict_id=facility.subdistrict_id,
            facility_id=facility.id,
            berth_id=berth_id,
            lat=facility.lat,
            lon=facility.lon,
            active=True,
            created_at=now,
        )
        berth.device_id, berth.smart = device.id, True
    else:
        station = session.get(AirStation, station_id)
        if station is None:
            raise ProvisioningError(f"no station {station_id}")
        if station.device_id and session.get(Device, station.device_id) is not None:
            raise ProvisioningError(f"station {station_id} already has device {station.device_id}")
        device = Device(
            id=device_id or sensor_id(station_id),
            kind=str(DeviceKind.AIR_STATION),
            address=device_address(DeviceKind.AIR_STATION, station_id),
            subdistrict_id=station.subdistrict_id,
            station_id=station_id,
            lat=station.lat,
            lon=station.lon,
            active=True,
            created_at=now,
        )
        station.device_id = device.id
    session.add(device)
    session.flush()
    detail = {"berth_id": berth_id} if berth_id else {"station_id": station_id}
    record(session, actor, AuditAction.DEVICE_PROVISION, "device", device.id, detail)
    return device, _issue_credentials(session, device)


def revoke_device(session: Session, device_id: str, actor: Actor = SYSTEM) -> Device:
    """Stop a device: the bridge refuses its messages and the broker drops its credentials (audited as ``actor``)."""
    device = session.get(Device, device_id)
    if device is None:
        raise ProvisioningError(f"no device {device_id}")
    now = datetime.now(UTC)
    device.active, device.revoked_at = False, now
    account = session.get(BrokerAccount, device_id)
    if account is not None:
        account.revoked_at = now
    record(session, actor, AuditAction.DEVICE_REVOKE, "device", device_id)
    return device


def set_service_account(session: Session, username: str, role: Role, password: str | None = None) -> str:
    """Create or update the bridge's or simulator's broker account; returns its password."""
    if role is Role.DEVICE:
        raise ProvisioningError("device accounts are made by `civic device add`")
    password = password or new_password()
    account = session.get(BrokerAccount, username)
    if account is None:
        account = BrokerAccount(username=username, role=str(role), created_at=datetime.now(UTC))
        session.add(account)
    elif account.role != role:
        raise ProvisioningError(f"{username} is a {account.role} account")
    account.password_hash, account.revoked_at = hash_password(password), None
    return password


def active_accounts(session: Session, topics: Topics) -> list[Account]:
    rows = session.execute(
        select(BrokerAccount, Device.address)
        .outerjoin(Device, Device.id == BrokerAccount.device_id)
        .where(BrokerAccount.revoked_at.is_(None))
    )
    accounts = []
    for account, address in rows:
        role = Role(account.role)
        own = device_topics(topics, account.username, address) if role is Role.DEVICE else ()
        accounts.append(Account(account.username, account.password_hash, role, own))
    return accounts


def write_broker_files(directory: Path, passwd: str, acl: str) -> None:
    """Replace ``passwd`` and ``acl`` atomically: the broker never reads a half-written file."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in (("passwd", passwd), ("acl", acl)):
        tmp = directory / f".{name}.tmp"
        tmp.write_text(text)
        tmp.chmod(0o644)  # the broker runs as another user; the passwd file holds only PBKDF2 hashes
        os.replace(tmp, directory / name)


def reload_broker(pid_file: Path) -> bool:
    """Ask Mosquitto to re-read its password and ACL files (SIGHUP); False when it is not running."""
    try:
        os.kill(int(pid_file.read_text().strip()), signal.SIGHUP)
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return False
    return True


def sync_broker(rt: Runtime) -> str:
    """Rewrite the broker's credential files from the database, reload it, refresh the Redis registry."""
    from services.devices.store import publish_registry

    with rt.sessions() as session:
        accounts = active_accounts(session, rt.topics)
        publish_registry(session, rt.redis, rt.keys)
    directory = rt.settings.mosquitto_auth_dir
    write_broker_files(directory, render_password_file(accounts), render_acl(accounts, rt.topics))
    pid_file = rt.settings.mosquitto_pid_file
    reloaded = bool(pid_file) and reload_broker(pid_file)
    return f"{len(accounts)} broker accounts written to {directory}" + ("; broker reloaded" if reloaded else "")
