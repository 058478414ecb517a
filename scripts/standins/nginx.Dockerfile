# Stand-in for the official nginx image, built from Debian sid (see scripts/offline-images.sh).
# Contract kept: /etc/nginx/nginx.conf read at start, logs to stdout/stderr,
# curl for health checks, the scripts in /docker-entrypoint.d/ run before nginx,
# CMD nginx in the foreground, SIGQUIT for a graceful stop.
ARG BASE
FROM ${BASE}
RUN apt-get -o Acquire::Check-Valid-Until=false update \
 && apt-get install -y --no-install-recommends nginx curl \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/default \
 && ln -sf /dev/stdout /var/log/nginx/access.log \
 && ln -sf /dev/stderr /var/log/nginx/error.log
COPY nginx-entrypoint.sh /docker-entrypoint.sh
RUN mkdir -p /docker-entrypoint.d
ENTRYPOINT ["/docker-entrypoint.sh"]
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
