#!/usr/bin/env bash
# The demo on an embedded local realm: load sample jobs, dispatch them, run a worker
# until the queue is empty, then print the events table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export LAVA_REALM=${LAVA_REALM:-$PWD/.lava-demo}
lava=.venv/bin/lava
rm -rf "$LAVA_REALM"
set -x
$lava realm init --name demo
$lava job put docs/examples/demo/jobs.yaml
$lava dispatch demo/hello -g who=lava
$lava dispatch demo/hello -g who=everyone -p vars.mood=cheerful
$lava dispatch demo/flaky
$lava dispatch demo/broken
$lava dispatch demo/off
$lava --log-level warning worker run --worker demo --drain
$lava events
{ set +x; } 2>/dev/null
echo
echo "Output of one demo/hello run:"
run=$($lava events --job demo/hello --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)[-1]["run_id"])')
cat "$LAVA_REALM/outputs/demo/hello/$run/stdout"
echo "The realm is in $LAVA_REALM; try: LAVA_REALM=$LAVA_REALM $lava events --json"
