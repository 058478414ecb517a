#!/bin/sh
# hitcounter-cli [redis-cli arguments]: redis-cli inside a Redis or sentinel
# container, logged in as the most trusted user whose secret it holds (admin on
# Compose, ha on Swarm), e.g. docker compose exec redis hitcounter-cli INFO.
set -eu
secrets=${SECRETS_DIR:-/run/secrets}
for user in admin ha; do
  if [ -s "$secrets/redis-$user" ]; then
    REDISCLI_AUTH=$(cat "$secrets/redis-$user") exec redis-cli --user "$user" "$@"
  fi
done
echo "hitcounter-cli: no secret redis-admin or redis-ha in $secrets" >&2
exit 2
