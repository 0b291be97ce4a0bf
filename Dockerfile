# jht-bridge as an image: `jht-bridge run` on all interfaces, data in /data (SQLite by default).
#   docker build -t jht-bridge .
#   docker run -p 8600:8600 -v jht-data:/data -e JHT_WECHAT__MODE=live -e JHT_WECHAT__APPID=wx… \
#              -e JHT_WECHAT__APP_SECRET=… jht-bridge
#   docker run --rm -v jht-data:/data jht-bridge demo-data          any other jht-bridge command
# Without the WeChat settings it exits 2 saying what to set. compose.yaml: serve + worker + PostgreSQL.
# Lint: hadolint Dockerfile (tests/test_docker.py; the entry point is tested there outside a container).

# ---- build: the bridge and every extra (odbc, soap, postgresql) in a venv, at constraints.txt's versions
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY . .
RUN python -m venv /opt/jht-bridge \
 && /opt/jht-bridge/bin/pip install -c constraints.txt '.[all]'

# ---- runtime: the venv, the system libraries it needs, a non-root user
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/jht-bridge/bin:$PATH \
    JHT_CONFIG=/data/bridge.toml

# ODBC: driver manager + FreeTDS (SQL Server), PostgreSQL and SQLite drivers (/etc/odbcinst.ini);
# the Chinese font the QR label sheets embed (bridge/qrlabels.py); pg_dump / pg_restore / psql for
# `jht-bridge backup` and `restore` on PostgreSQL (Debian 12: version 15, as compose.yaml's server).
# Versions are not pinned (DL3008): bookworm's security updates replace them, and a pinned version
# that left the archive breaks the build.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      unixodbc tdsodbc odbc-postgresql libsqliteodbc fonts-wqy-zenhei postgresql-client \
 && rm -rf /var/lib/apt/lists/*

COPY --from=build /opt/jht-bridge /opt/jht-bridge
COPY docker/entrypoint.sh /usr/local/bin/jht-entrypoint
COPY docker/healthcheck.py /usr/local/bin/jht-healthcheck

RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home jht \
 && mkdir -p /data \
 && chown 10001:10001 /data
USER 10001:10001
WORKDIR /data
VOLUME /data
EXPOSE 8600

# /healthz on JHT_API__PORT (set that rather than --port, so the check asks the right port)
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["jht-healthcheck"]
ENTRYPOINT ["jht-entrypoint"]
CMD ["run", "--host", "0.0.0.0"]
