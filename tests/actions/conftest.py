"""Real peers on loopback for the post-job actions: an SMTP server (aiosmtpd) and a webhook HTTP server.

Jobs run through a real in-process worker (``drain``) on the local realm and on
AWS (moto); the actions talk to these servers over TCP exactly as to real ones.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from lava_core.backend import Backend


@pytest.fixture
def realm(lava_backend: Backend) -> Backend:
    """The realm under test: ``[local]`` or ``[aws]`` in the test id."""
    return lava_backend


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """What the SMTP server accepted: (envelope sender, envelope recipients, parsed message)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.address = f"127.0.0.1:{port}"
        self.mails: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.example"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def subjects(self) -> list[str]:
        return [str(mail["Subject"]) for _, _, mail in self.mails]


@pytest.fixture
def smtp_server() -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd in its own thread)."""
    inbox = Inbox(free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


class Webhook:
    """A webhook server: ``/ok/...`` answers 200, ``/gone/...`` 404 (as Slack does for a revoked hook)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, json.loads(body)))
                status, answer = (404, b"no_service") if self.path.startswith("/gone") else (200, b"ok")
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def messages(self, path_prefix: str = "/") -> list[dict]:
        return [body for path, body in self.received if path.startswith(path_prefix)]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A real HTTP server on 127.0.0.1 (stdlib, in a thread) recording every POSTed JSON body."""
    hook = Webhook()
    thread = threading.Thread(target=hook.server.serve_forever, daemon=True)
    thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()
    thread.join(5)
