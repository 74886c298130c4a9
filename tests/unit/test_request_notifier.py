"""Notifications: the log backend, and the e-mail backend against a tiny local SMTP server (real smtplib)."""

import logging
import socketserver
import threading
from email import message_from_bytes, policy

import pytest

from config.settings import Settings
from services.service_requests.notify import EmailNotifier, LogNotifier, notifier_for, overdue_alert, status_changed


class RecordingSmtp(socketserver.StreamRequestHandler):
    """Just enough SMTP to accept one message; keeps what it got on the server."""

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self):
        self.reply("220 test")
        while line := self.rfile.readline():
            command = line.decode().strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.reply("250 test")
            elif command == "DATA":
                self.reply("354 go on")
                data = b"".join(iter(lambda: self.rfile.readline(), b".\r\n"))
                self.server.messages.append(data)
                self.reply("250 stored")
            elif command == "QUIT":
                self.reply("221 bye")
                return
            else:  # MAIL FROM, RCPT TO, RSET, NOOP
                self.reply("250 ok")


@pytest.fixture
def smtp_server():
    server = socketserver.TCPServer(("127.0.0.1", 0), RecordingSmtp)
    server.messages = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_email_goes_through_the_configured_smtp_host(smtp_server):
    settings = Settings.from_env(
        {"NOTIFIER": "email", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_server.server_address[1])}
    )
    notifier = notifier_for(settings)
    assert isinstance(notifier, EmailNotifier)
    notifier.send(status_changed("HP-2026-000001-7KQX", "accepted", "路灯故障报修", "resident@example.cn"))
    (raw,) = smtp_server.messages
    message = message_from_bytes(raw, policy=policy.default)
    assert message["To"] == "resident@example.cn" and message["From"] == "civicpulse@localhost"
    assert "已受理" in message["Subject"] and "HP-2026-000001-7KQX" in message.get_content()


def test_email_without_recipients_sends_nothing(smtp_server):
    settings = Settings.from_env({"NOTIFIER": "email", "SMTP_PORT": str(smtp_server.server_address[1])})
    notifier_for(settings).send(overdue_alert("HP-2026-000001-7KQX", "response", None, alert_email=""))
    assert smtp_server.messages == []


def test_log_is_the_default_backend(caplog):
    notifier = notifier_for(Settings.from_env({}))
    assert isinstance(notifier, LogNotifier)
    with caplog.at_level(logging.INFO):
        notifier.send(overdue_alert("HP-2026-000001-7KQX", "resolution", "wudadao-01", "desk@example.cn"))
    assert "1 recipient" in caplog.text and "HP-2026-000001-7KQX" in caplog.text
    assert "desk@example.cn" not in caplog.text  # addresses (residents' above all) never go to the log


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="NOTIFIER"):
        notifier_for(Settings.from_env({"NOTIFIER": "pigeon"}))
