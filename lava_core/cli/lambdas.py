"""``lava lambda build``: a Lambda layer with lava-core and chosen plugins, plus the trigger function.

* ``lava-layer.zip``: ``python/`` holding lava-core (with boto3 unless
  ``--no-boto3``), the chosen plugin distributions and every dependency;
* ``lava-function.zip``: the lava-triggers distribution, whose handlers are
  ``lava_triggers.s3trigger.handler`` and ``lava_triggers.dispatch_helper.handler``;
* ``manifest.json``: what went in, the handlers, and the Python it was built for.

Distributions are built from their source folders (found from how they were
installed, e.g. ``pip install -e plugins/lava_cmd``, or given with ``--source
NAME=DIR``), copied aside first so no build debris lands in the work tree.
Dependencies come from wherever pip gets them (its index, cache or find-links).
Zips are reproducible: entries sorted, timestamps fixed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lava_core.cli.output import EXIT_OK, EXIT_USAGE, error, print_json
from lava_core.errors import LavaError

CORE_DIST = "lava-core"
FUNCTION_DIST = "lava-triggers"
HANDLERS = {"s3trigger": "lava_triggers.s3trigger.handler",
            "dispatch-helper": "lava_triggers.dispatch_helper.handler"}
LAYER_ZIP, FUNCTION_ZIP = "lava-layer.zip", "lava-function.zip"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def source_folder(dist: str, overrides: dict[str, Path]) -> Path:
    """Where ``dist`` was installed from: ``--source`` first, else its PEP 610 ``direct_url.json``."""
    if _normal(dist) in overrides:
        return overrides[_normal(dist)]
    try:
        found = importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        msg = f"distribution {dist!r} is not installed here; install it (pip install -e DIR) or pass --source {dist}=DIR"
        raise LavaError(msg) from None
    text = found.read_text("direct_url.json")
    url = json.loads(text).get("url", "") if text else ""
    candidates = [Path(unquote(urlparse(url).path))] if url.startswith("file://") else []
    # Metadata found in a source folder itself (an ``*.egg-info`` beside its pyproject.toml).
    candidates.append(Path(str(found.locate_file(""))).resolve())
    for path in candidates:
        if _project_name(path) == _normal(dist):
            return path
    msg = (f"cannot find the source folder of {dist!r} (it was not installed from a local folder); "
           f"pass --source {dist}=DIR")
    raise LavaError(msg)


def _project_name(folder: Path) -> str | None:
    try:
        data = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    name = data.get("project", {}).get("name")
    return _normal(name) if isinstance(name, str) else None


def _copy_source(src: Path, dest: Path) -> None:
    """Copy a distribution's folder, leaving out nested distributions, VCS/venv folders and build debris."""
    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = set()
        for name in names:
            path = Path(folder) / name
            debris = name.startswith(".") or name in ("build", "dist", "__pycache__") or name.endswith(".egg-info")
            if debris or (path.is_dir() and (path / "pyproject.toml").is_file()):
                skip.add(name)
        return skip

    shutil.copytree(src, dest, ignore=ignore)


def _pip(*args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, check=False)  # noqa: S603 - pip of this interpreter
    if proc.returncode != 0:
        lines = [line for line in (proc.stderr + proc.stdout).splitlines() if "is ignored: it is neither" not in line]
        msg = ("pip failed (a dependency may be unavailable offline: pip needs its index, cache or "
               "find-links to hold it):\n" + "\n".join(lines[-20:]))
        raise LavaError(msg)


def _zip_tree(root: Path, target: Path) -> int:
    """Zip ``root``'s contents (paths relative to it) reproducibly; returns the number of files."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=_FIXED_TIME)
            info.external_attr = ((path.stat().st_mode & 0o777) | 0o100000) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return len(files)


def _installed(target: Path) -> list[str]:
    names = []
    for meta in sorted(target.glob("*.dist-info")):
        dist = importlib.metadata.Distribution.at(meta)
        names.append(f"{dist.metadata['Name']}=={dist.version}")
    return names


def build(plugins: list[str], out: Path, *, boto3: bool = True, python_version: str | None = None,
          platform: str | None = None, overrides: dict[str, Path] | None = None) -> dict[str, Any]:
    """Build the layer and function zips into ``out``; returns the manifest (also written as manifest.json)."""
    overrides = overrides or {}
    dists = [CORE_DIST, *[p for p in dict.fromkeys(plugins) if _normal(p) not in (CORE_DIST, FUNCTION_DIST)]]
    with tempfile.TemporaryDirectory(prefix="lava-lambda-") as tmp_name:
        tmp = Path(tmp_name)
        sources = []
        for dist in [*dists, FUNCTION_DIST]:
            dest = tmp / "src" / _normal(dist)
            _copy_source(source_folder(dist, overrides), dest)
            sources.append(str(dest))
        wheels = tmp / "wheels"
        _pip("wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", str(wheels), *sources)

        def wheel(dist: str) -> str:
            prefix = _normal(dist).replace("-", "_") + "-"
            return str(next(w for w in wheels.glob("*.whl") if w.name.lower().startswith(prefix)))

        layer, function = tmp / "layer" / "python", tmp / "function"
        cross = ["--only-binary=:all:"] if python_version or platform else []
        cross += ["--python-version", python_version] if python_version else []
        cross += ["--platform", platform] if platform else []
        requirements = [wheel(d) for d in dists] + (["boto3>=1.34"] if boto3 else [])
        _pip("install", "--quiet", "--no-compile", "--target", str(layer), *cross, *requirements)
        _pip("install", "--quiet", "--no-compile", "--no-deps", "--target", str(function), wheel(FUNCTION_DIST))
        for folder in (layer, function):
            shutil.rmtree(folder / "bin", ignore_errors=True)  # console scripts pointing at this machine's Python
        out.mkdir(parents=True, exist_ok=True)
        layer_files = _zip_tree(tmp / "layer", out / LAYER_ZIP)
        function_files = _zip_tree(function, out / FUNCTION_ZIP)
        manifest = {
            "layer": {"zip": LAYER_ZIP, "files": layer_files, "distributions": _installed(layer)},
            "function": {"zip": FUNCTION_ZIP, "files": function_files, "distributions": _installed(function)},
            "handlers": HANDLERS,
            "python": python_version or f"{sys.version_info.major}.{sys.version_info.minor}",
            "platform": platform or "this machine's",
            "environment": {"LAVA_REALM": "the realm name (required)"},
        }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def cmd_lambda_build(args: argparse.Namespace) -> int:
    overrides = {}
    for item in args.source:
        name, sep, folder = item.partition("=")
        if not sep or not name or not folder:
            error(f"--source expects NAME=DIR, got {item!r}")
            return EXIT_USAGE
        overrides[_normal(name)] = Path(folder)
    plugins = [p.strip() for p in (args.plugins or "").split(",") if p.strip()]
    manifest = build(plugins, Path(args.out), boto3=not args.no_boto3, python_version=args.python_version,
                     platform=args.platform, overrides=overrides)
    if args.json:
        print_json(manifest)
        return EXIT_OK
    for part in ("layer", "function"):
        info = manifest[part]
        print(f"{Path(args.out) / info['zip']}: {info['files']} files, {', '.join(info['distributions'])}")
    for name, handler in HANDLERS.items():
        print(f"handler {name}: {handler}")
    print(f"built for Python {manifest['python']} ({manifest['platform']} platform)")
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    lam = sub.add_parser("lambda", help="package lava for AWS Lambda")
    lsub = lam.add_subparsers(dest="sub", required=True)
    build_parser = lsub.add_parser("build", help="build the Lambda layer (lava-core + plugins + dependencies) "
                                                 "and the trigger function zip")
    build_parser.add_argument("--plugins", default="", metavar="DIST,...",
                              help="plugin distributions to bundle in the layer, e.g. lava-cmd,lava-dag")
    build_parser.add_argument("--out", required=True, metavar="DIR", help="folder for the zips and manifest.json")
    build_parser.add_argument("--no-boto3", action="store_true",
                              help="leave boto3 out of the layer (use the Lambda runtime's own)")
    build_parser.add_argument("--python-version", metavar="X.Y",
                              help="build for this Python (binary wheels only), e.g. 3.12")
    build_parser.add_argument("--platform", metavar="TAG",
                              help="build for this platform (binary wheels only), e.g. manylinux2014_x86_64")
    build_parser.add_argument("--source", action="append", default=[], metavar="NAME=DIR",
                              help="build distribution NAME from DIR (default: the folder it was installed from)")
    build_parser.add_argument("--json", action="store_true", help="print the manifest as JSON")
    build_parser.set_defaults(func=cmd_lambda_build)
