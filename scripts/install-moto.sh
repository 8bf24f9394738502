#!/usr/bin/env bash
# Installs moto's server (an SQS-API server from PyPI, `moto[server]`) into a venv outside the
# source tree if it is not there yet, and prints the path of its `moto_server`. Used by the
# tests (scripts/test.sh exports it as MEZZ_MOTO_SERVER) and by the fleet demo.
set -euo pipefail
venv="${MEZZ_MOTO_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mezz/moto-venv}"
if [ ! -x "$venv/bin/moto_server" ]; then
    if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ]; then apt-get install -y -qq python3-venv >&2
        else sudo apt-get install -y -qq python3-venv >&2; fi
    fi
    echo "installing moto's server into $venv" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q 'moto[server]' >&2
fi
echo "$venv/bin/moto_server"
