#!/usr/bin/env bash
# Is it really balancing? Brings the stack up with 3 workers (the README's demo
# command, detached), runs the balance check, scales to 5 live, checks again;
# prints the logs on failure and always tears the stack down. Our CI (.ci/run)
# runs it; the GitHub Actions workflow we ship (.github/workflows/balance-check.yml)
# checks strictly and during the scale instead (docs/balance-check.md).
set -euo pipefail
cd "$(dirname "$0")/.."
usage() {
  cat <<'USAGE'
usage: scripts/balance-check.sh [--help]

Builds and starts the stack with 3 workers, checks the balance, scales to 5, checks again,
then removes the stack and its volume. Needs Docker with Compose and `npm ci && npm run build:tools`.
Environment: HTTP_PORT (default 8080), COMPOSE_PROJECT_NAME (default hitcounter-check).
USAGE
}
case "${1:-}" in
  "") ;;
  -h|--help) usage; exit 0 ;;
  *) echo "balance-check: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
esac

export HTTP_PORT=${HTTP_PORT:-8080}
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-hitcounter-check}
url="http://127.0.0.1:$HTTP_PORT"
compose() { bash scripts/compose.sh "$@"; }
say() { printf '\nbalance-check: %s\n' "$*"; }

finish() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    say "FAILED; the stack's state and last log lines:"
    compose ps || true
    compose logs --tail 40 || true
  fi
  compose down --volumes --remove-orphans --timeout 5 >/dev/null 2>&1 || true
  exit "$status"
}
trap finish EXIT

say "up with 3 workers"
# --wait: returns once every container is healthy (nginx included), or fails.
compose up -d --build --wait --scale worker=3

say "check with 3 workers"
node dist/host/tools/check.js --url "$url" --workers 3 --hits 300

say "scale to 5 workers, live"
compose up -d --wait --no-recreate --scale worker=5
# nginx re-resolves "apps" every second: the check waits until all 5 serve.
node dist/host/tools/check.js --url "$url" --workers 5 --hits 500 --settle 10
