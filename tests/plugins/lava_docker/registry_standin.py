"""A registry stand-in for the login tests: the Docker registry API's read side, Basic auth, one image.

Every request needs the right ``Authorization: Basic`` header, else 401 with
``WWW-Authenticate: Basic realm="lava-test"``. ``GET /v2/`` answers ``{}``; the
image ``lava/app:1`` (busybox from the host in one uncompressed layer) is served
as an OCI manifest and two blobs, so a pull after the login really fetches it.
Each request is recorded as ``(method, path, Authorization header)``.

Podman reaches it over plain HTTP on ``localhost:PORT`` (see scripts/infra/podman.sh).
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import platform
import tarfile
import threading
from pathlib import Path

PORT = 5055  # fixed: registries.conf.d declares localhost:5055 insecure (scripts/infra/podman.sh)
REPOSITORY = "lava/app"
TAG = "1"
_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _image() -> tuple[bytes, dict[str, bytes]]:
    """The manifest and blobs (by digest) of a one-layer image holding /bin/busybox and a few links."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for folder in ("bin", "tmp"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
        tar.add(Path("/bin/busybox").resolve(), arcname="bin/busybox")
        for name in ("sh", "echo", "cat"):
            info = tarfile.TarInfo(f"bin/{name}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
    layer = buffer.getvalue()
    config = json.dumps({"architecture": _ARCH, "os": "linux",
                         "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
                         "rootfs": {"type": "layers", "diff_ids": [_digest(layer)]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _digest(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": _digest(layer),
                    "size": len(layer)}]}).encode()
    return manifest, {_digest(layer): layer, _digest(config): config}


class Registry:
    """The stand-in, serving on 127.0.0.1:PORT in a thread while used as a context manager."""

    def __init__(self, user: str, password: str, port: int = PORT) -> None:
        self.expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.port = port
        self.requests: list[tuple[str, str, str | None]] = []
        self.manifest, self.blobs = _image()
        self._server: http.server.ThreadingHTTPServer | None = None

    @property
    def address(self) -> str:
        return f"localhost:{self.port}"

    def authorized(self, path_prefix: str) -> list[str]:
        """Methods of the requests under ``path_prefix`` that came with the right credentials."""
        return [m for m, p, auth in self.requests if p.startswith(path_prefix) and auth == self.expected]

    def __enter__(self) -> Registry:
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

            def _answer(self, *, body: bool) -> None:
                auth = self.headers.get("Authorization")
                registry.requests.append((self.command, self.path, auth))
                if auth != registry.expected:
                    self._send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                               "application/json", body, {"WWW-Authenticate": 'Basic realm="lava-test"'})
                elif self.path == "/v2/":
                    self._send(200, b"{}", "application/json", body)
                elif self.path in (f"/v2/{REPOSITORY}/manifests/{TAG}",
                                   f"/v2/{REPOSITORY}/manifests/{_digest(registry.manifest)}"):
                    self._send(200, registry.manifest, "application/vnd.oci.image.manifest.v1+json", body,
                               {"Docker-Content-Digest": _digest(registry.manifest)})
                elif self.path.startswith(f"/v2/{REPOSITORY}/blobs/") and \
                        self.path.rsplit("/", 1)[1] in registry.blobs:
                    digest = self.path.rsplit("/", 1)[1]
                    self._send(200, registry.blobs[digest], "application/octet-stream", body,
                               {"Docker-Content-Digest": digest})
                else:
                    self._send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}',
                               "application/json", body)

            def _send(self, status: int, data: bytes, content_type: str, body: bool,
                      headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Docker-Distribution-API-Version", "registry/2.0")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, name="registry-standin", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
