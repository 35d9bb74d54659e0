"""A real SMTP server (aiosmtpd) on a free loopback port, for the e-mail tests: it keeps what
it receives, parsed, and can be told to answer 4xx, 5xx or not at all."""

from __future__ import annotations

import asyncio
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller

from raceapp.extensions import mailman
from tests.servers import _free_port


class Handler:
    def __init__(self):
        self.received: list[EmailMessage] = []
        # What the next DATA commands are answered with before accepting ("451 …", "550 …"),
        # or "hang" to keep the client waiting.
        self.answers: list[str] = []
        self.attempts = 0
        self.sessions = 0  # SMTP connections (each says EHLO once)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        if self.answers:
            answer = self.answers.pop(0)
            if answer == "hang":
                await asyncio.sleep(30)
            return answer
        parsed = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        parsed["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.received.append(parsed)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self):
        self.handler = Handler()
        self.port = _free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def received(self) -> list[EmailMessage]:
        return self.handler.received

    def answer(self, *answers: str) -> None:
        self.handler.answers.extend(answers)

    def use_with(self, app, **settings) -> None:
        """Make `app` send through this server (plain SMTP on the loopback address)."""
        defaults = dict(
            MAIL_BACKEND="smtp",
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=self.port,
            MAIL_USE_TLS=False,
            MAIL_USE_SSL=False,
            MAIL_TIMEOUT=2,
        )
        app.config.update({**defaults, **settings})
        mailman.init_app(app)


def text_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


def html_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
