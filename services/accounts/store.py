"""Create accounts and check passwords (argon2id)."""

from __future__ import annotations

from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts.models import User
from services.accounts.roles import SYSTEM, Actor, Role, check_account
from services.audit.store import AuditAction, record
from services.district.models import Community

_hasher = PasswordHasher()
# Verified against when the username is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("no such user")
MIN_PASSWORD = 10


class AccountError(ValueError):
    """An account cannot be created as asked; the message says why."""


def create_user(
    session: Session,
    username: str,
    role: Role,
    password: str,
    community_id: str | None = None,
    display_name: str = "",
    actor: Actor = SYSTEM,
) -> User:
    """Add an account; staff must name an existing community. Audited as ``actor`` (the CLI: system)."""
    try:
        check_account(role, community_id)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    if community_id and session.get(Community, community_id) is None:
        raise AccountError(f"no community {community_id!r} (see `civic seed` and the district file)")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"user {username!r} exists already")
    user = User(
        username=username,
        display_name=display_name or username,
        role=str(role),
        community_id=community_id,
        password_hash=_hasher.hash(password),
        active=True,
        created_at=datetime.now(UTC),
    )
    session.add(user)
    session.flush()
    record(session, actor, AuditAction.USER_CREATE, "user", username, {"role": str(role), "community_id": community_id})
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None; upgrades an outdated hash on the way."""
    user = session.scalar(select(User).where(User.username == username))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = datetime.now(UTC)
    return user
