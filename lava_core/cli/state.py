"""``lava state``: put, get, list and remove items of the realm's state table."""

from __future__ import annotations

import argparse
import json
from typing import Any

from lava_core.backend import open_realm
from lava_core.cli.output import EXIT_FAILED, EXIT_OK, EXIT_USAGE, error, print_json, print_table, short
from lava_core.convert import unstructure
from lava_core.render import RenderError, render_str
from lava_core.state import StateItem, get_state, list_state, put_state


def _value(args: argparse.Namespace) -> Any:
    """The VALUE argument: JSON when it parses as JSON (``--type json``), else the text itself."""
    if args.type == "raw":
        return args.value
    try:
        return json.loads(args.value)
    except json.JSONDecodeError:
        return args.value


def cmd_state_put(args: argparse.Namespace) -> int:
    item = put_state(open_realm(args.realm), args.state_id, _value(args), type=args.type, ttl=args.ttl,
                     publisher=args.publisher)
    print(f"put {item.state_id} (expires {item.ttl}, publisher {item.publisher!r})")
    return EXIT_OK


def cmd_state_get(args: argparse.Namespace) -> int:
    item = get_state(open_realm(args.realm, create=False), args.state_id)
    if item is None:
        if args.ignore_missing:
            print("")
            return EXIT_OK
        error(f"no state item {args.state_id!r} (or it expired)")
        return EXIT_FAILED
    if args.json:
        print_json(unstructure(item))
    elif args.template:
        try:
            print(render_str(args.template, {"state": item.value, "s": item}, where="TEMPLATE"))
        except RenderError as exc:
            error(str(exc))
            return EXIT_USAGE
    else:
        print(item.value if isinstance(item.value, str) else json.dumps(item.value))
    return EXIT_OK


def cmd_state_ls(args: argparse.Namespace) -> int:
    items: list[StateItem] = list_state(open_realm(args.realm, create=False), args.prefix or "")
    if args.json:
        print_json([unstructure(i) for i in items])
    else:
        print_table(["state_id", "type", "timestamp", "ttl", "publisher", "value"],
                    [[i.state_id, i.type, i.timestamp[:23], i.ttl, i.publisher, short(json.dumps(i.value), 50)]
                     for i in items])
    return EXIT_OK


def cmd_state_rm(args: argparse.Namespace) -> int:
    if not open_realm(args.realm, create=False).delete_state_item(args.state_id):
        error(f"no state item {args.state_id!r}")
        return EXIT_FAILED
    print(f"removed {args.state_id}")
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    state = sub.add_parser("state", help="the realm's state table: small named values that outlive runs")
    ssub = state.add_subparsers(dest="sub", required=True)
    put = ssub.add_parser("put", help="write (replace) a state item; jobs read it through their `state` field")
    put.add_argument("state_id", metavar="NAME", help="the item's id (ids starting with 'lava' are reserved)")
    put.add_argument("value", metavar="VALUE", help="the value: JSON if it parses as JSON, else a string")
    put.add_argument("--type", choices=["json", "raw"], default="json",
                     help="json (default): stored as JSON text; raw: stored as given, a string")
    put.add_argument("--ttl", metavar="DUR", help="expire after this long (default 7d, at most 366d)")
    put.add_argument("--publisher", help="who wrote it (default: $LAVA_JOB_ID, else 'lava state CLI')")
    put.set_defaults(func=cmd_state_put)
    get = ssub.add_parser("get", help="print a state item's value (exit 1 if missing or expired)")
    get.add_argument("state_id", metavar="NAME")
    get.add_argument("template", metavar="TEMPLATE", nargs="?",
                     help="a Jinja template rendered with `state` (the value) and `s` (the item)")
    get.add_argument("-i", "--ignore-missing", action="store_true", help="print an empty line for a missing item")
    get.add_argument("--json", action="store_true", help="the whole item as JSON")
    get.set_defaults(func=cmd_state_get)
    ls = ssub.add_parser("ls", help="list unexpired state items, optionally under an id prefix")
    ls.add_argument("prefix", metavar="PREFIX", nargs="?")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_state_ls)
    rm = ssub.add_parser("rm", help="remove a state item")
    rm.add_argument("state_id", metavar="NAME")
    rm.set_defaults(func=cmd_state_rm)
