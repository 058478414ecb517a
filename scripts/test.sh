#!/usr/bin/env bash
# The whole test suite on any machine with a Docker engine (>= 25, with Compose
# v2): builds tests/Dockerfile (Node, redis-server, Chromium, libfaketime, the
# linters, the Docker CLI) and runs `npm ci && npm test` in it, on this
# checkout, against this machine's engine. See docs/tests.md.
#   bash scripts/test.sh                  every test
#   bash scripts/test.sh npm run test:unit   any other command, in the same place
# The checkout and /tmp are mounted at the same paths inside, so the paths the
# tests give the engine (compose files, bind mounts) mean the same to it; the
# container shares the host's network, so the stacks' ports on 127.0.0.1 are
# the tests' own. It runs as you, so what it writes (node_modules, dist) is yours.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
image=${TEST_IMAGE:-hitcounter-test:latest}
socket=${DOCKER_SOCKET:-/var/run/docker.sock}

die() { printf 'test: error: %s\n' "$*" >&2; exit 1; }
docker info >/dev/null 2>&1 || die "no Docker engine answers (start it; the suite needs Docker Engine >= 25 with Compose v2)"
[ -S "$socket" ] || die "no Docker socket at $socket (set DOCKER_SOCKET)"

printf 'test: building %s (tests/Dockerfile)\n' "$image" >&2
docker build --quiet -t "$image" -f "$root/tests/Dockerfile" "$root/tests" >/dev/null

[ $# -gt 0 ] || set -- sh -c 'npm ci --no-audit --no-fund && npm test'
uid=$(id -u)
gid=$(id -g)
# The engine's socket belongs to its group (root's on Docker Desktop): join it.
socket_group=$(stat -c %g "$socket" 2>/dev/null || stat -f %g "$socket")
# Passed on when set: what CI and the scripts read.
pass=()
for name in CI HTTP_PORT COMPOSE_PROJECT_NAME COMPOSE_FILE REGISTRY TAG LOG_LEVEL; do
  [ -z "${!name+x}" ] || pass+=(-e "$name")
done
tty=()
[ -t 0 ] && [ -t 1 ] && tty=(-t)
exec docker run --rm -i "${tty[@]}" --init --network host \
  --user "$uid:$gid" --group-add "$socket_group" -e HOME="/tmp/hitcounter-test-home-$uid" \
  -v "$socket:/var/run/docker.sock" -v "$root:$root" -v /tmp:/tmp -w "$root" \
  "${pass[@]}" "$image" "$@"
