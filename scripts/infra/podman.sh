#!/usr/bin/env bash
# A Docker-compatible container engine for the docker job type's tests: rootful Podman
# serving the Docker API on a unix socket, plus the offline image lava-test/busybox:latest.
#
#   export DOCKER_HOST=$(bash scripts/infra/podman.sh)
#
# Prints only the engine address (unix:///…/podman.sock) on stdout; progress and errors go to
# stderr. Exits non-zero, with the reason on stderr, when the engine cannot be installed or
# started. Idempotent: a second run finds everything in place and returns in well under a second.
# Assumes root on Debian 12. LAVA_PODMAN_DIR (default /tmp/lava-podman) holds the socket, the
# service's log and pid file. The service keeps running after this script exits.
# The host fixes are the ones recorded in infra-notes.md (section 4) for this kind of machine.
#
# It also declares the test registry address localhost:5055 (and 127.0.0.1:5055) insecure,
# i.e. plain HTTP, in /etc/containers/registries.conf.d/50-lava-test-registry.conf: the
# docker job's registry-login tests run a small registry stand-in there (a fixed port,
# because registries.conf names registries by address). Podman reads that configuration
# once, when the service starts, so the service is restarted when the file was just written.
# Only pulls honour the file: Podman 4.3's /auth endpoint forces TLS for every address
# except localhost[:port], which it tries over HTTPS then HTTP; so the tests log in to
# localhost:5055 (see docs/jobtypes/docker.md).
set -euo pipefail

WORK=${LAVA_PODMAN_DIR:-/tmp/lava-podman}
SOCK="$WORK/podman.sock"
IMAGE=lava-test/busybox:latest
CONF=/etc/containers/containers.conf
TEST_REGISTRY_PORT=5055
REGISTRIES_CONF=/etc/containers/registries.conf.d/50-lava-test-registry.conf

say() { echo "podman.sh: $*" >&2; }
fail() { say "$*"; exit 1; }

answers() { curl -sf --max-time 2 --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1; }
has_image() { curl -sf --max-time 5 --unix-socket "$SOCK" "http://d/v1.41/images/$IMAGE/json" >/dev/null 2>&1; }

mkdir -p "$WORK"
# Two callers at once (two test runs) must not both install or start a service.
exec 9>"$WORK/lock"
flock -w 300 9 || fail "another podman.sh has held $WORK/lock for 5 minutes"

# --- the test registry stand-in's address, declared plain HTTP (before the warm path: a
# service already running without it must be restarted below).
registries_text="# Written by lava's scripts/infra/podman.sh: the registry stand-in of the docker job tests.
[[registry]]
location = \"localhost:$TEST_REGISTRY_PORT\"
insecure = true

[[registry]]
location = \"127.0.0.1:$TEST_REGISTRY_PORT\"
insecure = true"
registries_changed=0
if [ "$(cat "$REGISTRIES_CONF" 2>/dev/null || true)" != "$registries_text" ]; then
  [ "$(id -u)" = 0 ] || fail "needs root to write $REGISTRIES_CONF (running as $(id -un))"
  mkdir -p "$(dirname "$REGISTRIES_CONF")"
  printf '%s\n' "$registries_text" >"$REGISTRIES_CONF"
  say "declared localhost:$TEST_REGISTRY_PORT and 127.0.0.1:$TEST_REGISTRY_PORT insecure (plain HTTP) in $REGISTRIES_CONF"
  registries_changed=1
fi

# Warm path: the service answers, already has the image and read the final registries file.
if [ "$registries_changed" = 0 ] && command -v curl >/dev/null && answers && has_image; then
  say "engine already running at unix://$SOCK"
  echo "unix://$SOCK"
  exit 0
fi

[ "$(id -u)" = 0 ] || fail "needs root to install and start rootful podman (running as $(id -un))"
command -v apt-get >/dev/null || fail "needs apt-get (Debian) to install podman"

# --- packages: podman, busybox-static (for the offline image), curl (for the readiness check)
missing=()
command -v podman >/dev/null || missing+=(podman)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' || missing+=(busybox-static)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  log="$WORK/apt.log"
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    tail -20 "$log" >&2
    fail "apt-get install ${missing[*]} failed (log: $log)"
  fi
fi

# --- host fix 1: crun refuses hybrid cgroups while the v2 hierarchy still lists controllers
# (hugetlb here). Mounting each listed controller as v1 empties that list.
for c in $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null || true); do
  mkdir -p "/sys/fs/cgroup/$c"
  mountpoint -q "/sys/fs/cgroup/$c" || mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" \
    || fail "cannot mount the $c cgroup controller as v1 (crun needs an empty cgroup v2 controller list)"
done
left=$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null || true)
[ -z "$left" ] || fail "cgroup v2 still lists controllers ($left); crun will refuse to start containers"

# --- host fix 2: podman's default container rlimits (1048576) exceed this sandbox's hard limits.
# The Docker SDK passes no ulimits, so these defaults are what every container gets.
conf_changed=0
if ! grep -qs '^[[:space:]]*default_ulimits' "$CONF"; then
  cap() { if [ "$1" = unlimited ] || [ "$1" -gt 8192 ]; then echo 8192; else echo "$1"; fi; }
  nofile=$(cap "$(ulimit -Hn)"); nproc=$(cap "$(ulimit -Hu)")
  line="default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]"
  mkdir -p "$(dirname "$CONF")"
  if grep -qs '^\[containers\]' "$CONF"; then
    sed -i "/^\[containers\]/a $line" "$CONF"
  else
    printf '[containers]\n%s\n' "$line" >>"$CONF"
  fi
  say "set $line in $CONF"
  conf_changed=1
fi

# --- the offline image: busybox-static in an otherwise empty root file system
if ! podman image exists "$IMAGE"; then
  say "building $IMAGE from busybox-static"
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/fs"/{bin,etc,tmp,proc,sys,dev}
  cp /bin/busybox "$root/fs/bin/busybox"
  for a in sh echo sleep cat env ls id true false printf wc date wget pwd touch mkdir rm test; do
    ln -sf busybox "$root/fs/bin/$a"
  done
  echo 'root:x:0:0:root:/:/bin/sh' >"$root/fs/etc/passwd"
  echo 'root:x:0:' >"$root/fs/etc/group"
  chmod 1777 "$root/fs/tmp"
  tar -C "$root/fs" -cf "$root/rootfs.tar" .
  podman import -q --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' "$root/rootfs.tar" "$IMAGE" >/dev/null \
    || fail "podman import of $IMAGE failed"
fi

# --- the Docker-API service (started after containers.conf and the registries file are final:
# it reads them once)
pidfile="$WORK/service.pid"
if [ "$conf_changed" = 1 ] || [ "$registries_changed" = 1 ]; then
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    say "restarting the service to apply the new configuration"
    kill "$(cat "$pidfile")" 2>/dev/null || true
    for _ in $(seq 50); do answers || break; sleep 0.1; done
  elif answers; then
    say "warning: a service not started by this script answers on $SOCK; restart it to apply the new configuration"
  fi
fi
if ! answers; then
  rm -f "$SOCK"
  # Detached (own session; no inherited stdout or lock fd) so $(…) callers and later runs never wait for it.
  setsid podman system service --time=0 "unix://$SOCK" </dev/null >"$WORK/service.log" 2>&1 9>&- &
  echo $! >"$pidfile"
  for _ in $(seq 100); do answers && break; sleep 0.1; done
  answers || { tail -20 "$WORK/service.log" >&2; fail "podman system service did not answer on $SOCK within 10 s"; }
  say "engine started at unix://$SOCK (pid $(cat "$pidfile"), log $WORK/service.log)"
fi
has_image || fail "the engine at unix://$SOCK does not list $IMAGE"
echo "unix://$SOCK"
