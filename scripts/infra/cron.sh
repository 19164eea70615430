#!/usr/bin/env bash
# Debian's cron (Vixie cron with Debian patches) for the lavasched job type's tests: the `crontab`
# command that installs and lists crontabs, and the `cron` daemon binary lavasched inspects to find
# out whether CRON_TZ is honoured.
#
#   bash scripts/infra/cron.sh
#
# Installs the `cron` package only if it is missing (apt-get, --no-install-recommends: with
# recommends apt also pulls in an MTA). Progress and errors go to stderr; on success it prints the
# path of the crontab command on stdout. Exits non-zero, with the reason on stderr, when cron cannot
# be installed. Idempotent: when cron is there it returns at once without touching apt.
# Assumes root on Debian 12. It does not start the daemon: the tests only need `crontab` (see
# infra-notes.md section 5; start one with `cron -f &` to see entries actually fire).
# LAVA_CRON_DIR (default /tmp/lava-cron) holds the lock and apt's log.
set -euo pipefail

WORK=${LAVA_CRON_DIR:-/tmp/lava-cron}

say() { echo "cron.sh: $*" >&2; }
fail() { say "$*"; exit 1; }

installed() { command -v crontab >/dev/null && [ -x /usr/sbin/cron ]; }

if installed; then
  say "cron already installed ($(command -v crontab), /usr/sbin/cron)"
  command -v crontab
  exit 0
fi

mkdir -p "$WORK"
# Two callers at once (two test runs) must not both run apt-get.
exec 9>"$WORK/lock"
flock -w 300 9 || fail "another cron.sh has held $WORK/lock for 5 minutes"
if installed; then
  say "cron installed by another caller meanwhile"
  command -v crontab
  exit 0
fi

[ "$(id -u)" = 0 ] || fail "needs root to install the cron package (running as $(id -un))"
command -v apt-get >/dev/null || fail "needs apt-get (Debian) to install cron"

say "installing cron"
export DEBIAN_FRONTEND=noninteractive
log="$WORK/apt.log"
# The package lists may be missing or stale on a fresh machine: update only if the first try fails.
if ! apt-get install -y -qq --no-install-recommends cron >"$log" 2>&1; then
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends cron; } >>"$log" 2>&1; then
    tail -20 "$log" >&2
    fail "apt-get install cron failed (log: $log)"
  fi
fi
installed || fail "apt-get reported success but crontab or /usr/sbin/cron is missing (log: $log)"
say "installed $(dpkg-query -W -f='cron ${Version}' cron 2>/dev/null || echo cron)"
command -v crontab
