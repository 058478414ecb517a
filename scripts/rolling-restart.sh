#!/usr/bin/env bash
# Replaces every worker container by a new one (new image, new settings), one at a
# time, so the number serving never drops: start one more worker, wait until it is
# healthy, then stop one old worker (it drains; nginx retries on the others).
# `docker compose up -d --force-recreate worker` would stop them all at once.
# Usage: scripts/rolling-restart.sh [-p project]
set -euo pipefail
cd "$(dirname "$0")/.."
compose=(docker-compose)
command -v docker-compose >/dev/null || compose=(docker compose)
compose+=("$@")
say() { printf 'rolling-restart: %s\n' "$*"; }

running_workers() { "${compose[@]}" ps -q worker | sort; }

mapfile -t old < <(running_workers)
[ ${#old[@]} -gt 0 ] || { say "no worker is running" >&2; exit 1; }
say "replacing ${#old[@]} workers"

for id in "${old[@]}"; do
  mapfile -t before < <(running_workers)
  "${compose[@]}" up -d --no-deps --no-recreate --scale "worker=$(( ${#before[@]} + 1 ))" worker 2>/dev/null
  new=$(comm -13 <(printf '%s\n' "${before[@]}") <(running_workers) | head -1)
  [ -n "$new" ] || { say "no new worker was started" >&2; exit 1; }
  for _ in $(seq 120); do
    [ "$(docker inspect --format '{{.State.Health.Status}}' "$new")" = healthy ] && break
    sleep 0.5
  done
  [ "$(docker inspect --format '{{.State.Health.Status}}' "$new")" = healthy ] \
    || { say "new worker ${new:0:12} did not become healthy" >&2; exit 1; }
  docker stop --time 15 "$id" >/dev/null
  docker rm "$id" >/dev/null
  say "${id:0:12} -> ${new:0:12}"
done
