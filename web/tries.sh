#!/bin/sh
# nginx's tries against the workers, from the one figure a deployment sets: the
# workers' budget for a hit, REDIS_TIMEOUT_MS (ms), given to web and workers
# alike. Run by the image's entrypoint (/docker-entrypoint.d/) before nginx
# starts; writes FILE (default /tmp/nginx-tries.conf, which /etc/nginx/tries.conf
# links to: the root may be read-only). tests/deploy/timing.test.ts runs it over
# the budgets it accepts and checks the rule below against the id window.
# - connect 250 ms: a worker that does not accept a connection in that time is gone;
# - read: the budget and a 500 ms margin, so nginx never gives up on a live
#   worker that may still count the hit;
# - pass: the time to start the tries of one pass over the workers, what leaves
#   a hit's two passes (nginx.conf's @again), each with its last try's read,
#   within 10 s: every hit is answered within 10 s, a node lost or not. At
#   least 1 s: a pass can skip four workers that are gone (a connect each).
set -eu

answer_ms=10000
connect_ms=250
margin_ms=500
min_pass_ms=1000
max_budget_ms=$((answer_ms / 2 - margin_ms - min_pass_ms))

budget=${REDIS_TIMEOUT_MS-}
case $budget in
  '' | *[!0-9]* | 0*)
    echo "hitcounter: REDIS_TIMEOUT_MS must be the workers' budget for a hit in milliseconds, 50 to $max_budget_ms (got '$budget')" >&2
    exit 1 ;;
esac
if [ "$budget" -lt 50 ] || [ "$budget" -gt "$max_budget_ms" ]; then
  echo "hitcounter: REDIS_TIMEOUT_MS must be 50 to $max_budget_ms ms, so that nginx answers every hit within $((answer_ms / 1000)) s (got $budget)" >&2
  exit 1
fi
read_ms=$((budget + margin_ms))
pass_ms=$((answer_ms / 2 - read_ms))

cat >"${1:-/tmp/nginx-tries.conf}" <<CONF
# Written by web/tries.sh from REDIS_TIMEOUT_MS=$budget.
proxy_connect_timeout ${connect_ms}ms;
proxy_read_timeout ${read_ms}ms;
proxy_next_upstream_timeout ${pass_ms}ms;
CONF
