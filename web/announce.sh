#!/bin/sh
# One line in the foreground `docker compose up` that says where the demo is.
echo "hitcounter: open ${DEMO_URL:-http://localhost:8080} (workers join as they start; each refresh is served by the next one)"
