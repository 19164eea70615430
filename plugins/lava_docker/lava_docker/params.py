"""The docker job's parameters, image references and the checks run before anything starts."""

from __future__ import annotations

import re
from typing import Any

from attrs import define, field

from lava_core import Duration, Job

PULL_POLICIES = ("if-missing", "always", "never")

# The keys lava lets a job pass to the engine; each is a keyword of the Docker SDK's
# ``containers.create``. Anything else (volumes, privileged, devices…) is refused.
HOST_CONFIG_KEYS = frozenset({
    "blkio_weight", "blkio_weight_device", "cap_add", "cap_drop", "cpu_count", "cpu_percent", "cpu_period",
    "cpu_quota", "cpu_shares", "cpuset_cpus", "cpuset_mems", "device_read_bps", "device_read_iops",
    "device_write_bps", "device_write_iops", "dns", "dns_opt", "dns_search", "domainname", "extra_hosts",
    "hostname", "group_add", "mem_limit", "mem_swappiness", "memswap_limit", "nano_cpus", "network_disabled",
    "network_mode", "ports", "publish_all_ports", "shm_size", "user", "working_dir",
})


@define(frozen=True, kw_only=True)
class DockerParams:
    """Parameters of a docker job (any other key is refused)."""

    image: str | None = None
    command: str | list[Any] | None = None
    args: list[Any] = field(factory=list)
    env: dict[str, Any] = field(factory=dict)
    host_config: dict[str, Any] = field(factory=dict)
    pull: str = "if-missing"
    docker_host: str | None = None
    docker: str | None = None
    timeout: Duration | None = None
    jinja: bool = True
    vars: dict[str, Any] = field(factory=dict)


# --------------------------------------------------------------------------- image references
_PATH_PART = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
                     r"(?::[0-9]{1,5})?")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")


@define(frozen=True)
class ImageRef:
    """``[registry[:port]/]path[:tag][@digest]``; the tag defaults to ``latest`` when there is no digest."""

    name: str
    tag: str | None
    digest: str | None

    @property
    def reference(self) -> str:
        """The full reference handed to the engine."""
        if self.digest:
            return f"{self.name}@{self.digest}"
        return f"{self.name}:{self.tag or 'latest'}"

    @property
    def pull_tag(self) -> str:
        """What the pull API takes as ``tag``: the digest if there is one, else the tag."""
        return self.digest or self.tag or "latest"


def parse_image(text: str) -> ImageRef:
    """Split an image reference; raises ValueError saying what is wrong with it.

    Unlike lava, which split on every ``:``, a registry with a port
    (``registry.example:5000/team/app:1.2``) is accepted.
    """
    if not text or text != text.strip():
        msg = "expected an image reference like 'repository[:tag]', got " + repr(text)
        raise ValueError(msg)
    rest, _, digest = text.partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        msg = f"bad digest {digest!r} in image {text!r} (expected 'sha256:<hex>')"
        raise ValueError(msg)
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG.fullmatch(tag):
            msg = f"bad tag {tag!r} in image {text!r}"
            raise ValueError(msg)
    parts = rest.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        if not _DOMAIN.fullmatch(first):
            msg = f"bad registry {first!r} in image {text!r}"
            raise ValueError(msg)
        parts = parts[1:]
    for part in parts:
        if not _PATH_PART.fullmatch(part):
            msg = (f"bad repository name {part!r} in image {text!r} "
                   "(lower-case letters, digits and single separators . _ - only)")
            raise ValueError(msg)
    return ImageRef(name=rest, tag=tag, digest=digest or None)


def image_source(job: Job, params: DockerParams) -> tuple[str, Any]:
    """Where the image comes from: ``parameters.image`` wins over the payload."""
    if params.image is not None:
        return "$.parameters.image", params.image
    return "$.payload", job.payload


# --------------------------------------------------------------------------- validation
def check_params(job: Job, params: DockerParams) -> list[str]:
    """Every problem with a docker job's payload and parameters, as ``$.path: message`` lines."""
    problems: list[str] = []
    where, image = image_source(job, params)
    if not isinstance(image, str):
        problems.append(f"{where}: docker needs an image reference like 'repository[:tag]' as its payload "
                        f"or in parameters.image, got {image!r}")
    else:
        try:
            parse_image(image)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    if isinstance(params.command, list):
        for index, item in enumerate(params.command):
            if not isinstance(item, str | int | float) or isinstance(item, bool):
                problems.append(f"$.parameters.command[{index}]: expected a string or a number, got {item!r}")
    elif isinstance(params.command, str) and not params.command.strip():
        problems.append("$.parameters.command: empty command (leave it out to run the image's default command)")
    if params.pull not in PULL_POLICIES:
        problems.append(f"$.parameters.pull: expected one of {', '.join(PULL_POLICIES)}, got {params.pull!r}")
    problems += [f"$.parameters.host_config.{key}: not an allowed host_config key "
                 f"(allowed: {', '.join(sorted(HOST_CONFIG_KEYS))})"
                 for key in sorted(set(params.host_config) - HOST_CONFIG_KEYS)]
    if params.docker is not None and not params.docker.strip():
        problems.append("$.parameters.docker: empty connection id (leave it out to use the realm's docker "
                        "connection, if any)")
    if params.docker_host is not None and not params.docker_host.strip():
        problems.append("$.parameters.docker_host: empty engine address")
    if params.timeout is not None and params.timeout <= 0:
        problems.append(f"$.parameters.timeout: must be more than 0, got {params.timeout.text!r}")
    return problems
