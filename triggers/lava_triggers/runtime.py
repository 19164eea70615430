"""What both Lambda handlers share: the realm from ``LAVA_REALM``, one plugin host per warm instance.

``LAVA_REALM`` is a realm name (``prod``, meaning ``aws://prod``, as lava's
Lambdas take it), ``aws://NAME``, or a local realm folder (for running a handler
outside Lambda). The plugin host and the backend are built on the first
invocation and kept while the instance stays warm, so the s3trigger's query
cache lives as long as the instance.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from lava_core.backend import Backend, open_realm
from lava_core.errors import LavaError
from lava_core.plugins import PluginHost

log = logging.getLogger("lava.triggers")

_BARE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_warm: dict[str, Any] = {}


def realm_spec() -> str:
    spec = os.environ.get("LAVA_REALM", "").strip()
    if not spec:
        msg = "LAVA_REALM is not set: give the function the realm name (or aws://NAME) in its environment"
        raise LavaError(msg)
    return f"aws://{spec}" if _BARE_NAME.match(spec) else spec


def backend() -> Backend:
    spec = realm_spec()
    if _warm.get("spec") != spec:
        _warm["backend"] = open_realm(spec, create=False)
        _warm["spec"] = spec
    return _warm["backend"]


def host() -> PluginHost:
    if "host" not in _warm:
        _warm["host"] = PluginHost()
    return _warm["host"]


def handle(source_name: str, event: Any) -> dict[str, Any]:
    """Run the named trigger source on ``event``, send its dispatches, and answer Lambda."""
    level = os.environ.get("LAVA_LOGLEVEL") or os.environ.get("LOGLEVEL") or "INFO"
    logging.getLogger("lava").setLevel(level.upper())
    realm = backend()
    source = host().trigger(source_name)
    report = source.explain(event, backend=realm, dry_run=False)
    report.send(realm)
    report.log()
    return report.lambda_response()
