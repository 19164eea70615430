"""Unpacking code bundles (zip, tar, tar.gz…) without letting any entry escape the target folder."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from lava_core import JobError

_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


def is_bundle(name: str) -> bool:
    return name.endswith(".zip") or name.endswith(_TAR_SUFFIXES)


def _refuse(bundle: str, entry: str, why: str) -> JobError:
    return JobError(f"Cannot unpack {bundle}: entry {entry!r} {why}", data={"exit_status": 1, "output": []})


def _check_name(bundle: str, name: str) -> None:
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("\\\\"):
        raise _refuse(bundle, name, "has an absolute path")
    if ".." in path.parts:
        raise _refuse(bundle, name, "climbs out of the bundle with '..'")


def unpack(bundle: str, data: bytes, target: Path) -> None:
    """Unpack ``data`` (the bundle called ``bundle``) into ``target``; refuse escaping entries."""
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    try:
        if bundle.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for info in archive.infolist():
                    _check_name(bundle, info.filename)
                    mode = info.external_attr >> 16
                    if mode and (mode & 0o170000) == 0o120000:
                        raise _refuse(bundle, info.filename, "is a symlink (not allowed in zip bundles)")
                archive.extractall(root)  # noqa: S202 - every name was checked above
                for info in archive.infolist():
                    mode = (info.external_attr >> 16) & 0o777
                    if mode and not info.is_dir():
                        (root / info.filename).chmod(mode)
            return
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            members = archive.getmembers()
            for member in members:
                _check_name(bundle, member.name)
                if member.issym() or member.islnk():
                    link = (root / member.name).parent / member.linkname if member.issym() else root / member.linkname
                    if PurePosixPath(member.linkname).is_absolute() or not link.resolve().is_relative_to(root):
                        raise _refuse(bundle, member.name, f"links outside the bundle ({member.linkname})")
                elif not (member.isfile() or member.isdir()):
                    raise _refuse(bundle, member.name, "is a device, fifo or other special file")
            archive.extractall(root, members=members, filter="tar")
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
        msg = f"Cannot unpack {bundle}: {exc}"
        raise JobError(msg, data={"exit_status": 1, "output": []}) from exc
