#!/usr/bin/env bash
# Runs Docker Compose v2 for this project: the `docker compose` plugin, or a
# standalone v2 `docker-compose` binary where the plugin is missing. Compose v1
# (the old Python docker-compose 1.x) is not supported: it is refused with a word.
# Usage: scripts/compose.sh [compose options and command]
set -euo pipefail

if docker compose version >/dev/null 2>&1; then
  exec docker compose "$@"
fi
if command -v docker-compose >/dev/null; then
  version=$(docker-compose version --short 2>/dev/null || true)
  case "$version" in
    2.* | v2.* | [3-9].*) exec docker-compose "$@" ;;
  esac
  echo "compose: docker-compose ${version:-of unknown version} is Compose v1, which hitcounter does not support; install Compose v2 (the docker-compose-plugin package)" >&2
  exit 127
fi
echo "compose: Docker Compose v2 is not installed ('docker compose' is missing); install the docker-compose-plugin package" >&2
exit 127
