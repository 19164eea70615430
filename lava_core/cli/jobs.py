"""``lava realm``, ``lava job``, ``lava plugins``, ``lava events`` and ``lava dlq``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from lava_core.backend import open_realm, realm_spec
from lava_core.cli.specfiles import check_files
from lava_core.cli.output import EXIT_FAILED, EXIT_OK, EXIT_USAGE, error, print_json, print_table, short
from lava_core.convert import unstructure
from lava_core.plugins import PluginHost
from lava_core.validate import validate_spec


def _validated(files: list[str], host: PluginHost) -> tuple[list[Any], list[str]]:
    found, problems = check_files(files, lambda data, source: validate_spec(host, data, source=source),
                                  lambda _data, job: job.job_id if job is not None else None, "job_id")
    return [job for job, _ in found], problems


def cmd_job_validate(args: argparse.Namespace) -> int:
    jobs, problems = _validated(args.files, PluginHost())
    for line in problems:
        print(line)
    if problems:
        return EXIT_USAGE
    print(f"{len(jobs)} job spec(s) valid")
    return EXIT_OK


def cmd_job_put(args: argparse.Namespace) -> int:
    jobs, problems = _validated(args.files, PluginHost())
    if problems:
        for line in problems:
            print(line)
        error(f"{len(problems)} problem(s); no job was written")
        return EXIT_USAGE
    backend = open_realm(args.realm)
    backend.put_jobs([job.to_dict() for job in jobs])
    for job in jobs:
        print(f"put {job.job_id} ({job.type} on {job.worker})")
    return EXIT_OK


def cmd_job_get(args: argparse.Namespace) -> int:
    spec = open_realm(args.realm).get_job(args.job_id)
    if spec is None:
        error(f"no such job {args.job_id!r}")
        return EXIT_FAILED
    if args.yaml:
        print(yaml.safe_dump(spec, sort_keys=False), end="")
    else:
        print_json(spec)
    return EXIT_OK


def cmd_job_ls(args: argparse.Namespace) -> int:
    specs = open_realm(args.realm).list_jobs()
    if args.json:
        print_json(specs)
        return EXIT_OK
    print_table(["job_id", "type", "worker", "enabled", "description"],
                [[s["job_id"], s.get("type"), s.get("worker"), s.get("enabled", False), short(s.get("description", ""), 40)]
                 for s in specs])
    return EXIT_OK


def cmd_job_rm(args: argparse.Namespace) -> int:
    if not open_realm(args.realm).delete_job(args.job_id):
        error(f"no such job {args.job_id!r}")
        return EXIT_FAILED
    print(f"removed {args.job_id}")
    return EXIT_OK


def cmd_realm_init(args: argparse.Namespace) -> int:
    if args.aws:
        return _init_aws_realm(args)
    if args.bucket or args.prefix or args.fleet:
        error("--bucket, --prefix and --fleet go with --aws NAME (a local realm needs none of them)")
        return EXIT_USAGE
    from lava_core.backend.local import LocalBackend  # noqa: PLC0415 - only this command needs it

    root = Path(realm_spec(args.realm))
    existed = LocalBackend.exists(root)
    backend = LocalBackend.init(root, name=args.name)
    verb = "exists" if existed else "created"
    print(f"realm {backend.realm_name!r} {verb} at {backend.root}")
    return EXIT_OK


def _init_aws_realm(args: argparse.Namespace) -> int:
    from lava_core.backend.aws_setup import init_aws_realm  # noqa: PLC0415 - boto3 only when asked for

    if not args.bucket:
        error("--aws needs --bucket BUCKET (where payloads and outputs go)")
        return EXIT_USAGE
    if not args.fleet:
        print("lava: no --fleet given: no queues created (re-run with --fleet NAME to add one)", file=sys.stderr)
    done = init_aws_realm(args.aws, bucket=args.bucket, prefix=args.prefix, fleets=args.fleet,
                          max_receives=args.max_receives)
    if args.json:
        print_json([unstructure(r) for r in done])
    else:
        print_table(["resource", "name", "status", "detail"], [[r.kind, r.name, r.status, r.detail] for r in done])
        print(f"use it with --realm aws://{args.aws} (or LAVA_REALM=aws://{args.aws})")
    return EXIT_OK


def cmd_realm_show(args: argparse.Namespace) -> int:
    backend = open_realm(args.realm, create=False)
    print_json({"where": backend.describe(), **unstructure(backend.get_realm())})
    return EXIT_OK


def cmd_plugins(args: argparse.Namespace) -> int:
    host = PluginHost()
    infos = host.plugin_infos()
    broken = EXIT_FAILED if any(i.error for i in infos) else EXIT_OK
    if args.json:
        print_json([unstructure(i) for i in infos])
        return broken
    print_table(["plugin", "distribution", "version", "job types", "actions", "triggers", "error"],
                [[i.name, i.distribution, i.version, ",".join(i.job_types), ",".join(i.actions),
                  ",".join(i.triggers), i.error] for i in infos])
    return broken


def cmd_events(args: argparse.Namespace) -> int:
    backend = open_realm(args.realm, create=False)
    events = backend.query_events(job_id=args.job, run_id=args.run, status=args.status, limit=args.limit)
    if args.json:
        print_json([unstructure(e) for e in events])
        return EXIT_OK
    rows = []
    for event in reversed(events):  # oldest first reads naturally in a terminal
        # The info of the step that set the status (an action failure logged later does not).
        info = next((e.info for e in reversed(event.log) if e.status == event.status), None)
        rows.append([event.ts_event[:23], event.job_id, event.run_id[:8], event.status, event.worker,
                     short(info if info is not None else "", 60)])
    print_table(["ts_event", "job_id", "run", "status", "worker", "info"], rows)
    return EXIT_OK


def cmd_dlq(args: argparse.Namespace) -> int:
    letters = open_realm(args.realm, create=False).list_dead_letters(args.fleet)
    if args.json:
        print_json([unstructure(d) for d in letters])
        return EXIT_OK
    print_table(["ts", "queue", "message_id", "receives", "reason"],
                [[d.ts[:23], d.queue, d.message_id[:8], d.receive_count, short(d.reason, 70)] for d in letters])
    return EXIT_OK
