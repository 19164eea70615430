"""``lava dispatch``, ``lava run`` and ``lava worker run``."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from lava_core.backend import open_realm
from lava_core.cli.output import EXIT_FAILED, EXIT_OK, EXIT_USAGE, error, print_json, short
from lava_core.convert import unstructure
from lava_core.dispatch import DispatchRequest, parse_cli_tokens, send
from lava_core.errors import DispatchError, PluginError, SpecError
from lava_core.plugins import PluginHost
from lava_core.records import COMPLETE, SKIPPED, TERMINAL_STATUSES, DispatchMessage, Event
from lava_core.run import Services
from lava_core.units import parse_duration
from lava_core.worker import Worker, WorkerOptions
from lava_core.worker.intake import run_message


def request_tokens(args: argparse.Namespace) -> list[str]:
    tokens = [args.job_id]
    if getattr(args, "delay", None):
        tokens += ["--delay", args.delay]
    for value in args.param or []:
        tokens += ["--param", value]
    for value in args.globals or []:
        tokens += ["--global", value]
    return tokens


def parse_request(args: argparse.Namespace) -> DispatchRequest | None:
    """The request the command line describes, or None after printing why it is invalid."""
    try:
        return parse_cli_tokens(request_tokens(args))
    except (ValueError, SpecError) as exc:
        error(str(exc))
        return None


def cmd_dispatch(args: argparse.Namespace) -> int:
    request = parse_request(args)
    if request is None:
        return EXIT_USAGE
    backend = open_realm(args.realm)
    try:
        message = send(backend, request, worker=args.worker)
    except (DispatchError, SpecError) as exc:
        error(str(exc))
        return EXIT_FAILED
    if not args.wait:
        print_json(message.to_body()) if args.json else print(message.run_id)
        return EXIT_OK
    if not args.json:
        print(message.run_id, file=sys.stderr)
    event = wait_for_run(backend, message.job_id, message.run_id, parse_duration(args.timeout))
    return report_run(event, args.json, message.run_id)


def wait_for_run(backend: Any, job_id: str, run_id: str, timeout: float) -> Event | None:
    deadline = time.monotonic() + timeout
    pause = 0.05
    while time.monotonic() < deadline:
        event = backend.get_event(job_id, run_id)
        if event is not None and event.status in TERMINAL_STATUSES:
            return event
        time.sleep(pause)
        pause = min(pause * 1.5, 1.0)
    return None


def report_run(event: Event | None, as_json: bool, run_id: str) -> int:
    if event is None:
        error(f"run {run_id} did not finish in time (is a worker running for its fleet?)")
        return EXIT_FAILED
    if as_json:
        print_json(unstructure(event))
    else:
        for entry in event.log:
            print(f"{entry.ts_event[:23]}  {entry.status:<13} {short(entry.info if entry.info is not None else '', 90)}")
    return EXIT_OK if event.status in (COMPLETE, SKIPPED) else EXIT_FAILED


def cmd_run(args: argparse.Namespace) -> int:
    """Run one job now, in this process, without going through the queue (for development)."""
    request = parse_request(args)
    if request is None:
        return EXIT_USAGE
    backend = open_realm(args.realm)
    spec = backend.get_job(request.job_id)
    if spec is None:
        error(f"no such job {request.job_id!r}")
        return EXIT_USAGE
    try:
        host = PluginHost()
    except PluginError as exc:
        error(str(exc))
        return EXIT_USAGE
    realm = backend.get_realm()
    worker = spec.get("worker") if isinstance(spec.get("worker"), str) else "dev"
    message = DispatchMessage(realm=realm.realm, worker=worker, job_id=request.job_id,
                              parameters=request.parameters, globals=request.globals)
    tmp = Path(args.tmpdir) if args.tmpdir else Path(backend.describe()) / "tmp"
    services = Services(backend=backend, host=host, realm=realm, worker=worker, tmpdir=tmp)
    try:
        run_message(services, message, job_spec=spec)
    except SpecError as exc:
        print(str(exc))
        return EXIT_USAGE
    finally:
        shutil.rmtree(services.scratch_dir(), ignore_errors=True)
        backend.flush()
    event = backend.get_event(message.job_id, message.run_id)
    code = report_run(event, args.json, message.run_id)
    if not args.json and event is not None and event.status == COMPLETE:
        for name in backend.list_outputs(message.job_id, message.run_id):
            data = backend.get_output(message.job_id, message.run_id, name) or b""
            print(f"--- {name}\n{data.decode(errors='replace')}", end="" if data.endswith(b"\n") else "\n")
    return code


def cmd_worker_run(args: argparse.Namespace) -> int:
    try:
        host = PluginHost()
    except PluginError as exc:
        error(f"cannot start worker: {exc}")
        return EXIT_USAGE
    options = WorkerOptions(
        fleet=args.worker, threads=args.threads, visibility=parse_duration(args.visibility_timeout),
        wait=parse_duration(args.poll_wait), drain=args.drain, grace=parse_duration(args.grace),
        retries=args.retries, jump_start=args.jump_start, keep_failed=args.keep_failed,
        tmpdir=Path(args.tmpdir) if args.tmpdir else None)
    worker = Worker(open_realm(args.realm), host, options)
    return worker.run()


def duration_arg(text: str) -> str:
    """argparse type for durations: a bad one is a usage error (exit 2), not a traceback."""
    try:
        parse_duration(text)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_request_arguments(parser: argparse.ArgumentParser, *, delay: bool = True) -> None:
    parser.add_argument("job_id", metavar="JOB", help="the job to run")
    if delay:
        parser.add_argument("-d", "--delay", metavar="DUR", type=duration_arg,
                            help="wait this long before the run (e.g. 30s, 5m; at most 15m)")
    parser.add_argument("-p", "--param", action="append", metavar="NAME=VALUE",
                        help="override a parameter; dotted names nest (vars.x=1); NAME:=JSON for typed values")
    parser.add_argument("-g", "--global", dest="globals", action="append", metavar="NAME=VALUE",
                        help="override a global, same forms as --param")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
