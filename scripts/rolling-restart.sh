#!/usr/bin/env bash
# Replaces every worker container by a new one (new image, new settings), one at a
# time, so the number serving never drops: start one more worker, wait until it is
# healthy, then stop one old worker (it drains; nginx retries on the others).
# `docker compose up -d --force-recreate worker` would stop them all at once.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() {
  cat <<'USAGE'
usage: scripts/rolling-restart.sh [-p PROJECT] [--help]

Replaces the workers of a running stack one at a time, with no failed hit.
  -p, --project-name PROJECT   the compose project (default: $COMPOSE_PROJECT_NAME, else this folder's name)
  -h, --help                   this text
Uses the Compose that brought the stack up (scripts/compose.sh).
USAGE
}

project_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    -p|--project-name)
      [ $# -ge 2 ] || { echo "rolling-restart: $1 needs a project name" >&2; usage >&2; exit 2; }
      project_args=(-p "$2"); shift 2 ;;
    *) echo "rolling-restart: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
compose() { bash scripts/compose.sh "${project_args[@]}" "$@"; }
say() { printf 'rolling-restart: %s\n' "$*"; }
health() { docker inspect --format '{{.State.Health.Status}}' "$1"; }

running_workers() { compose ps -q worker | sort; }

mapfile -t old < <(running_workers)
[ ${#old[@]} -gt 0 ] || { say "no worker is running" >&2; exit 1; }
say "replacing ${#old[@]} workers"

for id in "${old[@]}"; do
  mapfile -t before < <(running_workers)
  compose up -d --no-deps --no-recreate --scale "worker=$(( ${#before[@]} + 1 ))" worker 2>/dev/null
  new=$(comm -13 <(printf '%s\n' "${before[@]}") <(running_workers) | head -1)
  [ -n "$new" ] || { say "no new worker was started" >&2; exit 1; }
  for _ in $(seq 120); do
    [ "$(health "$new")" = healthy ] && break
    sleep 0.5
  done
  [ "$(health "$new")" = healthy ] || { say "new worker ${new:0:12} did not become healthy" >&2; exit 1; }
  docker stop --time 15 "$id" >/dev/null
  docker rm "$id" >/dev/null
  say "${id:0:12} -> ${new:0:12}"
done
