#!/usr/bin/env bash
# Makes sure every base image our Dockerfiles and compose files name exists
# (docker-compose.yml, and the foreign stacks the balance check is tested on)
# locally. For a machine with no registry (air-gapped, or CI here): an image that
# is neither present nor pullable is replaced by a stand-in built from Debian sid
# packages and tagged with the official name, so the Dockerfiles and the compose
# file stay exactly what a user with Docker Hub runs.
#
# Idempotent: what exists is skipped. Needs root, docker and debootstrap.
# Environment:
#   DEBIAN_MIRROR   Debian mirror for debootstrap and the stand-ins' apt (default: the
#                   mirror this machine's apt uses, else debootstrap's own default)
#   HOST_CA_BUNDLE  CA bundle the stand-ins trust besides their own, so npm works
#                   behind a TLS-intercepting proxy (default: $NODE_EXTRA_CA_CERTS,
#                   else /etc/ssl/certs/ca-certificates.crt)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
standins="$root/scripts/standins"
mirror=${DEBIAN_MIRROR:-$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)}
ca_bundle=${HOST_CA_BUNDLE:-${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}}
base_image=hitcounter-standin/debian:sid
rootfs=""
trap '[ -z "$rootfs" ] || rm -rf "$rootfs" "$rootfs.log"' EXIT

say() { printf 'offline-images: %s\n' "$*"; }
die() { printf 'offline-images: error: %s\n' "$*" >&2; exit 1; }

docker info >/dev/null 2>&1 || die "no Docker engine answers (start dockerd, or see README: Troubleshooting)"

# The base images: those named by FROM lines (not our own build stages), and the
# image: of each compose service that is not built here (a built service's image:
# only names what the build produces).
base_images() {
  {
    awk 'toupper($1) == "FROM" { print $2 }' "$root"/web/Dockerfile "$root"/worker/Dockerfile "$root"/redis/Dockerfile "$root"/scripts/lab/node.Dockerfile
    awk '
      /^services:/ { in_services = 1; next }
      /^[^ #]/ { in_services = 0 }
      in_services && /^  [A-Za-z0-9_.-]+:/ { service = $1 }
      in_services && /^    build:/ { built[service] = 1 }
      in_services && /^    image:/ { image[service] = $2 }
      END { for (s in image) if (!built[s]) print image[s] }
    ' "$root"/docker-compose.yml "$root"/tests/e2e/stacks/compose.yml
  } | grep -v -e '^build$' -e '^\$' | sort -u
}

# The Debian sid root file system every stand-in starts from, made once.
ensure_base() {
  docker image inspect "$base_image" >/dev/null 2>&1 && return
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install -y debootstrap)"
  [ -r "$ca_bundle" ] || die "CA bundle $ca_bundle is not readable (set HOST_CA_BUNDLE)"
  rootfs=$(mktemp -d /tmp/hitcounter-sid.XXXXXX)
  say "debootstrap --variant=minbase sid ${mirror:-from its default mirror} (about a minute)"
  # debootstrap writes the mirror it used into the new system's apt sources.
  debootstrap --variant=minbase sid "$rootfs" ${mirror:+"$mirror"} >"$rootfs.log" 2>&1 \
    || die "debootstrap failed; last lines of $rootfs.log: $(tail -3 "$rootfs.log" | tr '\n' ' ')"
  # The host's trust store travels with the stand-ins, at a path of its own so that
  # an installed ca-certificates package does not overwrite it.
  install -D -m 0644 "$ca_bundle" "$rootfs/usr/local/share/hitcounter/host-ca-bundle.crt"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  say "importing $base_image"
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/hitcounter/host-ca-bundle.crt' \
    --change 'CMD ["bash"]' - "$base_image" >/dev/null
}

# A stand-in is labelled with a hash of its recipe, so a changed recipe is rebuilt.
recipe_hash() { cat "$standins/$1".* | sha256sum | cut -c1-16; }

build_standin() {
  local image=$1 recipe=$2
  ensure_base
  say "building stand-in $image from $recipe.Dockerfile"
  local log
  log=$(mktemp /tmp/hitcounter-standin.XXXXXX.log)
  docker build --build-arg "BASE=$base_image" --build-arg "TAG=${image#*:}" --label "hitcounter.standin.recipe=$(recipe_hash "$recipe")" \
    -f "$standins/$recipe.Dockerfile" -t "$image" "$standins" >"$log" 2>&1 \
    || die "building the stand-in for $image failed; last lines of $log: $(tail -5 "$log" | tr '\n' ' ')"
  rm -f "$log"
}

# Stand-ins to build, built at the same time once the list is known.
to_build=()
for image in $(base_images); do
  # A recipe is named after the image, without tag or Docker Hub account (prom/prometheus: prometheus).
  recipe=${image%%:*}
  recipe=${recipe##*/}
  # The swarm lab's node image starts from plain Debian sid: the stand-ins' own base is that.
  if [ "$image" = debian:sid ]; then
    if docker image inspect "$image" >/dev/null 2>&1; then say "$image: present"
    elif timeout 120 docker pull --quiet "$image" >/dev/null 2>&1; then say "$image: pulled"
    else ensure_base && docker tag "$base_image" "$image" && say "$image: stand-in ready"
    fi
    continue
  fi
  if docker image inspect "$image" >/dev/null 2>&1; then
    # An official image (stand-ins carry the host's CA bundle), or a stand-in of the current recipe.
    built_from=$(docker image inspect --format '{{index .Config.Labels "hitcounter.standin.recipe"}}' "$image")
    if ! docker image inspect --format '{{.Config.Env}}' "$image" | grep -q hitcounter/host-ca-bundle \
      || [ "$built_from" = "$(recipe_hash "$recipe")" ]; then
      say "$image: present"
      continue
    fi
    say "$image: a stand-in of an older recipe"
  elif timeout 120 docker pull --quiet "$image" >/dev/null 2>&1; then
    say "$image: pulled"
    continue
  fi
  case "$recipe" in
    node|nginx|redis|prometheus|redis_exporter|nginx-prometheus-exporter|haproxy) to_build+=("$image=$recipe") ;;
    *) die "$image is not present, cannot be pulled, and has no stand-in recipe in $standins" ;;
  esac
done

# Each build mostly waits on the mirror and on unpacking: side by side they take
# about as long as the longest (Node's) instead of the sum.
[ ${#to_build[@]} -gt 0 ] || exit 0
ensure_base
pids=()
for entry in "${to_build[@]}"; do
  ( build_standin "${entry%%=*}" "${entry#*=}" && say "${entry%%=*}: stand-in ready" ) &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" -eq 0 ] || die "a stand-in could not be built (its error is above)"
