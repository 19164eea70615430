#!/usr/bin/env bash
# The full test suite from a fresh machine: set-up, lint, then every test.
# Extra arguments go to pytest (e.g. scripts/test.sh -k cli -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "test: ruff" >&2
.venv/bin/ruff check .
echo "test: pytest" >&2
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
