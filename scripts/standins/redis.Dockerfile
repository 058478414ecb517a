# Stand-in for the official redis:8 image, built from Debian sid (see scripts/offline-images.sh).
# Contract kept: redis-server and redis-cli on PATH, data in /data (a volume),
# runs as user redis, and, like the official entrypoint, protected mode off when
# no config file is given, so other containers on the network can connect.
ARG BASE
FROM ${BASE}
RUN apt-get -o Acquire::Check-Valid-Until=false update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown redis:redis /data
COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /data
WORKDIR /data
USER redis
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
