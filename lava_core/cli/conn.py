"""``lava conn``: put, list, show and remove entries of the realm's connections table."""

from __future__ import annotations

import argparse
from typing import Any

from lava_core.backend import open_realm
from lava_core.cli.specfiles import check_files
from lava_core.cli.output import EXIT_FAILED, EXIT_OK, EXIT_USAGE, error, print_json, print_table, short
from lava_core.connections import Connection, check_connection


def _validated(files: list[str]) -> tuple[list[Connection], list[str]]:
    """Every connection in ``files``, and every problem found (with file, index and path)."""
    found, problems = check_files(
        files, lambda data, source: check_connection(data, source=source),
        lambda data, _conn: data.get("conn_id") if isinstance(data, dict) else None, "conn_id")
    return [conn for conn, _ in found], problems


def cmd_conn_put(args: argparse.Namespace) -> int:
    conns, problems = _validated(args.files)
    if problems:
        for line in problems:
            print(line)
        error(f"{len(problems)} problem(s); no connection was written")
        return EXIT_USAGE
    open_realm(args.realm).put_connections([c.to_item() for c in conns])
    for conn in conns:
        print(f"put {conn.conn_id} ({conn.type}{'' if conn.enabled else ', not enabled'})")
    return EXIT_OK


def cmd_conn_ls(args: argparse.Namespace) -> int:
    items: list[dict[str, Any]] = open_realm(args.realm, create=False).list_connections()
    if args.json:
        print_json(items)
    else:
        print_table(["conn_id", "type", "enabled", "owner", "description"],
                    [[i.get("conn_id"), i.get("type"), i.get("enabled"), i.get("owner"),
                      short(i.get("description") or "", 50)] for i in items])
    return EXIT_OK


def cmd_conn_get(args: argparse.Namespace) -> int:
    item = open_realm(args.realm, create=False).get_connection(args.conn_id)
    if item is None:
        error(f"no connection {args.conn_id!r}")
        return EXIT_FAILED
    print_json(item)
    return EXIT_OK


def cmd_conn_rm(args: argparse.Namespace) -> int:
    if not open_realm(args.realm, create=False).delete_connection(args.conn_id):
        error(f"no connection {args.conn_id!r}")
        return EXIT_FAILED
    print(f"removed {args.conn_id}")
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    conn = sub.add_parser("conn", help="the realm's connections table: named docker engines, registries…")
    csub = conn.add_subparsers(dest="sub", required=True)
    put = csub.add_parser("put", help="validate connection files (JSON/YAML, one entry or a list) and store them; "
                                      "none is stored on error (exit 2)")
    put.add_argument("files", nargs="+", metavar="FILE")
    put.set_defaults(func=cmd_conn_put)
    ls = csub.add_parser("ls", help="list stored connections")
    ls.add_argument("--json", action="store_true", help="the full entries as JSON")
    ls.set_defaults(func=cmd_conn_ls)
    get = csub.add_parser("get", help="print a stored connection (JSON; exit 1 if missing)")
    get.add_argument("conn_id", metavar="ID")
    get.set_defaults(func=cmd_conn_get)
    rm = csub.add_parser("rm", help="remove a stored connection (exit 1 if missing)")
    rm.add_argument("conn_id", metavar="ID")
    rm.set_defaults(func=cmd_conn_rm)
