#!/bin/sh
# Makes the Docker secrets deploy/swarm/hitcounter.yml reads, once, on a
# manager, before the first deploy: each a random password (32 letters and
# digits), never written anywhere but the swarm's encrypted store. An existing
# secret is kept (a secret cannot change while a service uses it).
#   sh deploy/swarm/make-secrets.sh
set -eu
for name in redis-worker redis-ha; do
  if docker secret inspect "$name" >/dev/null 2>&1; then
    echo "make-secrets: $name exists, kept"
    continue
  fi
  LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 | docker secret create "$name" - >/dev/null
  echo "make-secrets: $name made"
done
