#!/usr/bin/env bash
# Installs the PyPI `bjontegaard` package (an independent Bjøntegaard-delta implementation,
# used by encoder/tests/bdrate.rs as the reference for `segment-encode bdrate`) into a venv
# outside the source tree if it is not there yet, and prints the path of the venv's python.
set -euo pipefail
. "$(dirname "$0")/python-venv.sh"
venv="${MEZZ_BJONTEGAARD_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mezz/bjontegaard-venv}"
if ! "$venv/bin/python" -c "import bjontegaard" >/dev/null 2>&1; then
    echo "installing bjontegaard into $venv" >&2
    make_venv "$venv"
    "$venv/bin/pip" install -q 'bjontegaard==1.3.0' >&2
fi
echo "$venv/bin/python"
