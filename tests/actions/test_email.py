"""The email action against a real SMTP server on loopback."""

from __future__ import annotations

import pytest
from attrs import evolve

from lava_core.dispatch import DispatchRequest, send
from lava_core.testing import drain, put_jobs


def run(realm, *specs, **request):
    put_jobs(realm, *specs)
    run_id = send(realm, DispatchRequest(job_id=specs[0]["job_id"], **request)).run_id
    drain(realm)
    return realm.get_event(specs[0]["job_id"], run_id), run_id


def test_failing_job_fires_on_fail_email_with_rendered_subject_not_on_success(realm, smtp_server):
    event, run_id = run(realm, {
        "job_id": "etl/load", "type": "cmd", "payload": "echo 'disk full' >&2; exit 3",
        "on_fail": [{"action": "email", "to": "ops@example.com", "smtp_host": smtp_server.address,
                     "from": "lava@{{ globals.site }}",
                     "subject": "{{ job.job_id }} failed on {{ realm.realm }}: {{ result.error }}",
                     "message": "<HTML><body><p>Run {{ run_id }}: {{ result.error_data.error }}</p></body></html>"}],
        "on_success": [{"action": "email", "to": "ops@example.com", "smtp_host": smtp_server.address,
                        "subject": "NEVER", "message": "NEVER"}],
    }, globals={"site": "example.org"})
    assert event.status == "failed"
    assert [e.status for e in event.log] == ["starting", "running", "failed"]  # no action_failed
    assert smtp_server.subjects() == [f"etl/load failed on {realm.realm_name}: Failed with exit status 3"]
    sender, recipients, mail = smtp_server.mails[0]
    assert (sender, recipients) == ("lava@example.org", ["ops@example.com"])
    assert mail["X-Lava-Run-Id"] == run_id
    assert mail.get_content_type() == "text/html"  # the message starts with <html>, in any case
    assert f"Run {run_id}: disk full" in mail.get_content()


def test_server_from_realm_settings_list_of_recipients_and_plain_text(realm, smtp_server):
    host, port = smtp_server.address.split(":")
    realm.put_realm(evolve(realm.get_realm(), config={"SMTP_HOST": host, "SMTP_PORT": port,
                                                       "SMTP_FROM": "robot@example.com"}))
    event, _ = run(realm, {
        "job_id": "report", "type": "cmd", "payload": "echo 42",
        "on_success": [{"action": "email", "to": ["a@example.com", "{{ globals.boss }}"],
                        "subject": "Report\n{{ result.exit_status }}",  # a line break cannot inject headers
                        "message": "  <p>not html: {{ job.job_id }}</p>"}],
    }, globals={"boss": "b@example.com, c@example.com"})
    assert [e.status for e in event.log][-1] == "complete"
    sender, recipients, mail = smtp_server.mails[0]
    assert sender == "robot@example.com"
    assert recipients == ["a@example.com", "b@example.com", "c@example.com"]
    assert mail["Subject"] == "Report 0"
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content().strip() == "<p>not html: report</p>"


def test_smtp_failures_are_recorded_and_never_change_the_outcome(lava_realm, smtp_server, monkeypatch):
    dead = smtp_server.address.rsplit(":", 1)[0] + ":1"  # nothing listens on port 1
    monkeypatch.setenv("LAVA_SMTP_HOST", smtp_server.address)
    event, _ = run(lava_realm, {
        "job_id": "m", "type": "cmd", "payload": "true",
        "on_success": [
            {"action": "email", "to": "x@example.com", "subject": "s", "message": "m", "smtp_host": dead},
            {"action": "email", "to": ["ok@example.com", "no@refused.example"], "subject": "partly", "message": "m"},
            {"action": "email", "to": "nobody", "subject": "s", "message": "m"},
            {"action": "email", "to": "x@example.com", "subject": "{{ oops( }}", "message": "m"},
            {"action": "email", "to": "x@example.com", "subject": "last", "message": "m"},
        ],
    })
    assert event.status == "complete"
    failures = [e.info for e in event.log if e.status == "action_failed"]
    assert len(failures) == 4
    assert failures[0].startswith("on_success action 0 (email): cannot send through SMTP server 127.0.0.1:1: ")
    assert failures[1] == ("on_success action 1 (email): SMTP server " + smtp_server.address + " refused some "
                           "recipients (the others got the mail): no@refused.example (550 5.1.1 no such mailbox)")
    assert failures[2] == "on_success action 2 (email): to: 'nobody' is not an email address"
    assert failures[3].startswith("on_success action 3 (email): subject: TemplateSyntaxError")
    assert smtp_server.subjects() == ["partly", "last"]  # every action ran


def test_no_smtp_server_configured_says_where_to_set_one(lava_realm, monkeypatch):
    monkeypatch.delenv("LAVA_SMTP_HOST", raising=False)
    event, _ = run(lava_realm, {"job_id": "m", "type": "cmd", "payload": "true",
                                "on_success": [{"action": "email", "to": "x@example.com", "subject": "s",
                                                "message": "m"}]})
    assert event.status == "complete"
    assert event.log[-1].info.startswith("on_success action 0 (email): no SMTP server: set the action's smtp_host")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_with_credentials_from_settings(lava_realm, monkeypatch):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from tests.actions.conftest import Inbox, free_port

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login, auth_data.password) == (b"lava", b"s3cret")
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 235/535 itself

    inbox = Inbox(free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, authenticator=authenticator,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        monkeypatch.setenv("LAVA_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("LAVA_SMTP_PORT", str(inbox.port))
        monkeypatch.setenv("LAVA_SMTP_USER", "lava")
        monkeypatch.setenv("LAVA_SMTP_PASSWORD", "s3cret")
        event, _ = run(lava_realm, {"job_id": "auth", "type": "cmd", "payload": "true", "on_success": [
            {"action": "email", "to": "x@example.com", "subject": "in", "message": "m"}]})
        assert [e.status for e in event.log][-1] == "complete"
        monkeypatch.setenv("LAVA_SMTP_PASSWORD", "wrong")
        event, _ = run(lava_realm, {"job_id": "auth", "type": "cmd", "payload": "true", "on_success": [
            {"action": "email", "to": "x@example.com", "subject": "out", "message": "m"}]})
    finally:
        controller.stop()
    assert event.log[-1].info.startswith(f"on_success action 0 (email): SMTP server 127.0.0.1:{inbox.port}: "
                                         "login as 'lava' failed: 535")
    assert inbox.subjects() == ["in"]
