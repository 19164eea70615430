#!/usr/bin/env bash
# The full test suite from a fresh machine: set-up, lint, then every test.
# Extra arguments go to pytest (e.g. scripts/test.sh -k cli -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "test: ruff" >&2
.venv/bin/ruff check .
# A real container engine (rootful Podman) for the docker job tests; without one they are skipped with the reason.
if [ -z "${DOCKER_HOST:-}" ]; then
  if DOCKER_HOST=$(bash scripts/infra/podman.sh); then export DOCKER_HOST; else unset DOCKER_HOST; echo "test: no container engine: docker job tests will be skipped" >&2; fi
fi
# Debian's cron (the crontab command) for the lavasched tests; without it they are skipped with the reason.
bash scripts/infra/cron.sh >/dev/null || echo "test: no cron: lavasched crontab tests will be skipped" >&2
echo "test: pytest" >&2
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
