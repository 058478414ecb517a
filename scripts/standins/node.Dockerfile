# Stand-in for the official node:24 image, built from Debian sid (see scripts/offline-images.sh).
# Contract kept: `node` and `npm` on PATH, user `node` (uid 1000), CMD ["node"].
ARG BASE
FROM ${BASE}
RUN apt-get -o Acquire::Check-Valid-Until=false update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
CMD ["node"]
