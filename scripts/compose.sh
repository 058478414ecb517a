#!/usr/bin/env bash
# Runs Docker Compose for this project, choosing the command by one rule that the
# scripts, the tests and CI share: a stack that exists keeps the Compose that made
# it (its containers' com.docker.compose.version label), so the two are never mixed
# on one stack; a new stack gets `docker compose` (v2), or `docker-compose` (v1)
# where v2 is missing. Usage: scripts/compose.sh [compose options and command]
# (the project comes from -p/--project-name, $COMPOSE_PROJECT_NAME or this folder).
set -euo pipefail

project=${COMPOSE_PROJECT_NAME:-$(basename "$(cd "$(dirname "$0")/.." && pwd)")}
args=("$@")
for i in "${!args[@]}"; do
  case "${args[$i]}" in
    -p|--project-name) project=${args[$((i + 1))]:-$project} ;;
    --project-name=*) project=${args[$i]#*=} ;;
  esac
done

# Compose v2 keeps [a-z0-9_-] of a project name, v1 only [a-z0-9].
lower=$(printf '%s' "$project" | tr '[:upper:]' '[:lower:]')
made_by=$(docker ps -a --format '{{.Label "com.docker.compose.version"}}' \
  --filter "label=com.docker.compose.project=${lower//[^a-z0-9_-]/}" 2>/dev/null | head -1)
[ -n "$made_by" ] || made_by=$(docker ps -a --format '{{.Label "com.docker.compose.version"}}' \
  --filter "label=com.docker.compose.project=${lower//[^a-z0-9]/}" 2>/dev/null | head -1)

# What is installed: v2 as Docker's plugin (or a standalone v2 binary), v1 the old Python tool.
v1=() v2=()
docker compose version >/dev/null 2>&1 && v2=(docker compose)
if command -v docker-compose >/dev/null; then
  if [[ "$(docker-compose version --short 2>/dev/null)" == 1.* ]]; then v1=(docker-compose)
  elif [ ${#v2[@]} -eq 0 ]; then v2=(docker-compose)
  fi
fi

case "$made_by" in
  1.*) [ ${#v1[@]} -gt 0 ] || { echo "compose: stack '$project' was made by Compose $made_by (docker-compose), which is not installed" >&2; exit 127; }
       exec "${v1[@]}" "$@" ;;
  ?*) [ ${#v2[@]} -gt 0 ] || { echo "compose: stack '$project' was made by Compose $made_by ('docker compose'), which is not installed" >&2; exit 127; }
      exec "${v2[@]}" "$@" ;;
esac
[ ${#v2[@]} -gt 0 ] && exec "${v2[@]}" "$@"
[ ${#v1[@]} -gt 0 ] && exec "${v1[@]}" "$@"
echo "compose: neither 'docker compose' (v2) nor 'docker-compose' is installed" >&2
exit 127
