# Stand-in for the official prom/prometheus image, built from Debian packages (see scripts/offline-images.sh).
# Contract kept: ENTRYPOINT /bin/prometheus with the official CMD, config in
# /etc/prometheus, data in /prometheus (a volume), runs as nobody, port 9090,
# and a graph page. Debian 13's Prometheus (2.53), not sid's (3.x): sid's
# package has no web UI at all; Debian 13's has the classic one, at /classic/graph.
ARG BASE
FROM ${BASE}
RUN sed 's/ sid / trixie /' /etc/apt/sources.list >/etc/apt/sources.list.d/trixie.list \
 && apt-get -o Acquire::Check-Valid-Until=false update \
 && apt-get install -y --no-install-recommends -t trixie prometheus \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /prometheus && chown nobody:nogroup /prometheus
USER nobody
WORKDIR /prometheus
VOLUME /prometheus
EXPOSE 9090
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
