# Stand-in for the official nginx/nginx-prometheus-exporter image, built from Debian sid (see scripts/offline-images.sh).
# Contract kept: ENTRYPOINT /usr/bin/nginx-prometheus-exporter (flags such as
# --nginx.scrape-uri), runs as nobody, port 9113.
ARG BASE
FROM ${BASE}
RUN apt-get -o Acquire::Check-Valid-Until=false update \
 && apt-get install -y --no-install-recommends prometheus-nginx-exporter \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/prometheus-nginx-exporter /usr/bin/nginx-prometheus-exporter
USER nobody
EXPOSE 9113
ENTRYPOINT ["/usr/bin/nginx-prometheus-exporter"]
