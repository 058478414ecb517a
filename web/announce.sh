#!/bin/sh
# One line in the foreground `docker compose up` that says where the demo is,
# printed once a hit can be answered (a worker is ready behind nginx), so the
# first click never meets "no worker can take this hit". nginx starts after
# this script: the wait runs beside it.
(
  until curl -fsS -o /dev/null --max-time 2 http://127.0.0.1/readyz 2>/dev/null; do sleep 0.2; done
  echo "hitcounter: open ${DEMO_URL:-http://localhost:8080} (workers join as they start; each refresh is served by the next one)"
) &
