"""``lava trigger``: s3triggers entries, replaying recorded events, and the local watch.

Trigger sources come from plugins (lava's own are in ``lava-triggers``) and are
found through the plugin host, never imported by name. A source that offers
``explain(event, *, backend, dry_run)`` (lava-triggers' do) gets a full
explanation from ``replay``: the entries matched, each condition's result and
the rendered dispatches; any other source is replayed through ``requests()``.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from lava_core.backend import Backend, open_realm
from lava_core.cli import lambdas
from lava_core.cli.specfiles import check_files
from lava_core.cli.output import EXIT_FAILED, EXIT_OK, EXIT_USAGE, error, print_json, print_table, short
from lava_core.dispatch import send
from lava_core.errors import LavaError
from lava_core.plugins import PluginHost
from lava_core.units import parse_duration

S3_SOURCE = "s3trigger"


# --------------------------------------------------------------------------- entries


def cmd_trigger_put(args: argparse.Namespace) -> int:
    checker = PluginHost().trigger(S3_SOURCE)
    entries, problems = check_files(
        args.files, lambda item, source: checker.check_entry(item, source=source),
        lambda _item, entry: entry.trigger_id if entry is not None else None, "trigger_id")
    if problems:
        for line in problems:
            print(line)
        error(f"{len(problems)} problem(s); no s3trigger entry was written")
        return EXIT_USAGE
    open_realm(args.realm).put_triggers([item for _, item in entries])
    for entry, _ in entries:
        state = "enabled" if entry.enabled else "disabled"
        print(f"put {entry.trigger_id} ({entry.uri} -> {', '.join(entry.job_ids)}, {state})")
    return EXIT_OK


def cmd_trigger_ls(args: argparse.Namespace) -> int:
    rows = open_realm(args.realm, create=False).list_triggers()
    if args.json:
        print_json(rows)
        return EXIT_OK
    print_table(["trigger_id", "bucket", "prefix", "job_id", "enabled", "description"],
                [[r.get("trigger_id"), r.get("bucket"), r.get("prefix"), short(r.get("job_id"), 40),
                  r.get("enabled"), short(r.get("description") or "", 40)] for r in rows])
    return EXIT_OK


def cmd_trigger_rm(args: argparse.Namespace) -> int:
    if not open_realm(args.realm, create=False).delete_trigger(args.trigger_id):
        error(f"no s3trigger entry {args.trigger_id!r}")
        return EXIT_FAILED
    print(f"removed {args.trigger_id}")
    return EXIT_OK


# --------------------------------------------------------------------------- replay


def run_event(source: Any, event: Any, backend: Backend, *, dry_run: bool) -> tuple[list[str], dict[str, Any], bool]:
    """(text lines, JSON report, ok) for one event through ``source``; dispatches unless ``dry_run``."""
    if hasattr(source, "explain"):
        report = source.explain(event, backend=backend, dry_run=dry_run)
        if not dry_run:
            report.send(backend)
        return report.text(), report.to_json(), not report.errors
    requests = source.requests(event, backend=backend)
    lines = [f"{'would dispatch' if dry_run else 'dispatch'}: {r.job_id}" for r in requests]
    sent, problems = [], []
    if not dry_run:
        for request in requests:
            try:
                message = send(backend, request)
            except LavaError as exc:
                problems.append(str(exc))
                continue
            sent.append({"job_id": message.job_id, "run_id": message.run_id, "worker": message.worker})
            lines.append(f"sent: {message.job_id} run {message.run_id} to fleet {message.worker}")
    lines += [f"send failed: {p}" for p in problems]
    data = {"source": source.trigger_name, "dry_run": dry_run, "requests": [r.job_id for r in requests],
            "sent": sent, "errors": problems, "ok": not problems}
    return lines, data, not problems


def cmd_trigger_replay(args: argparse.Namespace) -> int:
    try:
        event = json.loads(Path(args.event).read_text(encoding="utf-8"))
    except OSError as exc:
        error(f"{args.event}: {exc.strerror}")
        return EXIT_USAGE
    except json.JSONDecodeError as exc:
        error(f"{args.event}: not valid JSON: {exc}")
        return EXIT_USAGE
    source = PluginHost().trigger(args.source)
    lines, data, ok = run_event(source, event, open_realm(args.realm, create=False), dry_run=args.dry_run)
    if args.json:
        print_json(data)
    else:
        print("\n".join(lines))
    return EXIT_OK if ok else EXIT_FAILED


# --------------------------------------------------------------------------- local watch


def scan(root: Path) -> dict[str, tuple[int, int]]:
    """Relative path -> (size, mtime in ns) of every regular file under ``root``, dot files left out."""
    found = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        stat = path.stat()
        found[rel.as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return found


def local_event(bucket: str, key: str, size: int, mtime_ns: int) -> dict[str, Any]:
    """An S3 bucket notification for a local file, shaped (and key-encoded) as S3 sends them."""
    when = datetime.fromtimestamp(mtime_ns / 1e9, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "lava:local", "awsRegion": "local", "eventTime": when,
        "eventName": "ObjectCreated:Put", "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "lava-trigger-watch",
               "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": quote_plus(key), "size": size}}}]}


class Watcher:
    """Polls a folder; a new or changed file is reported once its size and mtime held for one poll."""

    def __init__(self, root: Path, *, include_existing: bool) -> None:
        self.root = root
        self.seen: dict[str, tuple[int, int]] = {} if include_existing else scan(root)
        self.pending: dict[str, tuple[int, int]] = {}

    def poll(self, *, settle: bool = True) -> list[tuple[str, int, int]]:
        now = scan(self.root)
        ready = []
        for rel, sig in sorted(now.items()):
            if self.seen.get(rel) == sig:
                continue
            if settle and self.pending.get(rel) != sig:
                self.pending[rel] = sig
                continue
            self.pending.pop(rel, None)
            self.seen[rel] = sig
            ready.append((rel, *sig))
        for rel in [r for r in self.seen if r not in now]:
            del self.seen[rel]  # a file put there again later is a new event
        return ready


def cmd_trigger_watch(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    if not root.is_dir():
        error(f"{root}: not a folder")
        return EXIT_USAGE
    bucket = args.bucket or root.resolve().name
    backend = open_realm(args.realm, create=False)
    source = PluginHost().trigger(args.source)
    watcher = Watcher(root, include_existing=args.once or args.include_existing)
    ok = True
    if not args.once:
        print(f"watching {root} as s3://{bucket}/ every {args.interval} (Ctrl-C to stop)", flush=True)
    while True:
        for key, size, mtime_ns in watcher.poll(settle=not args.once):
            lines, data, good = run_event(source, local_event(bucket, key, size, mtime_ns), backend,
                                          dry_run=args.dry_run)
            ok = ok and good
            if args.json:
                print(json.dumps(data, sort_keys=True, default=str), flush=True)
            else:
                print("\n".join(lines), flush=True)
        if args.once:
            return EXIT_OK if ok else EXIT_FAILED
        time.sleep(parse_duration(args.interval))


# --------------------------------------------------------------------------- parsers


def add_parsers(sub: argparse._SubParsersAction, duration_arg: Any) -> None:  # type: ignore[type-arg]
    trigger = sub.add_parser("trigger", help="s3trigger entries, replaying recorded events, the local watch")
    tsub = trigger.add_subparsers(dest="sub", required=True)
    put = tsub.add_parser("put", help="validate s3trigger entry files (JSON/YAML) and store them; none is "
                                      "stored if any entry is invalid")
    put.add_argument("files", nargs="+", metavar="FILE")
    put.set_defaults(func=cmd_trigger_put)
    ls = tsub.add_parser("ls", help="list the realm's s3trigger entries")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_trigger_ls)
    rm = tsub.add_parser("rm", help="remove an s3trigger entry")
    rm.add_argument("trigger_id", metavar="TRIGGER_ID")
    rm.set_defaults(func=cmd_trigger_rm)
    replay = tsub.add_parser("replay", help="run a recorded event (as a Lambda would receive it) through a "
                                            "trigger source: matches, conditions, rendered dispatches")
    replay.add_argument("event", metavar="EVENT.json")
    replay.add_argument("--source", default=S3_SOURCE, help=f"trigger source (default: {S3_SOURCE}; "
                                                            "dispatch-helper for dispatch requests)")
    replay.add_argument("--dry-run", action="store_true", help="explain only: dispatch nothing, write nothing")
    replay.add_argument("--json", action="store_true", help="the full report as JSON")
    replay.set_defaults(func=cmd_trigger_replay)
    watch = tsub.add_parser("watch", help="local S3 events: files appearing under DIR run the s3trigger "
                                          "matching against the realm (polling)")
    watch.add_argument("dir", metavar="DIR")
    watch.add_argument("--bucket", help="bucket name the files appear in (default: DIR's name)")
    watch.add_argument("--interval", default="1s", type=duration_arg, metavar="DUR",
                       help="poll interval; a file is handled once unchanged for one interval (default: 1s)")
    watch.add_argument("--once", action="store_true", help="handle every file now under DIR, then exit")
    watch.add_argument("--include-existing", action="store_true", help="treat files present at start as new")
    watch.add_argument("--source", default=S3_SOURCE, help=f"trigger source (default: {S3_SOURCE})")
    watch.add_argument("--dry-run", action="store_true", help="explain only, dispatch nothing")
    watch.add_argument("--json", action="store_true", help="one JSON report per file")
    watch.set_defaults(func=cmd_trigger_watch)
    lambdas.add_parsers(sub)
