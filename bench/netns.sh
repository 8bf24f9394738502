#!/usr/bin/env bash
# A shaped "network to S3" made of two network namespaces, for the mount benchmark.
#
#   bash bench/netns.sh up PROFILE     # lan | s3-like | far-region
#   bash bench/netns.sh down           # idempotent: unmounts, kills, deletes everything
#                                      # (also a run started with another MEZZB_DIR)
#   bash bench/netns.sh status
#
# Layout after `up`:
#
#   mezzb-cli (10.77.0.2, dev mzb-cli)  <-- veth, tc tbf on both ends -->  mezzb-srv (10.77.0.1, dev mzb-srv)
#                                                                          mezz-delay-line 10.77.0.1:9000
#                                                                            -> mezz-s3-server 127.0.0.1:9100
#                                                                               (data on /dev/shm)
#
# Clients (FUSE daemons, workloads) run in mezzb-cli via `nsenter --net=/run/netns/mezzb-cli`
# (not `ip netns exec`, which would also give them a private mount namespace and hide their
# FUSE mounts) and talk to http://10.77.0.1:9000. The kernel has no netem, so delay and the
# per-connection rate cap come from mezz-delay-line (one-way delay in each direction, token
# bucket per connection) and the link rate from `tc tbf` on both veth ends.
#
# Profiles (RTT = 2 x one-way delay; connection set-up is not delayed):
#   lan         no tbf, delay line with no delay and no cap
#   s3-like     tbf 2gbit, 10 ms each way (~20 ms RTT), 720 Mbit/s per connection
#   far-region  tbf 500mbit, 40 ms each way (~80 ms RTT), 200 Mbit/s per connection
#
# Environment:
#   MEZZB_DIR=/dev/shm/mezzb   state: env file, logs, pids, mount points (mnt/), server data
#   MEZZB_DATA=                server data root; if set it is the caller's and survives `down`
#                              (default: $MEZZB_DIR/s3data, deleted by `down`)
#   BIN_DIR=target/release     where mezz-s3-server and mezz-delay-line come from
#   S3_SERVER_BIN, DELAY_LINE_BIN   override one binary each
#
# After `up`, $MEZZB_DIR/env holds KEY=VALUE lines (ENDPOINT, DIRECT_ENDPOINT, CLI_NS, SRV_NS,
# CLI_IF, PROFILE, ...) for scripts to read. Buckets: `mezz` (mezzfs objects) and `plain`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MEZZB_DIR=${MEZZB_DIR:-/dev/shm/mezzb}
BIN_DIR=${BIN_DIR:-$ROOT/target/release}
S3_SERVER_BIN=${S3_SERVER_BIN:-$BIN_DIR/mezz-s3-server}
DELAY_LINE_BIN=${DELAY_LINE_BIN:-$BIN_DIR/mezz-delay-line}

SRV_NS=mezzb-srv
CLI_NS=mezzb-cli
SRV_IF=mzb-srv
CLI_IF=mzb-cli
SRV_ADDR=10.77.0.1
CLI_ADDR=10.77.0.2
SERVER_PORT=9100
PROXY_PORT=9000
BUCKETS=(mezz plain)
OWNER_FILE=/run/mezzb-bench.dir   # the MEZZB_DIR of the current `up`

log() { printf '[netns] %s\n' "$*" >&2; }
die() { printf '[netns] error: %s\n' "$*" >&2; exit 1; }

in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }

# profile -> "LINK_RATE TBF_BURST DELAY_MS CONN_RATE_MBIT" (LINK_RATE "none": no tbf)
profile_params() {
    case $1 in
        lan) echo "none 0 0 0" ;;
        s3-like) echo "2gbit 1mb 10 720" ;;
        far-region) echo "500mbit 256kb 40 200" ;;
        *) die "unknown profile '$1' (lan | s3-like | far-region)" ;;
    esac
}

# Start "$@" in namespace $1 as a daemon of its own session; stdout/stderr to $MEZZB_DIR/logs.
start_daemon() {
    local ns=$1 name=$2; shift 2
    # setsid does not fork here (a background job is not a group leader) and nsenter
    # execs, so $! is the daemon's own pid.
    setsid nsenter --net="/run/netns/$ns" "$@" \
        >"$MEZZB_DIR/logs/$name.out" 2>"$MEZZB_DIR/logs/$name.err" </dev/null &
    echo $! >"$MEZZB_DIR/pids/$name"
}

# Wait for "listening on ..." in a daemon's stdout; print the rest of the line.
wait_listening() {
    local name=$1 pid line
    pid=$(cat "$MEZZB_DIR/pids/$name")
    for _ in $(seq 300); do
        line=$(grep -m1 '^listening on ' "$MEZZB_DIR/logs/$name.out" 2>/dev/null || true)
        if [[ -n $line ]]; then echo "${line#listening on }"; return 0; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$MEZZB_DIR/logs/$name.err" >&2 || true
    die "$name did not report 'listening on' (pid $pid)"
}

fuse_mounts_under() {
    # Mount points (field 5 of mountinfo) under $1, deepest first; octal escapes left as is.
    awk -v dir="$1/" 'index($5, dir) == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

kill_pids() {
    # TERM, wait up to 5 s, then KILL; only the pids given.
    local pids=("$@") pid alive
    ((${#pids[@]})) || return 0
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 50); do
        alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || return 0
        sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
}

cmd_down() {
    local mnt pids=() pid f ns dir dirs=("$MEZZB_DIR")
    # The state directory of whoever brought the namespaces up, if it was another one.
    if [[ -f $OWNER_FILE ]]; then
        dir=$(cat "$OWNER_FILE")
        [[ $dir == "$MEZZB_DIR" ]] || dirs+=("$dir")
    fi
    for dir in "${dirs[@]}"; do
        [[ -d $dir ]] || continue
        while read -r mnt; do
            [[ -n $mnt ]] || continue
            log "unmounting $mnt"
            fusermount3 -u -z "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
        done < <(fuse_mounts_under "$dir")
        for f in "$dir"/pids/*; do
            [[ -f $f ]] && pids+=("$(cat "$f")")
        done
    done
    # Everything still running in our namespaces (FUSE daemons, workloads, strays).
    for ns in $CLI_NS $SRV_NS; do
        if [[ -e /run/netns/$ns ]]; then
            while read -r pid; do [[ -n $pid ]] && pids+=("$pid"); done < <(ip netns pids "$ns" 2>/dev/null || true)
        fi
    done
    kill_pids "${pids[@]}"
    for ns in $CLI_NS $SRV_NS; do
        if [[ -e /run/netns/$ns ]]; then
            ip netns del "$ns" 2>/dev/null || log "warning: could not delete namespace $ns"
        fi
    done
    for dir in "${dirs[@]}"; do
        [[ -d $dir ]] || continue
        if [[ -n $(fuse_mounts_under "$dir") ]]; then
            log "warning: mounts left under $dir; not deleting it"
        else
            rm -rf "$dir"
        fi
    done
    rm -f "$OWNER_FILE"
}

cmd_up() {
    local profile=$1 link burst delay_ms rate_mbit data server_addr proxy_addr
    read -r link burst delay_ms rate_mbit <<<"$(profile_params "$profile")"
    [[ $(id -u) == 0 ]] || die "must run as root"
    [[ -x $S3_SERVER_BIN ]] || die "missing $S3_SERVER_BIN (cargo build --release -p mezz-s3-server)"
    [[ -x $DELAY_LINE_BIN ]] || die "missing $DELAY_LINE_BIN (cargo build --release -p mezz-delay-line)"
    for tool in ip tc nsenter setsid fusermount3; do
        command -v $tool >/dev/null || die "missing $tool (apt-get install iproute2 util-linux fuse3)"
    done

    # One network at a time: refuse to tear down another run's namespaces.
    if [[ -e /run/netns/$SRV_NS || -e /run/netns/$CLI_NS ]] && [[ -f $OWNER_FILE ]] \
        && [[ $(cat "$OWNER_FILE") != "$MEZZB_DIR" ]]; then
        die "the namespaces are in use by the run with MEZZB_DIR=$(cat "$OWNER_FILE"); stop it, or: bash $0 down"
    fi
    cmd_down
    echo "$MEZZB_DIR" >"$OWNER_FILE"
    trap 'rc=$?; if ((rc)); then log "up failed; tearing down"; cmd_down; fi' EXIT
    mkdir -p "$MEZZB_DIR"/{logs,pids,mnt}
    data=${MEZZB_DATA:-$MEZZB_DIR/s3data}
    mkdir -p "$data"

    log "namespaces $SRV_NS, $CLI_NS and veth $SRV_IF <-> $CLI_IF"
    ip netns add $SRV_NS
    ip netns add $CLI_NS
    ip link add $SRV_IF netns $SRV_NS type veth peer name $CLI_IF netns $CLI_NS
    ip -n $SRV_NS link set lo up
    ip -n $CLI_NS link set lo up
    ip -n $SRV_NS addr add $SRV_ADDR/24 dev $SRV_IF
    ip -n $CLI_NS addr add $CLI_ADDR/24 dev $CLI_IF
    ip -n $SRV_NS link set $SRV_IF up
    ip -n $CLI_NS link set $CLI_IF up

    if [[ $link != none ]]; then
        log "tbf rate $link burst $burst on both ends"
        tc -n $SRV_NS qdisc replace dev $SRV_IF root tbf rate "$link" burst "$burst" latency 20ms
        tc -n $CLI_NS qdisc replace dev $CLI_IF root tbf rate "$link" burst "$burst" latency 20ms
    fi

    start_daemon $SRV_NS s3-server env RUST_LOG="${SERVER_RUST_LOG:-warn}" "$S3_SERVER_BIN" \
        --root "$data" --listen "127.0.0.1:$SERVER_PORT" "${BUCKETS[@]/#/--bucket=}"
    server_addr=$(wait_listening s3-server)
    start_daemon $SRV_NS delay-line "$DELAY_LINE_BIN" --listen "$SRV_ADDR:$PROXY_PORT" \
        --upstream "127.0.0.1:$SERVER_PORT" --delay-ms "$delay_ms" --conn-rate-mbit "$rate_mbit"
    proxy_addr=$(wait_listening delay-line)

    cat >"$MEZZB_DIR/env" <<EOF
PROFILE=$profile
LINK_RATE=$link
DELAY_MS=$delay_ms
CONN_RATE_MBIT=$rate_mbit
ENDPOINT=http://$proxy_addr
DIRECT_ENDPOINT=$server_addr
SRV_NS=$SRV_NS
CLI_NS=$CLI_NS
SRV_IF=$SRV_IF
CLI_IF=$CLI_IF
DATA=$data
MNT=$MEZZB_DIR/mnt
EOF
    # Reachability from the client side.
    in_ns $CLI_NS bash -c "exec 3<>/dev/tcp/$SRV_ADDR/$PROXY_PORT" \
        || die "cannot connect to $proxy_addr from $CLI_NS"
    trap - EXIT
    log "up: profile $profile, endpoint http://$proxy_addr (server $server_addr in $SRV_NS)"
}

cmd_status() {
    local ns
    [[ -f $MEZZB_DIR/env ]] && cat "$MEZZB_DIR/env" || echo "down (no $MEZZB_DIR/env)"
    for ns in $SRV_NS $CLI_NS; do
        [[ -e /run/netns/$ns ]] || continue
        echo "--- $ns: pids $(ip netns pids "$ns" | tr '\n' ' ')"
        tc -n "$ns" qdisc show
    done
    fuse_mounts_under "$MEZZB_DIR" | sed 's/^/mounted: /'
}

case ${1:-} in
    up) [[ $# == 2 ]] || die "usage: $0 up PROFILE"; cmd_up "$2" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    *) die "usage: $0 up PROFILE | down | status" ;;
esac
