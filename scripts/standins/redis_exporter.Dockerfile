# Stand-in for the official oliver006/redis_exporter image, built from Debian sid (see scripts/offline-images.sh).
# Contract kept: ENTRYPOINT /redis_exporter, configured by its environment
# (REDIS_ADDR), runs as an unprivileged user, port 9121.
ARG BASE
FROM ${BASE}
RUN apt-get -o Acquire::Check-Valid-Until=false update \
 && apt-get install -y --no-install-recommends prometheus-redis-exporter \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/prometheus-redis-exporter /redis_exporter
USER nobody
EXPOSE 9121
ENTRYPOINT ["/redis_exporter"]
