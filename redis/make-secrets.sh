#!/bin/sh
# hitcounter-make-secrets: on Compose, makes each Redis user's password once, at
# the first `docker compose up`, on the volume that Redis and each user's own
# service mount (docker-compose.yml); an existing one is kept. Swarm and
# Kubernetes bring theirs as secrets (docs/deploy.md).
set -eu
secrets=${SECRETS_DIR:-/run/secrets}
umask 0222
for user in worker exporter admin; do
  file=$secrets/redis-$user
  [ -s "$file" ] && continue
  # 32 random letters and digits: about 190 bits.
  LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 >"$file"
  echo "hitcounter-make-secrets: made redis-$user"
done
# redis_exporter reads its password from a JSON map whose key is its address
# with the user in it (redis://exporter@host:port).
if [ ! -s "$secrets/redis-exporter.json" ]; then
  address=$(echo "${EXPORTER_REDIS_ADDR:?}" | sed 's|://|://exporter@|')
  printf '{"%s":"%s"}\n' "$address" "$(cat "$secrets/redis-exporter")" >"$secrets/redis-exporter.json"
fi
