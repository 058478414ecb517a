#!/bin/sh
# As the official redis image: "redis-server" with flags but no config file gets
# --protected-mode no, since the container's network is the access boundary.
set -e
if [ "$1" = "redis-server" ]; then
  case "$2" in
    ""|-*) shift; set -- redis-server --protected-mode no "$@" ;;
  esac
fi
exec "$@"
