#!/usr/bin/env bash
# Creates .venv and installs lava-core, every plugin under plugins/ and the test tools.
# Idempotent: re-running only installs what changed. Needs python3 >= 3.11 and network access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: $PYTHON is $("$PYTHON" --version 2>&1); lava needs Python >= 3.11" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
plugins=()
for p in plugins/*/pyproject.toml; do plugins+=(-e "$(dirname "$p")"); done
plugins+=(-e triggers)  # lava-triggers: the trigger sources (s3trigger, dispatch helper)
echo "setup: installing lava-core and $(( ${#plugins[@]} / 2 )) plugin distribution(s) into .venv" >&2
if ! { .venv/bin/python -m pip install --quiet --upgrade pip 'setuptools>=68' wheel \
       && .venv/bin/python -m pip install --quiet -e '.[test]' "${plugins[@]}"; } >"$log" 2>&1; then
  grep -v 'is ignored: it is neither' "$log" | tail -30 >&2
  echo "setup: pip install failed" >&2
  exit 1
fi
echo "setup: done ($(.venv/bin/lava plugins --json | .venv/bin/python -c 'import json,sys; print(", ".join(sorted(t for i in json.load(sys.stdin) for t in i["job_types"])))') job types)" >&2
