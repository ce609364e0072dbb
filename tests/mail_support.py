"""A real SMTP server for the mail tests: aiosmtpd on a free port of 127.0.0.1, in the test's
event loop, receiving into a list (each mail parsed with the stdlib ``email`` package)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

WAIT = 15.0


@dataclass
class Sink:
    """What the server received; addresses in ``refuse`` get a 550 at RCPT TO."""

    mails: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    connections: list[SMTP] = field(default_factory=list)
    server: asyncio.base_events.Server | None = None
    port: int = 0

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
        assert isinstance(message, EmailMessage)
        self.mails.append(message)
        return "250 2.0.0 Accepted"

    async def start(self, port: int = 0) -> int:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(self._connection, host="127.0.0.1", port=port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    def _connection(self) -> SMTP:
        connection = SMTP(self)
        self.connections.append(connection)
        return connection

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            # A client that went away without QUIT (a sender cancelled mid-session when its app
            # stopped) leaves its connection open, and wait_closed() waits for every connection.
            for connection in self.connections:
                if connection.transport is not None:
                    connection.transport.close()
            await self.server.wait_closed()
            self.server = None

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.mails if m["To"] == address]


async def wait_until(check: Callable[[], Any], timeout: float = WAIT, what: str = "the condition") -> Any:
    """Wait for ``check()`` to be truthy (polling the state, not sleeping a guessed time)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "a mail has a plain-text and an HTML part"
    return text.get_content(), html.get_content()


FAST_MAIL = {"mail_from": "Innovate <innovate@example.com>", "mail_gather_seconds": 0.3, "mail_poll_seconds": 0.05,
             "mail_retry_seconds": 0.2}


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    server = Sink()
    await server.start()
    yield server
    await server.stop()
