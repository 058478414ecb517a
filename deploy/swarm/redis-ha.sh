#!/bin/sh
# Starts one task of the Swarm stack's Redis (deploy/swarm/hitcounter.yml):
#   redis-ha.sh server    a Redis: the primary, or a replica of it
#   redis-ha.sh sentinel  a Redis Sentinel watching the primary
# Which one is the primary is found at start from the sentinels, else from the
# other Redis tasks. A task never starts as a second primary: one that comes back
# (on a node with an old or an empty volume) joins the primary the sentinels
# follow and copies its data. Only when nothing anywhere is a primary (the stack's
# first start) does the task in slot 1 become it.
# Every Redis and sentinel has hitcounter's users (hitcounter-acl, in the
# image) and no default one: this script, the sentinels among themselves, and a
# replica to its primary log in as ha; the workers as worker (Docker secrets
# redis-ha and redis-worker, in /run/secrets).
# Environment: PRIMARY_NAME (hitcounter), TASK_SLOT (Swarm's {{.Task.Slot}}).
set -eu
role=${1:?usage: redis-ha.sh server|sentinel}
name=${PRIMARY_NAME:-hitcounter}
me=$(hostname -i | awk '{ print $1 }')

say() { echo "redis-ha ($role $me): $*"; }
[ -s /run/secrets/redis-ha ] || { echo "redis-ha: the secret redis-ha is missing (/run/secrets/redis-ha)" >&2; exit 2; }
ha_password=$(cat /run/secrets/redis-ha)
cli() { host=$1 port=$2; shift 2; REDISCLI_AUTH=$ha_password timeout 2 redis-cli --user ha --raw -h "$host" -p "$port" "$@" 2>/dev/null || true; }
# Every task's own address behind a service name (the services are dnsrr).
tasks() { getent ahostsv4 "$1" | awk '{ print $1 }' | sort -u; }
is_primary() { [ "$(cli "$1" 6379 ROLE | head -1)" = master ]; }

# The primary the sentinels (but this one) follow, as one of them answers.
followed_primary() {
  for sentinel in $(tasks sentinel); do
    [ "$sentinel" != "$me" ] || continue
    primary=$(cli "$sentinel" 26379 SENTINEL get-master-addr-by-name "$name" | head -1)
    if [ -n "$primary" ]; then echo "$primary"; return; fi
  done
}

# A Redis task that runs as a primary now.
running_primary() {
  for peer in $(tasks redis); do
    if [ "$peer" != "$me" ] && is_primary "$peer"; then echo "$peer"; return; fi
  done
}

# A primary acts only with a replica that answered within the last 2 s, so it
# never acknowledges what only it holds; diskless full syncs start at once.
server() {
  set -- --protected-mode no --appendonly yes --lazyfree-lazy-expire yes --replica-announce-ip "$me" \
    --min-replicas-to-write 1 --min-replicas-max-lag 2 --repl-diskless-sync-delay 0
  while :; do
    primary=$(followed_primary)
    [ -n "$primary" ] || primary=$(running_primary)
    if [ -n "$primary" ] && [ "$primary" != "$me" ]; then
      if is_primary "$primary"; then
        say "a replica of $primary"
        exec hitcounter-redis "$@" --replicaof "$primary" 6379
      fi
      say "the sentinels follow $primary, which does not answer as a primary (a failover is under way); asking again"
    elif [ -n "$primary" ]; then
      say "the sentinels follow this address: the primary, again"
      exec hitcounter-redis "$@"
    elif [ "${TASK_SLOT:-}" = 1 ]; then
      say "no primary anywhere (the stack's first start): this task, slot 1, is it"
      exec hitcounter-redis "$@"
    else
      say "no primary yet; waiting for slot 1 or the sentinels"
    fi
    sleep 1
  done
}

# Quorum 2 of 3: one node lost still leaves a majority to agree on a failover.
# The primary is taken for down after 1 s without an answer.
sentinel() {
  while :; do
    primary=$(followed_primary)
    [ -n "$primary" ] || primary=$(running_primary)
    [ -z "$primary" ] || break
    say "no primary yet; waiting"
    sleep 1
  done
  # A sentinel never forgets another, and a failover needs the votes of a
  # majority of all it knows: the sentinel this task replaces (its node drained,
  # or lost and back) would count against that majority for ever. So each running
  # sentinel, one at a time, forgets what it knew and finds the live sentinels
  # and replicas again (in a second or two) before the next one does.
  for other in $(tasks sentinel); do
    [ "$other" != "$me" ] || continue
    say "sentinel $other: forget the gone, find the live again"
    cli "$other" 26379 SENTINEL RESET "$name" >/dev/null
    sleep 3
  done
  say "watching the primary $primary"
  umask 0077
  {
    cat <<CONF
port 26379
protected-mode no
sentinel announce-ip $me
sentinel monitor $name $primary 6379 2
sentinel down-after-milliseconds $name 1000
sentinel failover-timeout $name 5000
sentinel parallel-syncs $name 2
sentinel auth-user $name ha
sentinel auth-pass $name $ha_password
sentinel sentinel-user ha
sentinel sentinel-pass $ha_password
CONF
    hitcounter-acl sentinel
  } >/tmp/sentinel.conf
  exec redis-server /tmp/sentinel.conf --sentinel
}

case "$role" in
  server) server ;;
  sentinel) sentinel ;;
  *) echo "usage: redis-ha.sh server|sentinel" >&2; exit 2 ;;
esac
