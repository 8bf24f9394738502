# Sourced by the install-*.sh scripts: `make_venv DIR` creates a Python venv at DIR (installing
# Debian's python3-venv first if this Python cannot make venvs). Output goes to stderr, so the
# scripts' stdout stays the one path they print.
make_venv() {
    if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ]; then apt-get install -y -qq python3-venv >&2
        else sudo apt-get install -y -qq python3-venv >&2; fi
    fi
    python3 -m venv "$1" >&2
}
