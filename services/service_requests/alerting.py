"""Overdue-request alerts: one per community with open requests past an SLA due time, cleared when none is.

Alerts are public (the alerts list is), so the detail holds counts and public request ids only, never
what a resident wrote or who they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.alerts import store as alerts
from services.alerts.logic import Action, Severity
from services.district.models import Community
from services.service_requests.catalogue import Catalogue
from services.service_requests.lifecycle import FINAL
from services.service_requests.models import ServiceRequest

KIND, SOURCE = "requests_overdue", "community"
LISTED_IDS = 50  # the detail lists this many request ids, most overdue first; the count covers all


@dataclass(frozen=True)
class Overdue:
    """One open request past a due time: how late (from its earliest missed due time) against its budget."""

    public_id: str
    community_id: str
    late: timedelta
    resolution_budget: timedelta | None  # None: its service left the catalogue

    @property
    def critical(self) -> bool:
        """Late by more than its whole resolution budget again."""
        return self.resolution_budget is not None and self.late > self.resolution_budget


@dataclass(frozen=True)
class CommunityOverdue:
    count: int
    critical: int
    request_ids: tuple[str, ...]  # most overdue first
    most_late_h: float

    @property
    def severity(self) -> Severity:
        return Severity.CRITICAL if self.critical else Severity.WARNING


def by_community(items: Iterable[Overdue]) -> dict[str, CommunityOverdue]:
    """Group overdue requests per community (pure)."""
    grouped: dict[str, list[Overdue]] = {}
    for item in items:
        grouped.setdefault(item.community_id, []).append(item)
    answer = {}
    for community_id, group in sorted(grouped.items()):
        group.sort(key=lambda o: (-o.late, o.public_id))
        answer[community_id] = CommunityOverdue(
            count=len(group),
            critical=sum(o.critical for o in group),
            request_ids=tuple(o.public_id for o in group),
            most_late_h=round(group[0].late / timedelta(hours=1), 1),
        )
    return answer


def overdue_requests(session: Session, catalogue: Catalogue, now: datetime) -> list[Overdue]:
    """Open requests of a community with a running SLA clock past its due time."""
    due = (ServiceRequest.response_due_at, ServiceRequest.resolution_due_at)
    rows = session.execute(
        select(ServiceRequest.public_id, ServiceRequest.community_id, ServiceRequest.service_code, *due).where(
            or_(*(d < now for d in due)),
            ServiceRequest.status.not_in([str(s) for s in FINAL]),
            ServiceRequest.community_id.is_not(None),
            ServiceRequest.public_id.is_not(None),
        )
    )
    items = []
    for public_id, community_id, service_code, *due_at in rows:
        missed = min(d for d in due_at if d is not None and d < now)
        service = catalogue.service(service_code)
        budget = timedelta(hours=service.sla.resolution_hours) if service else None
        items.append(Overdue(public_id, community_id, now - missed, budget))
    return items


def evaluate(session: Session, catalogue: Catalogue, now: datetime) -> list[dict]:
    """Raise, refresh or clear each community's overdue alert; return the alert events of what changed."""
    found = by_community(overdue_requests(session, catalogue, now))
    communities = {c.id: c for c in session.scalars(select(Community).where(Community.id.in_(found)))}
    changes = []
    for community_id, summary in found.items():
        community = communities.get(community_id)
        name_zh, name_en = (community.name_zh, community.name_en) if community else (community_id, community_id)
        alert, action = alerts.raise_or_refresh(
            session,
            kind=KIND,
            source_type=SOURCE,
            source_id=community_id,
            severity=summary.severity,
            title_zh=f"{name_zh}：{summary.count} 件诉求逾期未办",
            title_en=f"{name_en}: {summary.count} overdue request{'s' if summary.count != 1 else ''}",
            detail={
                "overdue": summary.count,
                "critical": summary.critical,
                "most_late_h": summary.most_late_h,
                "request_ids": list(summary.request_ids[:LISTED_IDS]),
            },
            at=now,
            subdistrict_id=community.subdistrict_id if community else None,
        )
        if action:
            changes.append((alert, action))
    for alert in alerts.open_alerts(session, KIND):
        if alert.source_type == SOURCE and alert.source_id not in found:
            changes.append((alerts.clear_condition(session, KIND, SOURCE, alert.source_id, now), Action.CLEARED))
    return [alerts.event(alert, action) for alert, action in changes]
