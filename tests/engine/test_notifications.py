"""Notifications are emailed when SMTP is configured: a real SMTP conversation on loopback."""
from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from engine.models import Notification
from engine.notifications import SmtpSettings, notify, send_pending_emails
from tests.factories import make_departments, make_user


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) to accept messages and keep them for the test."""

    def handle(self) -> None:
        self.wfile.write(b"220 test ready\r\n")
        while line := self.rfile.readline():
            command = line.decode().strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.wfile.write(b"250 test\r\n")
            elif command.startswith(("MAIL", "RCPT", "RSET", "NOOP")):
                self.wfile.write(b"250 ok\r\n")
            elif command == "DATA":
                self.wfile.write(b"354 go on\r\n")
                body = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(data)
                self.server.messages.append(b"".join(body).decode("utf-8", "replace"))  # type: ignore[attr-defined]
                self.wfile.write(b"250 queued\r\n")
            elif command == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"502 not implemented\r\n")


@pytest.fixture
def smtp_server() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    server.messages = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_pending_notifications_are_emailed_once_to_users_with_an_address(session, clock, smtp_server) -> None:
    make_departments(session, clock)
    with_mail = make_user(session, clock, "alpha", ["reviewer"], "alpha")
    with_mail.email = "alpha@example.gov.cn"
    without_mail = make_user(session, clock, "beta", ["reviewer"], "beta")
    notify(session, [with_mail, without_mail], clock.now(), "urge", "催办 YJS-20261123-0001 甲局审查: 请加快")
    settings = SmtpSettings(host="127.0.0.1", port=smtp_server.server_address[1], sender="yjs@example.gov.cn")
    assert send_pending_emails(session, settings, clock.now()) == 1
    assert send_pending_emails(session, settings, clock.now()) == 0
    (message,) = smtp_server.messages  # type: ignore[attr-defined]
    assert "To: alpha@example.gov.cn" in message and "From: yjs@example.gov.cn" in message
    emailed = session.scalars(select(Notification.emailed_at).where(Notification.user_id == with_mail.id)).one()
    assert emailed == clock.now()
