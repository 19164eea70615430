"""Realm backends: one interface (:class:`Backend`), the local folder realm, and AWS."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from lava_core.backend.base import Backend, DeadLetter, ReceivedMessage
from lava_core.errors import BackendError, RealmNotFound

DEFAULT_REALM = ".lava"

__all__ = ["Backend", "DeadLetter", "ReceivedMessage", "open_realm", "realm_spec"]


def realm_spec(spec: str | None = None) -> str:
    """The realm to use: the argument, else ``$LAVA_REALM``, else ``./.lava``."""
    return spec or os.environ.get("LAVA_REALM") or DEFAULT_REALM


def open_realm(spec: str | None = None, *, create: bool = True, quiet: bool = False) -> Backend:
    """Open a realm by spec: ``aws://NAME`` for AWS, anything else is a local folder.

    A local realm that does not exist yet is created (with a message on stderr)
    unless ``create`` is false, in which case :class:`RealmNotFound` is raised.
    """
    spec = realm_spec(spec)
    if spec.startswith("aws://"):
        try:
            from lava_core.backend.aws import AwsBackend  # noqa: PLC0415 - boto3 only when asked for
        except ImportError as exc:
            msg = f"cannot open {spec}: the AWS backend is not available ({exc})"
            raise BackendError(msg) from exc
        return AwsBackend(spec.removeprefix("aws://"))
    from lava_core.backend.local import LocalBackend  # noqa: PLC0415 - keeps `import lava_core` light

    root = Path(spec.removeprefix("file://")).expanduser()
    if not LocalBackend.exists(root):
        if not create:
            msg = f"no lava realm at {root} (create one with `lava --realm {spec} realm init`)"
            raise RealmNotFound(msg)
        backend = LocalBackend.init(root)
        if not quiet:
            print(f"lava: created local realm {backend.realm_name!r} at {root.resolve()}", file=sys.stderr)
        return backend
    return LocalBackend(root)
