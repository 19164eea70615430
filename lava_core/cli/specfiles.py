"""Reading record files (jobs, connections, s3triggers) for ``put``/``validate`` commands.

Every file is read and every record checked before anything is written, so one
run reports every problem and a bad file never leaves half its records stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from lava_core.errors import SpecError

T = TypeVar("T")


def load_spec_file(path: Path) -> list[Any]:
    """Records from a JSON or YAML file: one record, or a list of records."""
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SpecError([f"$: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"],
                        source=str(path)) from exc
    return data if isinstance(data, list) else [data]


def check_files(files: list[str], check: Callable[[Any, str], T], id_of: Callable[[Any, T | None], str | None],
                id_field: str) -> tuple[list[tuple[T, Any]], list[str]]:
    """Check every record of every file; returns (record, raw data) pairs and problems, duplicates included.

    ``check(data, source)`` returns the checked record or raises SpecError;
    ``id_of(data, record)`` gives the record's id (record is None when the check failed).
    """
    found: list[tuple[T, Any]] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for name in files:
        try:
            items = load_spec_file(Path(name))
        except OSError as exc:
            problems.append(f"{name}: {exc.strerror}")
            continue
        except SpecError as exc:
            problems += str(exc).splitlines()
            continue
        for index, data in enumerate(items):
            source = name if len(items) == 1 else f"{name}[{index}]"
            record: T | None = None
            try:
                record = check(data, source)
            except SpecError as exc:
                problems += str(exc).splitlines()
            ident = id_of(data, record)
            if isinstance(ident, str):
                if ident in seen:
                    problems.append(f"{source}: $.{id_field}: {ident!r} is also defined in {seen[ident]}")
                seen.setdefault(ident, source)
            if record is not None:
                found.append((record, data))
    return found, problems
