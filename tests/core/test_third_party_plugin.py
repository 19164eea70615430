"""Extensibility: third-party distributions, pip-installed into a temp path, with no core change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lava_core.dispatch import DispatchRequest, send
from lava_core.testing import put_jobs, run_cli, wait_for_status

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "lava-hello"

pytestmark = pytest.mark.slow


def pip_install(source: Path, target: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                           "--target", str(target), str(source)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def make_distribution(root: Path, dist: str, module: str, body: str) -> Path:
    """Write a minimal distribution registering ``module`` under the lava.plugins entry-point group."""
    (root / module).mkdir(parents=True)
    (root / module / "__init__.py").write_text(textwrap.dedent(body))
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{dist}"
        version = "1.2.3"

        [project.entry-points."lava.plugins"]
        {module} = "{module}"
    """))
    return root


@pytest.fixture(scope="module")
def hello_path(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    pip_install(EXAMPLE, target)
    return target


def test_worker_runs_a_pip_installed_job_type(lava_realm, lava_worker, hello_path):
    put_jobs(lava_realm, {"job_id": "greet", "type": "hello", "payload": "{{ globals.who }}",
                          "globals": {"who": "Ada"}, "parameters": {"greeting": "Hi"}})
    run_id = send(lava_realm, DispatchRequest(job_id="greet")).run_id
    worker = lava_worker(lava_realm, "core", "--drain", "--poll-wait", "0.2s", PYTHONPATH=str(hello_path))
    assert worker.wait(60) == 0, worker.log()
    event = wait_for_status(lava_realm, "greet", run_id)
    assert event.status == "complete", event
    assert lava_realm.get_output("greet", run_id, "stdout") == b"Hi, Ada!\n"
    listing = run_cli("plugins", "--json", env={"PYTHONPATH": str(hello_path)})
    hello = [i for i in json.loads(listing.stdout) if i["distribution"] == "lava-hello"]
    assert hello
    assert hello[0]["job_types"] == ["hello"]


def test_the_example_plugins_own_tests_pass_with_lava_testing_fixtures(hello_path):
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
                          capture_output=True, text=True, cwd=EXAMPLE, env={**os.environ, "PYTHONPATH": str(hello_path)},
                          check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 passed" in proc.stdout


def test_job_of_an_uninstalled_type_is_rejected_not_crashing(lava_realm, lava_worker):
    put_jobs(lava_realm, {"job_id": "greet", "type": "hello", "payload": "x"})
    run_id = send(lava_realm, DispatchRequest(job_id="greet")).run_id
    worker = lava_worker(lava_realm, "core", "--drain", "--poll-wait", "0.2s")
    assert worker.wait(60) == 0
    event = wait_for_status(lava_realm, "greet", run_id)
    assert event.status == "rejected"
    assert "no installed plugin provides job type 'hello'" in event.log[-1].info
    assert len(lava_realm.list_dead_letters("core")) == 1


def test_two_distributions_claiming_one_type_is_a_startup_error(tmp_path, lava_realm):
    body = """\
        from lava_core import JobType, hookimpl


        class Impostor(JobType):
            type_name = "cmd"

            def run(self, run, params):
                return {"exit_status": 0}


        @hookimpl
        def lava_register_job_types(register):
            register(Impostor)
    """
    target = tmp_path / "site"
    pip_install(make_distribution(tmp_path / "src", "lava-impostor", "lava_impostor", body), target)
    proc = run_cli("worker", "run", "-w", "core", "--drain", realm=lava_realm.root, env={"PYTHONPATH": str(target)})
    assert proc.returncode == 2
    assert "job type 'cmd' is provided by two distributions" in proc.stderr
    assert "lava-cmd" in proc.stderr
    assert "lava-impostor" in proc.stderr


def test_broken_plugin_is_reported_and_the_worker_keeps_working(tmp_path, lava_realm):
    target = tmp_path / "site"
    pip_install(make_distribution(tmp_path / "src", "lava-broken", "lava_broken", "import no_such_module\n"), target)
    env = {"PYTHONPATH": str(target)}
    listing = run_cli("plugins", env=env)
    assert listing.returncode == 1
    assert "lava-broken" in listing.stdout
    assert "No module named 'no_such_module'" in listing.stdout
    put_jobs(lava_realm, {"job_id": "ok", "type": "cmd", "payload": "true"})
    run_id = send(lava_realm, DispatchRequest(job_id="ok")).run_id
    proc = run_cli("worker", "run", "-w", "core", "--drain", "--poll-wait", "0.2s", realm=lava_realm.root, env=env)
    assert proc.returncode == 0
    assert "lava-broken" in proc.stderr  # logged at start
    assert lava_realm.get_event("ok", run_id).status == "complete"
    assert os.environ.get("LAVA_PLUGINS") is None
