"""lava-docker: the docker job type, one container per run on a Docker-API engine (Docker or Podman)."""
