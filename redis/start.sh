#!/bin/sh
# hitcounter-redis [redis-server options]: Redis with hitcounter's users
# (hitcounter-acl), the default user off; a replica (Swarm) logs in to its
# primary as ha. Stops, naming the secret, when one is missing.
set -eu
secrets=${SECRETS_DIR:-/run/secrets}
hitcounter-acl redis >/tmp/users.acl
{
  echo "aclfile /tmp/users.acl"
  if [ -s "$secrets/redis-ha" ]; then
    echo "masteruser ha"
    echo "masterauth $(cat "$secrets/redis-ha")"
  fi
} >/tmp/redis.conf
chmod 0600 /tmp/users.acl /tmp/redis.conf
# The image's own entrypoint: as the official one, it drops root for user redis.
[ "$(id -u)" != 0 ] || chown redis /tmp/users.acl /tmp/redis.conf
exec docker-entrypoint.sh redis-server /tmp/redis.conf --protected-mode no "$@"
