#!/usr/bin/env bash
# Installs the PyPI `bjontegaard` package (an independent Bjøntegaard-delta implementation,
# used by encoder/tests/bdrate.rs as the reference for `segment-encode bdrate`) into a venv
# outside the source tree if it is not there yet, and prints the path of the venv's python.
set -euo pipefail
venv="${MEZZ_BJONTEGAARD_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mezz/bjontegaard-venv}"
if ! "$venv/bin/python" -c "import bjontegaard" >/dev/null 2>&1; then
    if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ]; then apt-get install -y -qq python3-venv >&2
        else sudo apt-get install -y -qq python3-venv >&2; fi
    fi
    echo "installing bjontegaard into $venv" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q 'bjontegaard==1.3.0' >&2
fi
echo "$venv/bin/python"
