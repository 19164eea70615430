"""The ``email`` action: send a message through an SMTP server.

lava sends through SES or an email connection; lava-core speaks SMTP to the
server named by the action's ``smtp_host`` or the ``SMTP_HOST`` setting, which
covers SES too (its SMTP interface, with ``SMTP_STARTTLS`` and credentials).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

from attrs import define
from cattrs.gen import override

from lava_core.actions.common import ActionError, render_optional, truthy
from lava_core.convert import Duration, converter
from lava_core.extension import ActionType
from lava_core.run import ActionContext

if TYPE_CHECKING:
    from email.message import EmailMessage

DEFAULT_PORT = 25
DEFAULT_TIMEOUT = "30s"
_HTML_START = re.compile(r"\s*(<html[\s>]|<!doctype\s+html[\s>])", re.IGNORECASE)


class Recipients(tuple[str, ...]):
    """``to``: one string (which may hold comma-separated addresses) or a list of strings."""

    @classmethod
    def structure(cls, value: object, _: type) -> Recipients:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            msg = f"expected an address or a non-empty list of addresses, got {value!r}"
            raise TypeError(msg)
        for index, item in enumerate(items):
            if not isinstance(item, str):
                msg = f"expected an address or a list of addresses, got {item!r} at index {index}"
                raise TypeError(msg)
        return cls(items)


converter.register_structure_hook(Recipients, Recipients.structure)


@define(frozen=True, kw_only=True)
class EmailFields:
    to: Recipients
    subject: str
    message: str
    from_: Annotated[str | None, override(rename="from")] = None
    smtp_host: str | None = None


@define(frozen=True)
class SmtpServer:
    host: str
    port: int
    user: str | None
    password: str | None
    starttls: bool
    timeout: float

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class EmailAction(ActionType):
    """Send an email; ``to`` (each address), ``subject``, ``message``, ``from`` and ``smtp_host`` are rendered.

    The body is HTML when the message starts with ``<html`` (or ``<!doctype
    html``), ignoring case and leading whitespace; otherwise plain text.
    """

    action_name = "email"
    Fields = EmailFields

    def run(self, ctx: ActionContext, fields: EmailFields) -> str:
        recipients = _recipients(ctx, fields.to)
        subject = " ".join(ctx.render(fields.subject, where="subject").split())  # no header injection
        body = ctx.render(fields.message, where="message")
        server = _server(ctx, render_optional(ctx, fields.smtp_host, where="smtp_host"))
        run = ctx.run
        sender = (render_optional(ctx, fields.from_, where="from") or "").strip()
        sender = sender or str(run.setting("SMTP_FROM", "") or f"lava.{run.realm.realm}@{run.services.hostname}")
        _check_address(sender, "from")
        message = _compose(sender, recipients, subject, body, job_id=run.job.job_id, run_id=run.run_id)
        _send(server, message, recipients)
        return message["Message-ID"]


def _recipients(ctx: ActionContext, to: Recipients) -> list[str]:
    recipients = []
    for index, item in enumerate(to):
        where = "to" if len(to) == 1 else f"to[{index}]"
        rendered = ctx.render(item, where=where)
        for address in (a.strip() for a in rendered.split(",")):
            if address:
                _check_address(address, where)
                recipients.append(address)
    if not recipients:
        msg = "to: no recipient (the addresses rendered empty)"
        raise ActionError(msg)
    return recipients


def _check_address(address: str, where: str) -> None:
    if "@" not in address or any(c in address for c in "\r\n"):
        msg = f"{where}: {address!r} is not an email address"
        raise ActionError(msg)


def _compose(sender: str, recipients: list[str], subject: str, body: str, *, job_id: str,
             run_id: str) -> EmailMessage:
    from email.message import EmailMessage  # noqa: PLC0415 - only workers that send mail pay for the import
    from email.utils import formatdate, make_msgid  # noqa: PLC0415

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["X-Lava-Job-Id"] = job_id
    message["X-Lava-Run-Id"] = run_id
    if _HTML_START.match(body):
        message.set_content(body, subtype="html")
    else:
        message.set_content(body)
    return message


def _server(ctx: ActionContext, field: str | None) -> SmtpServer:
    """Where to send: the action's ``smtp_host`` (``host`` or ``host:port``), else the SMTP_* settings."""
    run = ctx.run
    spec = (field or "").strip() or str(run.setting("SMTP_HOST", "") or "").strip()
    if not spec:
        msg = ("no SMTP server: set the action's smtp_host, or the SMTP_HOST setting "
               "(LAVA_SMTP_HOST on the worker or SMTP_HOST in the realm config)")
        raise ActionError(msg)
    host, port_text = _split_host_port(spec)
    where = "smtp_host" if field else "SMTP_HOST"
    try:
        port = int(port_text) if port_text else int(run.setting("SMTP_PORT", DEFAULT_PORT))
        timeout = float(Duration(run.setting("SMTP_TIMEOUT", DEFAULT_TIMEOUT)))
    except (TypeError, ValueError) as exc:
        msg = f"bad SMTP setting ({where} {spec!r}, SMTP_PORT, SMTP_TIMEOUT): {exc}"
        raise ActionError(msg) from None
    user = run.setting("SMTP_USER") or None
    return SmtpServer(host=host, port=port, user=user, password=run.setting("SMTP_PASSWORD") or None,
                      starttls=truthy(run.setting("SMTP_STARTTLS", False)), timeout=timeout)


def _split_host_port(spec: str) -> tuple[str, str]:
    if spec.startswith("["):  # [IPv6]:port
        host, _, rest = spec[1:].partition("]")
        return host, rest.removeprefix(":")
    if spec.count(":") == 1:
        host, _, port = spec.partition(":")
        return host, port
    return spec, ""


def _send(server: SmtpServer, message: EmailMessage, recipients: list[str]) -> None:
    import smtplib  # noqa: PLC0415 - only workers that send mail pay for the import
    import ssl  # noqa: PLC0415

    try:
        with smtplib.SMTP(server.host, server.port, timeout=server.timeout) as smtp:
            if server.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if server.user:
                smtp.login(server.user, server.password or "")
            refused = smtp.send_message(message, to_addrs=recipients)
    except smtplib.SMTPRecipientsRefused as exc:
        msg = f"SMTP server {server} refused every recipient: {_refusals(exc.recipients)}"
        raise ActionError(msg) from None
    except smtplib.SMTPSenderRefused as exc:
        msg = f"SMTP server {server} refused the sender {exc.sender!r}: {exc.smtp_code} {_text(exc.smtp_error)}"
        raise ActionError(msg) from None
    except smtplib.SMTPAuthenticationError as exc:
        msg = f"SMTP server {server}: login as {server.user!r} failed: {exc.smtp_code} {_text(exc.smtp_error)}"
        raise ActionError(msg) from None
    except smtplib.SMTPNotSupportedError as exc:
        msg = f"SMTP server {server}: {exc} (check SMTP_STARTTLS and SMTP_USER)"
        raise ActionError(msg) from None
    except smtplib.SMTPResponseException as exc:
        msg = f"SMTP server {server} answered {exc.smtp_code} {_text(exc.smtp_error)}"
        raise ActionError(msg) from None
    except (smtplib.SMTPException, OSError) as exc:
        msg = f"cannot send through SMTP server {server}: {type(exc).__name__}: {exc}"
        raise ActionError(msg) from None
    if refused:
        msg = f"SMTP server {server} refused some recipients (the others got the mail): {_refusals(refused)}"
        raise ActionError(msg)


def _refusals(recipients: dict[str, tuple[int, bytes | str]]) -> str:
    return "; ".join(f"{address} ({code} {_text(text)})" for address, (code, text) in recipients.items())


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
