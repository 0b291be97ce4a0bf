# jht-bridge on its embedded default (SQLite in /data). Build: docker build -t jht-bridge .
#   docker run -p 8600:8600 -v jht-data:/data -e JHT_WECHAT__MODE=live -e JHT_WECHAT__APPID=wx… -e JHT_WECHAT__APP_SECRET=… jht-bridge
#   docker run -v jht-data:/data jht-bridge demo-data                  any other jht-bridge command
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Runtime ODBC: driver manager + FreeTDS (SQL Server), PostgreSQL and SQLite drivers (/etc/odbcinst.ini);
# the Chinese font the QR label sheets embed (bridge/qrlabels.py)
RUN apt-get update \
 && apt-get install -y --no-install-recommends unixodbc tdsodbc odbc-postgresql libsqliteodbc fonts-wqy-zenhei \
 && rm -rf /var/lib/apt/lists/*

# Every extra (odbc: the drivers above, soap, postgresql), at the versions of constraints.txt
COPY . /src
RUN pip install --no-cache-dir -c /src/constraints.txt '/src[all]' \
 && rm -rf /src

RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home jht \
 && mkdir -p /data \
 && chown jht:jht /data
USER jht
WORKDIR /data
VOLUME /data
EXPOSE 8600

# The entry point creates /data/bridge.toml (and the SQLite db) on first start, then runs
# `jht-bridge --config /data/bridge.toml <CMD>`; CMD defaults to serving on all interfaces.
ENTRYPOINT ["sh", "-c", "test -f /data/bridge.toml || jht-bridge init /data || exit; exec jht-bridge --config /data/bridge.toml \"$@\"", "jht-bridge"]
CMD ["run", "--host", "0.0.0.0"]
