"""The crontab lavasched installs, executed the way cron executes it, dispatches for real.

No cron daemon is needed (waiting for one to fire costs up to a minute per test): the test reads the
crontab back with ``crontab -l`` and runs each entry as Debian's cron does, which was checked against
the running daemon: the command field is cut at the first unescaped ``%`` (the rest, with ``%`` as
newlines, is stdin), ``\\%`` and ``\\\\`` lose their backslash, and the result runs as
``$SHELL -c COMMAND`` in ``$HOME`` with nothing in the environment but cron's defaults (HOME, LOGNAME,
SHELL, PATH=/usr/bin:/bin) and the crontab's variables.
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess

from lava_core.motoserver import MOTO_ENVIRONMENT
from lava_core.testing import drain, put_jobs

from lava_lavasched.crontext import END, START

from tests.plugins.lava_lavasched.helpers import LAVA, realm_spec, result_of, run_sched

_VARIABLE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def cron_value(raw: str) -> str:
    """A variable's value as cron reads it: blanks around it trimmed, one pair of matching quotes removed."""
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return raw


def cron_command(field: str) -> tuple[str, str]:
    """(command, stdin) from an entry's command field, with Debian cron's escapes."""
    out: list[str] = []
    i = 0
    while i < len(field):
        char = field[i]
        if char == "\\" and i + 1 < len(field) and field[i + 1] in "\\%":
            out.append(field[i + 1])
            i += 2
            continue
        if char == "%":
            return "".join(out), field[i + 1:].replace("%", "\n")
        out.append(char)
        i += 1
    return "".join(out), ""


def read_entries(text: str) -> list[tuple[str, dict[str, str], str]]:
    """Each entry inside lava's block as (timing, environment it runs with, command field)."""
    user = pwd.getpwuid(os.getuid())
    env = {"HOME": user.pw_dir, "LOGNAME": user.pw_name, "SHELL": "/bin/sh", "PATH": "/usr/bin:/bin"}
    entries = []
    inside = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped in (START, END):
            inside = stripped == START
            continue
        if not stripped or stripped.startswith("#"):
            continue
        variable = _VARIABLE.match(line)
        if variable:
            if variable.group(1) != "LOGNAME":  # cron does not let a crontab change LOGNAME
                env[variable.group(1)] = cron_value(variable.group(2))
            continue
        if inside:
            if stripped.startswith("@"):
                timing, field = stripped.split(None, 1)
            else:
                *fields, field = stripped.split(None, 5)
                timing = " ".join(fields)
            entries.append((timing, dict(env), field))
    return entries


def run_like_cron(env: dict[str, str], field: str) -> subprocess.CompletedProcess[str]:
    command, stdin = cron_command(field)
    return subprocess.run(["/usr/bin/env", "-i", *(f"{k}={v}" for k, v in env.items()), env["SHELL"], "-c", command],
                          input=stdin, capture_output=True, text=True, cwd=env["HOME"], timeout=60, check=False)


def test_installed_entries_run_under_env_i_dispatch_and_the_runs_complete(realm, crontab, tmp_path):
    crontab.install(b"0 1 * * * /bin/true mine\n")
    note = "it's 50% \\done"  # a quote, a percent sign and a backslash, as one argument
    put_jobs(realm,
             {"job_id": "greet", "type": "cmd", "payload": ["printf", "%s", "{{ globals.note }}"],
              "dispatcher": "D", "schedule": "0 12 * * *"},
             {"job_id": "later/b", "type": "cmd", "payload": ["true"], "worker": "batch", "dispatcher": "D",
              "schedule": "@reboot"})
    log = tmp_path / "dispatch log.txt"  # a blank in the path: quoted in the crontab
    # What cron's empty environment lacks must come from `env`: here, how to reach the AWS stand-in.
    # cron's own PATH, without this environment's bin folder: the absolute path to lava is what works.
    env = {"PATH": "/usr/bin:/bin"}
    if realm.describe().startswith("aws://"):
        env.update({k: os.environ[k] for k in (*MOTO_ENVIRONMENT, "AWS_ENDPOINT_URL")})
    result = result_of(run_sched(realm, {"dispatcher": "D", "log": str(log), "args": ["-g", f"note={note}"],
                                         "env": env})[0])
    assert result["entries"] == 2

    text = crontab.text()  # crontab -l: what cron will read
    assert text.startswith(f"0 1 * * * /bin/true mine\n{START}\n")
    entries = read_entries(text)
    assert [timing for timing, _, _ in entries] == ["0 12 * * *", "@reboot"]
    for _, environment, field in entries:
        assert field.startswith(f"{LAVA} dispatch --worker ")
        assert field.endswith(f" >> '{log}' 2>&1")
        assert (environment["LAVA_REALM"], environment["PATH"]) == (realm_spec(realm), "/usr/bin:/bin")
        proc = run_like_cron(environment, field)
        assert proc.returncode == 0, (field, proc.stdout, proc.stderr)
        assert proc.stdout == proc.stderr == ""  # everything went to the log
    run_ids = log.read_text().split()
    assert len(run_ids) == 2, log.read_text()

    drain(realm)
    drain(realm, "batch")
    greet, later = (realm.query_events(job_id=job_id) for job_id in ("greet", "later/b"))
    assert [(e.run_id, e.status) for e in greet] == [(run_ids[0], "complete")]
    assert [(e.run_id, e.status) for e in later] == [(run_ids[1], "complete")]
    assert realm.get_output("greet", run_ids[0], "stdout") == note.encode()

