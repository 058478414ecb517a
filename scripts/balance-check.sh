#!/usr/bin/env bash
# Is it really balancing? Brings the stack up with 3 workers, runs the balance
# check, scales to 5 live, checks again; prints the logs on failure and always
# tears the stack down. The same commands run in our CI (.ci/run) and in the
# GitHub Actions workflow we ship (.github/workflows/balance-check.yml).
# Needs: Docker with compose, and `npm ci && npm run build:tools` done.
# Environment: HTTP_PORT (default 8080), COMPOSE_PROJECT_NAME (default hitcounter-check).
set -euo pipefail
cd "$(dirname "$0")/.."
compose=(docker-compose)
command -v docker-compose >/dev/null || compose=(docker compose)
export HTTP_PORT=${HTTP_PORT:-8080}
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-hitcounter-check}
url="http://127.0.0.1:$HTTP_PORT"
say() { printf '\nbalance-check: %s\n' "$*"; }

finish() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    say "FAILED; the stack's state and last log lines:"
    "${compose[@]}" ps || true
    "${compose[@]}" logs --tail 40 || true
  fi
  "${compose[@]}" down --volumes --remove-orphans --timeout 5 >/dev/null 2>&1 || true
  exit "$status"
}
trap finish EXIT

say "up with 3 workers"
"${compose[@]}" up -d --build --scale worker=3
for _ in $(seq 60); do curl -fsS -o /dev/null "$url/nginx-health" && break; sleep 1; done
curl -fsS -o /dev/null "$url/nginx-health" || { say "nginx did not answer at $url"; exit 1; }

say "check with 3 workers"
node dist/tools/check.js --url "$url" --workers 3 --hits 300

say "scale to 5 workers, live"
"${compose[@]}" up -d --no-recreate --scale worker=5
sleep 3 # nginx re-resolves "apps" every second; give the new workers time to listen

say "check with 5 workers"
node dist/tools/check.js --url "$url" --workers 5 --hits 500
