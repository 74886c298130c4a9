"""Who is acting: roles and the actor a request is handled for (pure; no Flask, no database)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    PUBLIC = "public"  # not logged in: read-only, never personal data
    STAFF = "staff"  # community-centre staff: their own community only
    OPERATOR = "operator"  # city operators (智慧和平 command centre): every community
    ADMIN = "admin"  # operators' rights, plus managing accounts


ACCOUNT_ROLES = (Role.STAFF, Role.OPERATOR, Role.ADMIN)
CITY_WIDE = frozenset({Role.OPERATOR, Role.ADMIN})


@dataclass(frozen=True)
class Actor:
    role: Role
    user_id: int | None = None
    username: str = "public"
    community_id: str | None = None

    @property
    def city_wide(self) -> bool:
        return self.role in CITY_WIDE

    @property
    def is_staff_member(self) -> bool:
        """Any logged-in account (staff, operator or admin)."""
        return self.role in ACCOUNT_ROLES

    def may_see_community(self, community_id: str | None) -> bool:
        """Operators and admins see every community (and unrouted requests); staff only their own."""
        if self.city_wide:
            return True
        return self.role is Role.STAFF and community_id is not None and community_id == self.community_id


PUBLIC = Actor(Role.PUBLIC)
SYSTEM = Actor(Role.ADMIN, username="system")  # scheduled jobs (SLA sweep)


def check_account(role: Role, community_id: str | None) -> None:
    """Staff belong to one community; operators and admins to none. ValueError says what is wrong."""
    if role not in ACCOUNT_ROLES:
        raise ValueError(f"role must be one of {', '.join(ACCOUNT_ROLES)}")
    if role is Role.STAFF and not community_id:
        raise ValueError("staff accounts need a community (--community)")
    if role is not Role.STAFF and community_id:
        raise ValueError(f"{role} accounts see every community; give no --community")
