# A node of the swarm lab (scripts/swarm-lab.sh): a Debian sid container that
# runs a Docker Engine of its own, from Debian's packages. Run privileged, with
# /var/lib/docker on a volume (overlayfs cannot nest on overlayfs).
FROM debian:sid
RUN apt-get -o Acquire::Check-Valid-Until=false update \
 && apt-get install -y --no-install-recommends docker.io docker-cli iptables iproute2 procps \
 && rm -rf /var/lib/apt/lists/*
COPY node-start.sh /usr/local/bin/node-start.sh
VOLUME /var/lib/docker
CMD ["sh", "/usr/local/bin/node-start.sh"]
