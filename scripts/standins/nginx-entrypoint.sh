#!/bin/sh
# As the official nginx image's entrypoint: when the command is nginx, first run
# each executable *.sh in /docker-entrypoint.d/, in order.
set -e
if [ "$1" = nginx ]; then
  for script in /docker-entrypoint.d/*.sh; do
    if [ -x "$script" ]; then "$script"; fi
  done
fi
exec "$@"
