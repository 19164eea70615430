"""The ``slack`` action: post a message to a Slack incoming webhook.

lava posts through a Slack connection; lava-core posts to the webhook URL given
by the action's ``webhook`` field or the ``SLACK_WEBHOOK`` setting. Webhook URLs
are secrets, so errors name the host only.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from attrs import define
from cattrs.gen import override

from lava_core.actions.common import ActionError, TemplatedChoice, redact_url, render_optional
from lava_core.convert import Duration
from lava_core.extension import ActionType
from lava_core.run import ActionContext

MESSAGE_MAX = 3000  # Slack's limit for a section's text; lava cuts there too
SUBJECT_MAX = 250  # lava's limit
DEFAULT_TIMEOUT = "10s"
_SLACK_COLOURS = ("good", "warning", "danger")
_HEX_COLOUR = re.compile(r"^#?([0-9a-fA-F]{6})$")


class SlackStyle(TemplatedChoice):
    """``block`` (layout blocks, the default), ``attachment`` (a legacy attachment) or ``plain`` (text only)."""

    choices = ("block", "attachment", "plain")


class SlackColour(TemplatedChoice):
    """A colour bar: ``#rrggbb`` (the ``#`` may be left out) or Slack's ``good``, ``warning``, ``danger``."""

    @classmethod
    def _check(cls, value: str) -> str:
        match = _HEX_COLOUR.match(value)
        if match:
            return "#" + match.group(1).lower()
        if value in _SLACK_COLOURS:
            return value
        msg = f"expected a colour like '#36a64f' or one of {', '.join(_SLACK_COLOURS)}, got {value!r}"
        raise ValueError(msg)


@define(frozen=True, kw_only=True)
class SlackFields:
    message: str
    webhook: str | None = None
    subject: str | None = None
    from_: Annotated[str | None, override(rename="from")] = None
    style: SlackStyle = SlackStyle("block")
    colour: SlackColour | None = None
    preamble: str | None = None


class SlackAction(ActionType):
    """POST a JSON message to an incoming webhook; a non-2xx answer fails the action with its status."""

    action_name = "slack"
    Fields = SlackFields

    def run(self, ctx: ActionContext, fields: SlackFields) -> int:
        run = ctx.run
        url = (render_optional(ctx, fields.webhook, where="webhook") or "").strip()
        url = url or str(run.setting("SLACK_WEBHOOK", "") or "").strip()
        if not url:
            msg = ("no webhook: set the action's webhook, or the SLACK_WEBHOOK setting "
                   "(LAVA_SLACK_WEBHOOK on the worker or SLACK_WEBHOOK in the realm config)")
            raise ActionError(msg)
        if not url.startswith(("https://", "http://")):
            msg = f"webhook: expected an https:// URL, got {redact_url(url)}"
            raise ActionError(msg)
        text = _cut(ctx.render(fields.message, where="message"), MESSAGE_MAX)
        subject = _cut(" ".join((render_optional(ctx, fields.subject, where="subject") or "").split()), SUBJECT_MAX)
        sender = render_optional(ctx, fields.from_, where="from") or ""
        preamble = render_optional(ctx, fields.preamble, where="preamble") or ""
        colour = fields.colour.resolve(ctx, where="colour") if fields.colour is not None else None
        style = fields.style.resolve(ctx, where="style")
        payload = build_payload(style, text, subject=subject, sender=sender, preamble=preamble, colour=colour)
        try:
            timeout = float(Duration(run.setting("SLACK_TIMEOUT", DEFAULT_TIMEOUT)))
        except (TypeError, ValueError) as exc:
            msg = f"bad SLACK_TIMEOUT setting: {exc}"
            raise ActionError(msg) from None
        return post_json(url, payload, timeout=timeout)


def build_payload(style: str, text: str, *, subject: str, sender: str, preamble: str,
                  colour: str | None) -> dict[str, Any]:
    """The webhook body for a style; ``text`` is always set, for notifications and old clients."""
    fallback = subject or text
    if style == "plain":
        lines = [preamble, f"*{subject}*" if subject else "", text, f"_{sender}_" if sender else ""]
        return {"text": "\n".join(line for line in lines if line)}
    if style == "attachment":
        attachment = {"fallback": fallback, "title": subject or None, "text": text, "footer": sender or None,
                      "color": colour, "mrkdwn_in": ["text"]}
        return {"text": preamble, "attachments": [{k: v for k, v in attachment.items() if v is not None}]}
    blocks: list[dict[str, Any]] = []
    if subject:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{subject}*"}})
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text or " "}})
    if sender:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": sender}]})
    if colour:
        # Only attachments carry a colour bar: the blocks go inside one.
        return {"text": preamble or fallback, "attachments": [{"color": colour, "blocks": blocks}]}
    if preamble:
        blocks.insert(0, {"type": "section", "text": {"type": "mrkdwn", "text": preamble}})
    return {"text": preamble or fallback, "blocks": blocks}


def post_json(url: str, payload: dict[str, Any], *, timeout: float) -> int:
    """POST ``payload``; returns the HTTP status. Redirects are not followed (a webhook never redirects)."""
    import urllib.error  # noqa: PLC0415 - only workers that post pay for the import
    import urllib.request  # noqa: PLC0415

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *_: Any, **__: Any) -> None:
            return None

    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",  # noqa: S310 - scheme checked
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    where = redact_url(url)
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=timeout) as response:
            status = response.status
            answer = response.read(300)
    except urllib.error.HTTPError as exc:
        status, answer = exc.code, exc.read(300) if exc.fp else b""
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        msg = f"webhook {where} not reached: {reason}"
        raise ActionError(msg) from None
    if not 200 <= status < 300:
        detail = answer.decode(errors="replace").strip()
        msg = f"webhook {where} answered HTTP {status}" + (f": {detail[:200]}" if detail else "")
        raise ActionError(msg)
    return status


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
