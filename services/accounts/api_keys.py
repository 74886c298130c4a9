"""API keys for applications (Open311 clients): create, revoke, and recognise the key sent as ``api_key``.

A key is 32 random bytes (``cp_`` + URL-safe base64), so a plain SHA-256 is enough to store it: unlike
a password it cannot be guessed from a dictionary, and lookup stays one indexed query per request.
The key is shown once, when created.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts.models import ApiKey
from services.accounts.roles import SYSTEM, Actor, Role
from services.audit.store import AuditAction, record
from services.district.models import Community

KEY_ROLES = (Role.PUBLIC, Role.STAFF, Role.OPERATOR)  # an app files requests; it never administers
PREFIX = "cp_"


class ApiKeyError(ValueError):
    """A key cannot be created or revoked as asked; the message says why."""


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    session: Session, name: str, role: Role, community_id: str | None = None, actor: Actor = SYSTEM
) -> tuple[ApiKey, str]:
    """A new key named ``name``; returns (row, the key itself, which is not stored)."""
    if role not in KEY_ROLES:
        raise ApiKeyError(f"an API key's role is one of {', '.join(KEY_ROLES)}")
    if (role is Role.STAFF) != bool(community_id):
        raise ApiKeyError("a staff key files for one community (--community); other roles name none")
    if community_id and session.get(Community, community_id) is None:
        raise ApiKeyError(f"no community {community_id!r} (see `civic seed` and the district file)")
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise ApiKeyError(f"an API key named {name!r} exists already")
    key = PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name, role=str(role), community_id=community_id, key_hash=digest(key), created_at=datetime.now(UTC)
    )
    session.add(row)
    session.flush()
    detail = {"role": str(role), "community_id": community_id}
    record(session, actor, AuditAction.APIKEY_CREATE, "api_key", name, detail)
    return row, key


def revoke_key(session: Session, name: str, actor: Actor = SYSTEM) -> ApiKey:
    row = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if row is None:
        raise ApiKeyError(f"no API key named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        record(session, actor, AuditAction.APIKEY_REVOKE, "api_key", name, {})
    return row


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.name)))


def well_formed(key: str | None) -> bool:
    return bool(key) and key.startswith(PREFIX) and len(key) <= 100


def key_for(session: Session, key: str | None) -> ApiKey | None:
    """The live key matching ``key`` (None for a missing, unknown or revoked key); notes its last use."""
    if not well_formed(key):
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest(key), ApiKey.revoked_at.is_(None)))
    if row is not None:
        row.last_used_at = datetime.now(UTC)
    return row
