#!/usr/bin/env bash
# The container health check: exit 0 when this worker's GET PATH answers 200.
# PATH: /readyz (the default: can count hits now) or /healthz (the process
# serves: liveness, what an orchestrator that replaces unhealthy tasks asks).
# bash's own /dev/tcp, since a check runs often on every worker: a new Node process
# costs about half a second of CPU, and node:*-slim has no curl or wget.
path=${1:-/readyz}
exec 3<>"/dev/tcp/127.0.0.1/${PORT:-3000}" || exit 1
printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$path" >&3
read -r -t 2 status <&3 || exit 1
[[ $status == "HTTP/1.1 200 "* ]]
