"""The slack action against a real webhook HTTP server on loopback."""

from __future__ import annotations

import pytest

from lava_core.actions.slack import build_payload
from lava_core.dispatch import DispatchRequest, send
from lava_core.testing import drain, put_jobs

FLAKY = 'n=$(cat "$TMPDIR/n" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$TMPDIR/n"; [ $n -ge 2 ] || exit 7'


def run(realm, spec):
    put_jobs(realm, spec)
    run_id = send(realm, DispatchRequest(job_id=spec["job_id"])).run_id
    drain(realm)
    return realm.get_event(spec["job_id"], run_id)


def test_broken_webhook_is_an_action_failure_and_the_job_stays_successful(realm, webhook):
    event = run(realm, {"job_id": "hooked", "type": "cmd", "payload": "echo hi", "on_success": [
        {"action": "slack", "webhook": f"{webhook.url}/gone/T000/B000/secret-token", "message": "first"},
        {"action": "slack", "webhook": "http://127.0.0.1:1/nothing-listens", "message": "second"},
        {"action": "slack", "webhook": f"{webhook.url}/ok/T000/B000/x", "message": "{{ job.job_id }} done"},
    ]})
    assert event.status == "complete"
    assert [e.status for e in event.log] == ["starting", "running", "complete", "action_failed", "action_failed"]
    assert event.log[3].info == (f"on_success action 0 (slack): webhook {webhook.url}/… answered HTTP 404: "
                                 "no_service")
    assert "secret-token" not in event.log[3].info  # webhook paths are secrets
    assert event.log[4].info.startswith("on_success action 1 (slack): webhook http://127.0.0.1:1/… not reached: ")
    assert webhook.messages("/ok") == [{"text": "hooked done",
                                        "blocks": [{"type": "section", "text": {"type": "mrkdwn",
                                                                                "text": "hooked done"}}]}]


def test_retries_fire_on_retry_then_on_success_never_on_fail(realm, webhook):
    event = run(realm, {
        "job_id": "flaky", "type": "cmd", "payload": FLAKY, "iteration_limit": 3, "iteration_delay": "0.1s",
        "on_retry": [{"action": "slack", "webhook": f"{webhook.url}/ok/retry", "style": "plain",
                      "message": "attempt {{ globals.lava.iteration }} of {{ job.job_id }}: {{ result.error }}"}],
        "on_success": [{"action": "slack", "webhook": f"{webhook.url}/ok/success", "style": "plain",
                        "message": "{{ status }} after {{ globals.lava.iteration }}"}],
        "on_fail": [{"action": "slack", "webhook": f"{webhook.url}/ok/fail", "message": "NEVER"}],
    })
    assert [e.status for e in event.log] == ["starting", "running", "retrying", "running", "complete"]
    assert webhook.received == [("/ok/retry", {"text": "attempt 1 of flaky: Failed with exit status 7"}),
                                ("/ok/success", {"text": "complete after 2"})]


def test_setting_webhook_styles_colour_and_limits(lava_realm, webhook, monkeypatch):
    monkeypatch.setenv("LAVA_SLACK_WEBHOOK", f"{webhook.url}/ok/from-setting")
    common = {"action": "slack", "subject": "{{ job.job_id }}", "from": "lava {{ realm.realm }}",
              "message": "{{ 'x' * 4000 }}"}
    event = run(lava_realm, {"job_id": "styled", "type": "cmd", "payload": "true", "on_success": [
        {**common, "style": "attachment", "colour": "danger", "preamble": "Heads up"},
        {**common, "colour": "{{ '36A64F' }}"},
        {**common, "style": "plain", "subject": "{{ 's' * 300 }}"},
        {**common, "colour": "{{ 'mauve' }}"},
    ]})
    assert event.status == "complete"
    assert [e.info for e in event.log if e.status == "action_failed"] == [
        "on_success action 3 (slack): colour: expected a colour like '#36a64f' or one of good, warning, danger, "
        "got 'mauve' (rendered from \"{{ 'mauve' }}\")"]
    attachment, blocks, plain = webhook.messages("/ok/from-setting")
    text = "x" * 2999 + "…"  # Slack's 3000-character limit for a text
    assert attachment == {"text": "Heads up", "attachments": [
        {"fallback": "styled", "title": "styled", "text": text, "footer": "lava local", "color": "danger",
         "mrkdwn_in": ["text"]}]}
    assert blocks["attachments"][0]["color"] == "#36a64f"
    assert [b["type"] for b in blocks["attachments"][0]["blocks"]] == ["section", "section", "context"]
    assert plain["text"] == "*" + "s" * 249 + "…*\n" + text + "\n_lava local_"


@pytest.mark.parametrize(("style", "expected"), [
    ("plain", {"text": "pre\n*subj*\nbody\n_me_"}),
    ("block", {"text": "pre", "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "pre"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*subj*"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "body"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "me"}]}]}),
])
def test_payload_shapes(style, expected):
    assert build_payload(style, "body", subject="subj", sender="me", preamble="pre", colour=None) == expected


def test_missing_webhook_and_bad_scheme(lava_realm, monkeypatch):
    monkeypatch.delenv("LAVA_SLACK_WEBHOOK", raising=False)
    event = run(lava_realm, {"job_id": "nohook", "type": "cmd", "payload": "true", "on_success": [
        {"action": "slack", "message": "m"},
        {"action": "slack", "message": "m", "webhook": "file:///etc/passwd"},
    ]})
    failures = [e.info for e in event.log if e.status == "action_failed"]
    assert failures[0].startswith("on_success action 0 (slack): no webhook: set the action's webhook, or the "
                                  "SLACK_WEBHOOK setting")
    assert failures[1] == "on_success action 1 (slack): webhook: expected an https:// URL, got file:///…"
