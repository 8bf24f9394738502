#!/usr/bin/env bash
# Installs moto's server (an SQS-API server from PyPI, `moto[server]`) into a venv outside the
# source tree if it is not there yet, and prints the path of its `moto_server`. Used by the
# tests (scripts/test.sh exports it as MEZZ_MOTO_SERVER) and by the fleet demo.
set -euo pipefail
. "$(dirname "$0")/python-venv.sh"
venv="${MEZZ_MOTO_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mezz/moto-venv}"
if [ ! -x "$venv/bin/moto_server" ]; then
    echo "installing moto's server into $venv" >&2
    make_venv "$venv"
    "$venv/bin/pip" install -q 'moto[server]' >&2
fi
echo "$venv/bin/moto_server"
