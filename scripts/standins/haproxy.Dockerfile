# Stand-in for the official haproxy image, built from Debian sid (see scripts/offline-images.sh).
# Contract kept: the config at /usr/local/etc/haproxy/haproxy.cfg, logs to
# stdout, haproxy in the foreground (master-worker) as user haproxy, SIGUSR1 to stop.
ARG BASE
FROM ${BASE}
RUN apt-get -o Acquire::Check-Valid-Until=false update \
 && apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /usr/local/etc/haproxy
USER haproxy
STOPSIGNAL SIGUSR1
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
