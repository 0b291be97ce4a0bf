#!/bin/sh
# The image's entry point. On the first start it makes the setup in the config's folder
# (`jht-bridge init`: bridge.toml, the SQLite database or the schema on PostgreSQL when
# JHT_DATABASE__URL names one, the ERP exchange folders, the token key), then runs `jht-bridge ARGS`
# (the image's CMD: `run --host 0.0.0.0`), which finds the config by $JHT_CONFIG (the image sets
# /data/bridge.toml). Settings come from JHT_<SECTION>__<KEY> variables. Without the WeChat
# settings the bridge refuses to serve beyond the container and says what to set (exit 2): the
# dev mode's "any login code is a user" never reaches a network.
# tests/test_docker.py runs this script outside a container (JHT_CONFIG and PATH set by the test).
set -eu
config=${JHT_CONFIG:-/data/bridge.toml}
if [ ! -f "$config" ]; then
    case $config in
        */bridge.toml) ;;
        *) echo "jht-bridge: JHT_CONFIG must name FOLDER/bridge.toml for the first start (got $config)" >&2; exit 2 ;;
    esac
    jht-bridge init "$(dirname "$config")" >/dev/null
    echo "jht-bridge: first start, made $config (database, ERP exchange folders, token key)" >&2
fi
export JHT_CONFIG="$config"
exec jht-bridge "$@"
