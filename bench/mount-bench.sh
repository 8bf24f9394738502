#!/usr/bin/env bash
# Mount benchmark wrapper: installs the tools, builds the binaries, runs bench/mount-bench.py.
#
#   bash bench/mount-bench.sh                                   # full run: 3 profiles, 1 GiB, 3 runs
#   bash bench/mount-bench.sh --size 64MiB --runs 1             # smoke run, a few minutes
#   bash bench/mount-bench.sh --profiles s3-like --clients s3fs,mezzfs-adaptive --workloads sparse
#
# Every argument goes to mount-bench.py (see --help there and bench/README.md).
# Environment: SKIP_BUILD=1 uses existing binaries; BIN_DIR (default target/release).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN_DIR=${BIN_DIR:-$ROOT/target/release}
log() { printf '[mount-bench] %s\n' "$*" >&2; }
die() { printf '[mount-bench] error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "must run as root (network namespaces, tc, FUSE, drop_caches)"

# Debian packages: tool -> package.
declare -A PKG=([fio]=fio [s3fs]=s3fs [rclone]=rclone [fusermount3]=fuse3 [tc]=iproute2 [ip]=iproute2
                [nsenter]=util-linux [setsid]=util-linux [sha256sum]=coreutils)
missing=()
for tool in "${!PKG[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("${PKG[$tool]}")
done
if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${missing[@]}" >&2 || { apt-get update -q >&2 && apt-get install -y -q "${missing[@]}" >&2; }
fi
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "python3 >= 3.11 needed"

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    cd "$ROOT"
    log "building mezz-s3-server and mezz-delay-line (release)"
    cargo build --release -p mezz-s3-server -p mezz-delay-line >&2
    log "building mezzfs (release)"
    # The mount is under active development: if it does not build, run the peers anyway
    # with whatever mezzfs binary exists (mount-bench.py skips mezzfs rows it cannot run).
    cargo build --release -p mezzfs >&2 || log "warning: mezzfs did not build; using the existing $BIN_DIR/mezzfs"
fi

# Recorded in the results as the command that produced them.
envs=
for var in SKIP_BUILD BIN_DIR; do [[ -n ${!var:-} ]] && envs+="$var=${!var} "; done
export MOUNT_BENCH_COMMAND="${envs}bash bench/mount-bench.sh${*:+ $*}"
exec python3 "$ROOT/bench/mount-bench.py" --bin-dir "$BIN_DIR" "$@"
