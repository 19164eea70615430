"""Meta-test: every hook is documented in its docstring and in docs/plugin-hooks.md."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from lava_core import hookspecs

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugin-hooks.md"


def hook_specs():
    """(name, argument names) of every function marked with lava's ``@hookspec``."""
    marker = f"{hookspecs.hookspec.project_name}_spec"
    found = [(name, list(inspect.signature(func).parameters))
             for name, func in vars(hookspecs).items()
             if inspect.isfunction(func) and hasattr(func, marker)]
    return sorted(found)


SPECS = hook_specs()


def test_hookspecs_are_found():
    names = [name for name, _ in SPECS]
    assert {"lava_register_job_types", "lava_run_started", "lava_run_finished"} <= set(names)
    assert all(name.startswith("lava_") for name in names)


@pytest.mark.parametrize(("name", "args"), SPECS, ids=[name for name, _ in SPECS])
def test_docstring_documents_every_argument_and_the_return(name, args):
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    assert doc.strip(), f"{name} has no docstring"
    for arg in args:
        assert re.search(rf":param {arg}:", doc), f"{name}: docstring lacks ':param {arg}:'"
    assert ":return" in doc, f"{name}: docstring lacks ':return'"
    documented = re.findall(r":param (\w+):", doc)
    assert sorted(documented) == sorted(args), f"{name}: documents {documented}, takes {args}"


def heading_args():
    """Hook name -> argument names, from the ``## hook(args)`` headings of the doc page."""
    text = DOC.read_text(encoding="utf-8")
    headings = {}
    for match in re.finditer(r"^##\s+`?(\w+)\(([^)]*)\)`?\s*$", text, flags=re.MULTILINE):
        headings[match.group(1)] = [a.strip() for a in match.group(2).split(",") if a.strip()]
    return headings


def test_plugin_hooks_page_exists():
    assert DOC.is_file(), f"{DOC} is missing: every hook must be documented there"


@pytest.mark.parametrize(("name", "args"), SPECS, ids=[name for name, _ in SPECS])
def test_plugin_hooks_page_has_a_heading_per_hook(name, args):
    assert DOC.is_file(), f"{DOC} is missing"
    headings = heading_args()
    assert name in headings, f"docs/plugin-hooks.md has no '## {name}({', '.join(args)})' heading"
    assert headings[name] == args, f"heading for {name} lists {headings[name]}, the hook takes {args}"


def test_plugin_hooks_page_has_no_stale_hooks():
    assert DOC.is_file(), f"{DOC} is missing"
    documented = {name for name in heading_args() if name.startswith("lava_")}
    assert documented <= {name for name, _ in SPECS}, "the page documents hooks that no longer exist"
