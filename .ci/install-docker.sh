#!/usr/bin/env bash
# Installs a current Docker Engine and Compose v2 on this Debian bookworm machine
# without touching its own packages: Debian trixie's docker.io, containerd and
# docker-compose are unpacked (dpkg -x) into $DOCKER_PREFIX; the parts they need
# from the host (runc, iptables, tini) come from bookworm, the host's own release.
#
# Why trixie and not sid: trixie is Debian's current stable release, so its
# versions (Engine 26.1, containerd 1.7, Compose 2.26) only move for security
# fixes, and a CI run does not change under us from one day to the next. sid
# moves daily and may come to need a newer libc than bookworm's.
# DEBIAN_DOCKER_SUITE=sid tries the newest.
#
# The Debian mirror is the one this machine's apt already uses; nothing else is
# downloaded. Idempotent. Needs root.
set -euo pipefail
prefix=${DOCKER_PREFIX:-/opt/hitcounter-docker}
suite=${DEBIAN_DOCKER_SUITE:-trixie}
say() { printf 'install-docker: %s\n' "$*"; }
die() { printf 'install-docker: error: %s\n' "$*" >&2; exit 1; }

# The host's own packages for what the engine runs beside it.
host_missing=()
command -v runc >/dev/null || host_missing+=(runc)
command -v iptables >/dev/null || host_missing+=(iptables)
command -v tini >/dev/null || host_missing+=(tini)
if [ ${#host_missing[@]} -gt 0 ]; then
  say "installing ${host_missing[*]} from the host's release"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${host_missing[@]}"
fi

if [ -x "$prefix/usr/sbin/dockerd" ] && [ -x "$prefix/usr/libexec/docker/cli-plugins/docker-compose" ] \
  && [ "$(cat "$prefix/suite" 2>/dev/null)" = "$suite" ]; then
  say "present in $prefix ($suite)"
else
  # The mirror this machine's apt uses, read from its sources (deb822 or one-line form).
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb / { print ($2 ~ /^\[/ ? $3 : $2); exit }' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$mirror" ] || die "found no Debian mirror in this machine's apt sources"

  # A separate apt state, so the host's package lists stay as they are. The
  # machine's clock may be past a release file's Valid-Until.
  work=$(mktemp -d /tmp/hitcounter-apt.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" >"$work/sources.list"
  apt_opts=(-o "Dir::State=$work" -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work"
    -o "Dir::Cache::Archives=$work/archives" -o "Dir::Etc::SourceList=$work/sources.list"
    -o Dir::Etc::SourceParts=/dev/null -o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root -q)
  say "Debian $suite's docker.io, containerd and docker-compose into $prefix"
  apt-get "${apt_opts[@]}" update >/dev/null
  (cd "$work" && apt-get "${apt_opts[@]}" download docker.io containerd docker-compose >/dev/null)
  rm -rf "$prefix"
  mkdir -p "$prefix"
  for deb in "$work"/*.deb; do dpkg -x "$deb" "$prefix"; done
  echo "$suite" >"$prefix/suite"
fi
# docker.io's docker-init points at tini-static beside it; tini comes from the host.
ln -sfn /usr/bin/tini-static "$prefix/usr/bin/docker-init"

# The docker client on PATH finds Compose v2 as a CLI plugin in this system folder.
install -d /usr/local/lib/docker/cli-plugins
ln -sfn "$prefix/usr/libexec/docker/cli-plugins/docker-compose" /usr/local/lib/docker/cli-plugins/docker-compose
# A client, if the machine has none (this one ships 28.x on PATH).
command -v docker >/dev/null || [ ! -x "$prefix/usr/bin/docker" ] || ln -sfn "$prefix/usr/bin/docker" /usr/local/bin/docker
say "dockerd $("$prefix/usr/sbin/dockerd" --version | awk '{ print $3 }' | tr -d ,), compose $("$prefix/usr/libexec/docker/cli-plugins/docker-compose" version --short)"
