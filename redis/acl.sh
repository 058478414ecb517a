#!/bin/sh
# hitcounter-acl redis|sentinel: prints the users of hitcounter's Redis (an ACL
# file) or of its sentinels (sentinel.conf lines), the one place that says who
# may do what (docs/resilience.md#hardening). Each password is a secret file,
# /run/secrets/redis-<user> (SECRETS_DIR), named in the error when it is missing.
# The default user is off: a client without a password gets NOAUTH.
set -eu
secrets=${SECRETS_DIR:-/run/secrets}

has() { [ -s "$secrets/redis-$1" ]; }
need() {
  has "$1" && return
  echo "hitcounter-acl: the secret redis-$1 is missing or empty ($secrets/redis-$1)" >&2
  exit 2
}
# The password's SHA-256, as an ACL rule (#<hash>): the ACL holds no plaintext.
hash() { printf '#%s' "$(printf %s "$(cat "$secrets/redis-$1")" | sha256sum | cut -d' ' -f1)"; }

# The workers: their keys only, and only the commands their code sends
# (worker/src: count-hits.lua, announce.lua, the live view's reads and writes,
# TIME, WAIT, the ready check's INFO, the client library's CLIENT SETINFO);
# tests/worker/acl.test.ts runs the worker as this user. No FLUSHALL, CONFIG,
# KEYS, DEBUG, MODULE or SCRIPT.
WORKER_KEYS='~hits ~hits:* ~workers:*'
WORKER_COMMANDS='+evalsha +eval +time +wait +ping +info +client|setinfo +quit +multi +exec +get +hget +hmget +hgetall +hkeys +hset +hdel +hincrby +incrby +expire +lpush +ltrim +lrange +zadd +zrem +zscore +zrange +zrangebyscore +zremrangebyscore'
# redis_exporter: what it reads of a server (INFO, CONFIG GET, the slow and
# latency logs, clients; it names its connection), no key and nothing that writes.
EXPORTER_COMMANDS='+ping +info +client|setname +config|get +client|list +client|info +latency|latest +latency|histogram +slowlog|get +slowlog|len +select +dbsize +cluster|info +memory|stats +module|list'
# Sentinels and replicas (Swarm): what Redis's docs list for a sentinel's user
# and a replica's, no key.
HA_COMMANDS='+psync +replconf +ping +info +role +multi +exec +slaveof +replicaof +subscribe +publish +config|rewrite +client|setname +client|kill +script|kill'

redis_users() {
  # Off, so no client can log in as it; but Redis replays its append-only file
  # as this user and checks each MULTI/EXEC of it against its rules (redis/redis
  # #14541): with none, a restart would drop every hit counted. So it keeps them all.
  echo "user default off ~* &* +@all"
  echo "user worker on $(hash worker) resetchannels $WORKER_KEYS -@all $WORKER_COMMANDS"
  ! has exporter || echo "user exporter on $(hash exporter) resetchannels -@all $EXPORTER_COMMANDS"
  ! has ha || echo "user ha on $(hash ha) &* -@all $HA_COMMANDS"
  ! has admin || echo "user admin on $(hash admin) ~* &* +@all"
}

# A sentinel's clients: the workers ask it for the primary and hear of failovers;
# the other sentinels and redis-ha.sh (as ha) may do all a sentinel does.
sentinel_users() {
  echo "user default off"
  echo "user worker on $(hash worker) &* -@all +ping +subscribe +sentinel|get-master-addr-by-name +sentinel|sentinels +sentinel|replicas +sentinel|slaves"
  echo "user ha on $(hash ha) &* +@all"
}

case "${1:-}" in
  redis) need worker; redis_users ;;
  sentinel) need worker; need ha; sentinel_users ;;
  *) echo "usage: hitcounter-acl redis|sentinel" >&2; exit 2 ;;
esac
