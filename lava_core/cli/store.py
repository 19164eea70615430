"""``lava payload`` (the realm's payload area) and ``lava output`` (a run's stored outputs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lava_core.backend import open_realm
from lava_core.cli.output import EXIT_FAILED, EXIT_OK, EXIT_USAGE, error, print_json, print_table


def cmd_payload_put(args: argparse.Namespace) -> int:
    local = Path(args.local)
    if not local.is_file():
        error(f"{local}: not a file")
        return EXIT_USAGE
    name = args.name or local.name
    if name.endswith("/"):
        name += local.name
    uri = open_realm(args.realm).put_payload(name, local.read_bytes())
    print(f"put {name} ({local.stat().st_size} bytes) -> {uri}")
    return EXIT_OK


def cmd_payload_ls(args: argparse.Namespace) -> int:
    items = open_realm(args.realm).list_payloads(args.prefix or "")
    if args.json:
        print_json([{"name": n, "size": s} for n, s in items])
    else:
        print_table(["name", "size"], [[n, s] for n, s in items])
    return EXIT_OK


def cmd_payload_get(args: argparse.Namespace) -> int:
    data = open_realm(args.realm).get_payload(args.name)
    if data is None:
        error(f"no payload {args.name!r}")
        return EXIT_FAILED
    _emit(data, args.output)
    return EXIT_OK


def cmd_output_get(args: argparse.Namespace) -> int:
    """Print (or save) a run's stored outputs; children of a run share its run id, so --job picks one."""
    backend = open_realm(args.realm, create=False)
    jobs = sorted({e.job_id for e in backend.query_events(run_id=args.run_id, limit=1000)})
    if args.job:
        jobs = [j for j in jobs if j == args.job]
    if not jobs:
        error(f"no run {args.run_id!r}" + (f" of job {args.job!r}" if args.job else ""))
        return EXIT_FAILED
    found = False
    for job_id in jobs:
        names = backend.list_outputs(job_id, args.run_id)
        for name in names if args.name is None else [n for n in names if n == args.name]:
            found = True
            data = backend.get_output(job_id, args.run_id, name) or b""
            if args.output:
                target = Path(args.output) / job_id / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                print(f"saved {target}")
            elif args.name is not None:
                _emit(data, None)
            else:
                print(f"--- {job_id} {name}")
                _emit(data, None)
                if data and not data.endswith(b"\n"):
                    print()
    if not found:
        error(f"run {args.run_id} has no stored output" + (f" named {args.name!r}" if args.name else "")
              + " (empty streams are not stored)")
        return EXIT_FAILED
    return EXIT_OK


def _emit(data: bytes, output: str | None) -> None:
    if output:
        Path(output).write_bytes(data)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    payload = sub.add_parser("payload", help="the realm's payload area (executables and code bundles)")
    psub = payload.add_subparsers(dest="sub", required=True)
    put = psub.add_parser("put", help="store a local file as a payload (NAME defaults to its file name; "
                                      "a NAME ending in / is a folder)")
    put.add_argument("local", metavar="LOCAL")
    put.add_argument("name", metavar="NAME", nargs="?")
    put.set_defaults(func=cmd_payload_put)
    ls = psub.add_parser("ls", help="list payloads, optionally under a name prefix")
    ls.add_argument("prefix", metavar="PREFIX", nargs="?")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_payload_ls)
    get = psub.add_parser("get", help="print a payload (or save it with -o)")
    get.add_argument("name", metavar="NAME")
    get.add_argument("-o", "--output", metavar="FILE")
    get.set_defaults(func=cmd_payload_get)

    output = sub.add_parser("output", help="a run's stored outputs (stdout, stderr, …)")
    osub = output.add_subparsers(dest="sub", required=True)
    oget = osub.add_parser("get", help="print every stored output of a run, or one with --name, or save with -o DIR")
    oget.add_argument("run_id", metavar="RUN_ID")
    oget.add_argument("--job", help="only this job's outputs (children of a chain share the run id)")
    oget.add_argument("--name", help="print only this output, raw (e.g. stdout)")
    oget.add_argument("-o", "--output", metavar="DIR", help="save into DIR/<job_id>/<name> instead of printing")
    oget.set_defaults(func=cmd_output_get)
