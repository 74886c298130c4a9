"""Accounts of people who log in: community-centre staff, city operators, admins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from services.accounts.roles import Actor, Role
from services.db import Base
from services.types import BigId, UtcDateTime


class User(Base):
    """Also Flask-Login's user (is_active, is_authenticated, is_anonymous, get_id), written out rather than
    inherited from its UserMixin: workers load every model, and the mixin's import pulls in Flask."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16))
    community_id: Mapped[str | None] = mapped_column(ForeignKey("communities.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def is_active(self) -> bool:  # a disabled account cannot log in or stay logged in
        return self.active

    @property
    def is_authenticated(self) -> bool:  # as UserMixin has it
        return self.is_active

    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

    def actor(self) -> Actor:
        return Actor(Role(self.role), self.id, self.username, self.community_id)


class ApiKey(Base):
    """A key an application sends as ``api_key`` (Open311 POST). Only its SHA-256 is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    community_id: Mapped[str | None] = mapped_column(ForeignKey("communities.id"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    def actor(self) -> Actor:
        return Actor(Role(self.role), None, f"apikey:{self.name}", self.community_id)
