#!/usr/bin/env bash
# A three-node Docker Swarm on this one machine, running deploy/swarm/hitcounter.yml.
# Each node (n1, n2, n3) is a privileged container with a Docker Engine of its own
# (scripts/lab/node.Dockerfile); the three are managers, so the swarm outlives
# the loss of any one. See docs/deploy.md.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: bash scripts/swarm-lab.sh COMMAND
  up                  build the images, start nodes n1 n2 n3, join them as three managers,
                      load the images onto every node, deploy deploy/swarm/hitcounter.yml
                      with deploy/swarm/metrics.yml (Prometheus), wait until every worker
                      has counted a hit, print each node's address and Prometheus's
  docker NODE ARGS... the docker CLI against NODE's engine (docker n1 node ls)
  kill NODE           NODE dies at once, as on a power cut (its container is killed)
  down                remove the nodes and their network; the node image (named after its
                      recipe) and each node's volume (its image store) stay for the next lab
  purge               down, and remove the nodes' volumes too
  node-image          build the node image, if there is none of the current recipe
  --help              this text
Environment:
  LAB_PORT     n1's entry on 127.0.0.1 (default 8080); n2 is LAB_PORT+1, n3 LAB_PORT+2
  LAB_METRICS_PORT  Prometheus on 127.0.0.1, as published by the node it runs on
                    (default 9090 for n1, 9091 for n2, 9092 for n3)
  LAB_WORKERS  worker replicas (default 6)
  LAB_NAME     prefix of the lab's containers, network and image names (default hitcounter-lab)
  LAB_STORE    prefix of the nodes' volumes, their engines' state and image stores (default
               LAB_NAME): labs of other names can share one, one lab at a time
USAGE
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lab=${LAB_NAME:-hitcounter-lab}
port=${LAB_PORT:-8080}
metrics_port=${LAB_METRICS_PORT:-9090}
workers=${LAB_WORKERS:-6}
store=${LAB_STORE:-$lab}
nodes=(n1 n2 n3)
# Tagged by a hash of its recipe and kept at down: a later lab reuses it until the recipe changes.
node_image=hitcounter-lab/node:$(cat "$root"/scripts/lab/* | sha256sum | cut -c1-16)
stack=hitcounter
# What every node needs: the three images compose builds (named after the lab,
# as a compose project of that name names them), and Prometheus (the image
# deploy/swarm/metrics.yml names).
images=("$lab/web:latest" "$lab/worker:latest" "$lab/redis:latest" "$(awk '$1 == "image:" { print $2; exit }' "$root/deploy/swarm/metrics.yml")")

# Each line says how long the command has run (bash's SECONDS): where a slow 'up' spent its time.
say() { printf 'swarm-lab: [%3d s] %s\n' "$SECONDS" "$*"; }
die() { printf 'swarm-lab: error: %s\n' "$*" >&2; exit 1; }

container() { printf '%s-%s' "$lab" "$1"; }
known_node() {
  local node
  for node in "${nodes[@]}"; do [ "$node" = "$1" ] && return 0; done
  die "no node '$1' (the nodes are ${nodes[*]})"
}
on() {
  local node=$1
  shift
  docker exec -i "$(container "$node")" docker "$@"
}

in_range() { [[ $1 =~ ^[0-9]{1,5}$ ]] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
check_numbers() {
  in_range "$port" 1 65533 || die "LAB_PORT must be a port number from 1 to 65533 (got '$port')"
  in_range "$metrics_port" 1 65533 || die "LAB_METRICS_PORT must be a port number from 1 to 65533 (got '$metrics_port')"
  in_range "$workers" 1 60 || die "LAB_WORKERS must be a whole number from 1 to 60 (got '$workers')"
}

wait_until() {
  local what=$1 seconds=$2
  shift 2
  for _ in $(seq "$((seconds * 4))"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  die "timed out after ${seconds} s waiting for $what"
}

# The hostnames of the running worker tasks (a container's short id), on all nodes.
worker_hosts() {
  local node
  for node in "${nodes[@]}"; do
    on "$node" ps --filter "label=com.docker.swarm.service.name=${stack}_worker" --format '{{.ID}}' 2>/dev/null || true
  done | cut -c1-12 | sort
}

# True once each of the running workers has answered a hit (200: counted) through n1's entry.
all_workers_served() {
  local hosts served host
  hosts=$(worker_hosts)
  [ "$(printf '%s\n' "$hosts" | grep -c .)" -eq "$workers" ] || return 1
  served=$(for _ in $(seq "$((workers * 2))"); do
    curl -sS -m 5 -o /dev/null -D - "http://127.0.0.1:$port/" 2>/dev/null | tr -d '\r' \
      | awk -F': ' 'NR == 1 { ok = ($0 ~ /^HTTP\/[0-9.]+ 200 /) } ok && tolower($1) == "x-served-by" { print $2 }'
  done | sort -u)
  for host in $hosts; do grep -qx "$host" <<<"$served" || return 1; done
}

node_image_built() {
  docker image inspect "$node_image" >/dev/null 2>&1 && return
  docker build --quiet -t "$node_image" -f "$root/scripts/lab/node.Dockerfile" "$root/scripts/lab" >/dev/null
}

up() {
  check_numbers
  docker info >/dev/null 2>&1 || die "no Docker engine answers (start dockerd; see README: Troubleshooting)"
  if [ -n "$(docker ps -aq --filter "name=^${lab}-n[0-9]$")" ]; then
    die "a lab is already here ($(docker ps -a --filter "name=^${lab}-n[0-9]$" --format '{{.Names}}' | tr '\n' ' ')); run 'bash scripts/swarm-lab.sh down' first"
  fi
  local taken node i ip token
  for i in 0 1 2; do
    taken=$(docker ps --format '{{.Names}} {{.Ports}}' | grep -F "127.0.0.1:$((port + i))->" | cut -d' ' -f1 || true)
    [ -z "$taken" ] || die "127.0.0.1:$((port + i)) is taken by container $taken (set LAB_PORT)"
    taken=$(docker ps --format '{{.Names}} {{.Ports}}' | grep -F "127.0.0.1:$((metrics_port + i))->" | cut -d' ' -f1 || true)
    [ -z "$taken" ] || die "127.0.0.1:$((metrics_port + i)) is taken by container $taken (set LAB_METRICS_PORT)"
  done
  for node in "${nodes[@]}"; do
    taken=$(docker ps -a --filter "volume=$store-$node" --format '{{.Names}}')
    [ -z "$taken" ] || die "volume $store-$node is used by container $taken (set LAB_STORE)"
  done

  say "base images"
  bash "$root/scripts/offline-images.sh" | sed 's/^/  /'
  say "building the images (docker compose build) and the node image"
  # Images of the lab's own ($lab/...:latest, no registry): REGISTRY and TAG do not apply here.
  env -u REGISTRY -u TAG bash "$root/scripts/compose.sh" -f "$root/docker-compose.yml" -p "$lab" build --quiet web worker redis
  node_image_built

  say "starting nodes ${nodes[*]} (each its own Docker Engine)"
  docker network create "$lab" >/dev/null
  # A node's volume may hold a former lab's engine state: its swarm is forgotten
  # before the engine starts, its containers, volumes and networks removed after.
  for node in "${nodes[@]}"; do
    docker run --rm -v "$store-$node:/var/lib/docker" --entrypoint rm "$node_image" -rf /var/lib/docker/swarm
  done
  for i in 0 1 2; do
    node=${nodes[$i]}
    docker run -d --privileged --name "$(container "$node")" --hostname "$node" --network "$lab" \
      --label "hitcounter.lab=$lab" -p "127.0.0.1:$((port + i)):80" -p "127.0.0.1:$((metrics_port + i)):9090" \
      -v "$store-$node:/var/lib/docker" -v "$root/deploy:/lab/deploy:ro" -v "$root/metrics:/lab/metrics:ro" "$node_image" >/dev/null
  done
  for node in "${nodes[@]}"; do wait_until "$node's engine" 60 on "$node" info; done
  for node in "${nodes[@]}"; do
    docker exec "$(container "$node")" sh -c 'docker ps -aq | xargs -r docker rm -f; docker volume prune -af; docker network prune -f' >/dev/null
  done

  say "joining the nodes as three managers"
  ip=$(docker inspect --format "{{(index .NetworkSettings.Networks \"$lab\").IPAddress}}" "$(container n1)")
  on n1 swarm init --advertise-addr "$ip" >/dev/null
  token=$(on n1 swarm join-token -q manager)
  for node in n2 n3; do on "$node" swarm join --token "$token" "$ip:2377" >/dev/null; done

  # save | load, not a registry: the nodes get the very images built here, with
  # no registry image, no insecure-registry setting and no push; one archive of
  # the images some node lacks (a node's store outlives the lab), loaded by the
  # three engines at once.
  local archive image id missing=()
  for image in "${images[@]}"; do
    id=$(docker image inspect --format '{{.Id}}' "$image")
    for node in "${nodes[@]}"; do
      # Held under another lab's name: named for this one.
      if ! on "$node" tag "$id" "$image" 2>/dev/null; then missing+=("$image"); break; fi
    done
  done
  # What a former lab left that this one does not use goes.
  local wanted
  wanted=$(for image in "${images[@]}"; do docker image inspect --format '{{.Id}}' "$image"; done)
  for node in "${nodes[@]}"; do
    id=$(on "$node" images -q --no-trunc | sort -u | { grep -vxF "$wanted" || true; })
    # shellcheck disable=SC2086 # one id per word
    [ -z "$id" ] || on "$node" rmi -f $id >/dev/null
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "loading ${missing[*]} onto every node"
    archive=$(mktemp /tmp/hitcounter-lab-images.XXXXXX.tar)
    docker save -o "$archive" "${missing[@]}"
    for node in "${nodes[@]}"; do on "$node" load -q <"$archive" >/dev/null & done
    wait
    rm -f "$archive"
  else
    say "every node holds ${images[*]} already"
  fi

  say "Redis's passwords, as Docker secrets (deploy/swarm/make-secrets.sh)"
  docker exec "$(container n1)" sh /lab/deploy/swarm/make-secrets.sh | sed 's/^/  /'
  say "deploying deploy/swarm/hitcounter.yml ($workers workers) and deploy/swarm/metrics.yml"
  docker exec -e HTTP_PORT=80 -e METRICS_PORT=9090 -e WORKERS="$workers" -e REGISTRY="$lab" -e TAG=latest "$(container n1)" \
    docker stack deploy --resolve-image never -c /lab/deploy/swarm/hitcounter.yml -c /lab/deploy/swarm/metrics.yml "$stack" >/dev/null
  wait_until "all $workers workers to count a hit" 240 all_workers_served
  for i in 0 1 2; do
    echo "hitcounter: open http://127.0.0.1:$((port + i)) (node ${nodes[$i]})"
  done
  for i in 0 1 2; do
    if [ -n "$(on "${nodes[$i]}" ps -q --filter "label=com.docker.swarm.service.name=${stack}_prometheus")" ]; then
      echo "prometheus: http://127.0.0.1:$((metrics_port + i)) (node ${nodes[$i]})"
    fi
  done
}

down() {
  local ids node
  # A paused container inside a node could not be killed with it (its cgroup is frozen): resume those first.
  for node in "${nodes[@]}"; do
    docker exec "$(container "$node")" sh -c 'docker ps -q --filter status=paused | xargs -r docker unpause' >/dev/null 2>&1 || true
  done
  ids=$(docker ps -aq --filter "label=hitcounter.lab=$lab")
  # shellcheck disable=SC2086 # one id per word
  [ -z "$ids" ] || docker rm -f $ids >/dev/null
  docker network rm "$lab" >/dev/null 2>&1 || true
  # The lab's own names for the images (the layers stay, shared with the project's).
  docker image rm "${images[@]:0:3}" >/dev/null 2>&1 || true
  say "down: no lab node, network or image name is left but the node image ($node_image); the nodes' volumes stay (purge removes them)"
}

purge() {
  down
  for node in "${nodes[@]}"; do docker volume rm -f "$store-$node" >/dev/null; done
  say "purge: the nodes' volumes are removed"
}

command=${1:-}
[ $# -eq 0 ] || shift
case "$command" in
  up) [ $# -eq 0 ] || die "up takes no arguments"; up ;;
  down) [ $# -eq 0 ] || die "down takes no arguments"; down ;;
  purge) [ $# -eq 0 ] || die "purge takes no arguments"; purge ;;
  node-image) [ $# -eq 0 ] || die "node-image takes no arguments"; node_image_built ;;
  docker)
    [ $# -ge 1 ] || die "usage: swarm-lab.sh docker NODE ARGS..."
    known_node "$1"
    docker inspect --format '{{.State.Running}}' "$(container "$1")" 2>/dev/null | grep -qx true || die "node $1 is not running"
    on "$@" ;;
  kill)
    [ $# -eq 1 ] || die "usage: swarm-lab.sh kill NODE"
    known_node "$1"
    docker kill "$(container "$1")" >/dev/null || die "node $1 is not running"
    say "node $1 killed" ;;
  -h|--help|help) usage ;;
  "") usage >&2; exit 2 ;;
  *) usage >&2; die "unknown command '$command'" ;;
esac
