"""Notifications about requests, behind a small interface: a log backend (default) and e-mail via SMTP."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage

from config.settings import Settings

log = logging.getLogger(__name__)

STATUS_ZH = {
    "submitted": "已受理登记", "accepted": "已受理", "assigned": "已派单", "in_progress": "办理中",
    "on_hold": "暂停（等待材料或其他部门）", "resolved": "已办结", "closed": "已关闭", "rejected": "不予受理",
    "duplicate": "重复件（已并入原件）",
}  # fmt: skip


@dataclass(frozen=True)
class Notification:
    subject: str
    body: str
    to: list[str] = field(default_factory=list)

    def as_job_args(self) -> dict:
        return asdict(self)


class Notifier:
    """Send one notification; subclasses choose how."""

    def send(self, notification: Notification) -> None:
        raise NotImplementedError


class LogNotifier(Notifier):
    def send(self, notification: Notification) -> None:
        # The recipients are residents' e-mail addresses: counted, never written to the log.
        log.info("notification to %d recipient(s): %s | %s", len(notification.to), notification.subject,
                 notification.body.replace("\n", " "))  # fmt: skip


class EmailNotifier(Notifier):
    """Plain-text UTF-8 e-mail through the configured SMTP server."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def connect(self) -> smtplib.SMTP:
        return smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port, timeout=10)

    def send(self, notification: Notification) -> None:
        if not notification.to:
            return
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = ", ".join(notification.to)
        message["Subject"] = notification.subject
        message.set_content(notification.body)
        with self.connect() as smtp:
            if self.settings.smtp_starttls:
                smtp.starttls()
            if self.settings.smtp_user:
                smtp.login(self.settings.smtp_user, self.settings.smtp_password)
            smtp.send_message(message)


def notifier_for(settings: Settings) -> Notifier:
    if settings.notifier == "email":
        return EmailNotifier(settings)
    if settings.notifier == "log":
        return LogNotifier()
    raise ValueError(f"NOTIFIER must be log or email, got {settings.notifier!r}")


def status_changed(public_id: str, status: str, service_name: str, email: str | None) -> Notification:
    """What the resident is told when their request changes (no other personal data in the text)."""
    return Notification(
        subject=f"您的服务申请 {public_id} 状态更新：{STATUS_ZH.get(status, status)}",
        body=(
            f"您的服务申请（{service_name}）编号 {public_id}，当前状态：{STATUS_ZH.get(status, status)}。\n"
            f"Your request {public_id} ({service_name}) is now: {status}.\n"
            "可凭编号在“智慧和平”查询办理进度。Look it up with this id on Smart Heping."
        ),
        to=[email] if email else [],
    )


def overdue_alert(public_id: str, clock: str, community_id: str | None, alert_email: str) -> Notification:
    """The desk mailbox's alert that a request's SLA clock ran out."""
    what = "首次响应" if clock == "response" else "办结"
    return Notification(
        subject=f"超时提醒：{public_id} {what}已超时 / overdue: {clock}",
        body=f"服务申请 {public_id}（社区 {community_id or '未分派'}）{what}时限已过。\n"
        f"Request {public_id} (community {community_id or 'unrouted'}) is past its {clock} due time.",
        to=[alert_email] if alert_email else [],
    )
