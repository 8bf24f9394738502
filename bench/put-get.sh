#!/usr/bin/env bash
# Put/get throughput of `mezzfs` against the AWS CLI, both talking to the same
# `mezz-s3-server` on loopback, with all data on /dev/shm (tmpfs).
#
#   bash bench/put-get.sh
#
# Environment knobs (see bench/README.md):
#   SIZE_MIB=1024     size of the random source file in MiB
#   RUNS=3            interleaved runs per command (min and median are reported)
#   SHM=/dev/shm      directory for source, outputs and server data (should be tmpfs)
#   MEZZ_VARIANTS=auto  auto | yes | no : extra mezzfs rows with --concurrency 16 and
#                     --chunk-size 16MiB (auto: only if mezzfs is clearly slower than aws cli)
#   AWS_TUNED=1       also run the AWS CLI with max_concurrent_requests=16, multipart_chunksize=8MB
#   SKIP_BUILD=1      do not run cargo build (use existing target/release binaries)
#   BIN_DIR=target/release  where mezzfs and mezz-s3-server are taken from (copied to the
#                     scratch dir first, so a concurrent cargo build cannot swap them mid-run)
#   SERVER_RUST_LOG=warn    RUST_LOG for the server
#   RESULTS_DIR=bench/results  where the Markdown result file goes
set -euo pipefail

SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-3}
SHM=${SHM:-/dev/shm}
MEZZ_VARIANTS=${MEZZ_VARIANTS:-auto}
AWS_TUNED=${AWS_TUNED:-1}
SKIP_BUILD=${SKIP_BUILD:-0}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
BIN=${BIN_DIR:-$ROOT/target/release}

log() { printf '[put-get] %s\n' "$*" >&2; }
die() { printf '[put-get] error: %s\n' "$*" >&2; exit 1; }

[[ $SIZE_MIB =~ ^[1-9][0-9]*$ ]] || die "SIZE_MIB must be a positive integer, got '$SIZE_MIB'"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$RUNS'"
[[ -d $SHM && -w $SHM ]] || die "$SHM is not a writable directory"
if [[ $(stat -f -c %T "$SHM") != tmpfs ]]; then
    log "warning: $SHM is not tmpfs; disk speed may dominate"
fi
need_mib=$(( SIZE_MIB * 6 + 256 ))  # source + 2 outputs + server copies (awscli, mezz) + slack
avail_mib=$(( $(df -Pm "$SHM" | awk 'NR==2 {print $4}') ))
(( avail_mib >= need_mib )) || die "$SHM has ${avail_mib} MiB free, need about ${need_mib} MiB"

# ---------------------------------------------------------------- cleanup ---
WORK=$(mktemp -d "$SHM/mezz-bench.XXXXXX")
SERVER_PID=
CHILD_PGID=   # the timed command currently running, in a session of its own
cleanup() {
    local rc=$?
    if [[ -n $CHILD_PGID ]]; then
        kill -TERM -- "-$CHILD_PGID" 2>/dev/null || true
        wait "$CHILD_PGID" 2>/dev/null || true
    fi
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    # Any other background job of this shell.
    local j
    for j in $(jobs -p); do kill -TERM "$j" 2>/dev/null || true; done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------- tooling ---
if [[ $SKIP_BUILD != 1 ]]; then
    log "building release binaries"
    (cd "$ROOT" && cargo build --release -p mezzfs -p mezz-s3-server) >&2
fi
[[ -x $BIN/mezzfs && -x $BIN/mezz-s3-server ]] || die "missing $BIN/mezzfs or $BIN/mezz-s3-server"
# Snapshot the binaries: a concurrent `cargo build` must not swap them mid-benchmark.
mkdir -p "$WORK/bin"
cp "$BIN/mezzfs" "$BIN/mezz-s3-server" "$WORK/bin/"
BIN=$WORK/bin

if ! command -v aws >/dev/null 2>&1; then
    log "aws cli not found; installing with pip"
    python3 -m pip install --quiet awscli
    hash -r
    if ! command -v aws >/dev/null 2>&1; then
        # pip --user puts scripts in ~/.local/bin
        PATH="$(python3 -m site --user-base)/bin:$PATH"
        command -v aws >/dev/null 2>&1 || die "aws cli still not on PATH after pip install"
    fi
fi
AWS=$(command -v aws)

if [[ ! -x /usr/bin/time ]]; then
    log "/usr/bin/time not found; installing Debian package 'time'"
    SUDO=; [[ $(id -u) == 0 ]] || SUDO=sudo
    $SUDO apt-get install -y time >&2 || { $SUDO apt-get update >&2 && $SUDO apt-get install -y time >&2; }
    [[ -x /usr/bin/time ]] || die "could not install /usr/bin/time"
fi

# ------------------------------------------------------------ environment ---
export AWS_ACCESS_KEY_ID=mezz-test-access-key
export AWS_SECRET_ACCESS_KEY=mezz-test-secret-key
export AWS_DEFAULT_REGION=us-east-1
export AWS_REGION=us-east-1
unset AWS_CA_BUNDLE AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 \
      MEZZFS_STORE MEZZFS_KEY_FILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE || true
# Keep the user's ~/.aws/config out of the "default" row: an empty config file.
AWS_DEFAULT_CFG=$WORK/aws-config-default
AWS_TUNED_CFG=$WORK/aws-config-tuned
: >"$AWS_DEFAULT_CFG"
: >"$WORK/aws-credentials"
export AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
AWS_CONFIG_FILE=$AWS_TUNED_CFG "$AWS" configure set default.s3.max_concurrent_requests 16
AWS_CONFIG_FILE=$AWS_TUNED_CFG "$AWS" configure set default.s3.multipart_chunksize 8MB

# ---------------------------------------------------------------- server ---
DATA=$WORK/s3data
SRV_OUT=$WORK/server.stdout
SRV_ERR=$WORK/server.stderr
mkdir -p "$DATA"
: >"$SRV_OUT"
RUST_LOG=${SERVER_RUST_LOG:-warn} "$BIN/mezz-s3-server" --root "$DATA" --listen 127.0.0.1:0 --bucket bench \
    >"$SRV_OUT" 2>"$SRV_ERR" &
SERVER_PID=$!
ENDPOINT=
deadline=$(( SECONDS + 30 ))
while (( SECONDS < deadline )); do
    if ENDPOINT=$(sed -n 's/^listening on \(http:\/\/[^ ]*\).*/\1/p' "$SRV_OUT" | head -n1) && [[ -n $ENDPOINT ]]; then
        break
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        die "mezz-s3-server exited before listening; stderr:
$(tail -n 20 "$SRV_ERR")"
    fi
    sleep 0.1
done
[[ -n $ENDPOINT ]] || die "mezz-s3-server did not print 'listening on http://ADDR' within 30 s; stderr:
$(tail -n 20 "$SRV_ERR")"
log "server pid $SERVER_PID at $ENDPOINT, data in $DATA"

KEY=$WORK/key
"$BIN/mezzfs" key generate "$KEY" >/dev/null 2>&1 || die "mezzfs key generate failed"

# ---------------------------------------------------------------- source ---
SRC=$WORK/src.bin
OUT_AWS=$WORK/out-aws
OUT_MEZZ=$WORK/out-mezz
log "writing ${SIZE_MIB} MiB of random bytes to $SRC"
head -c "$(( SIZE_MIB * 1048576 ))" /dev/urandom >"$SRC"
BYTES=$(stat -c %s "$SRC")

# ------------------------------------------------------------- commands ---
# Each "tool" is a label plus a function taking (put|get).
MEZZ=("$BIN/mezzfs" --endpoint-url "$ENDPOINT" --store s3://bench/mezz --key-file "$KEY" -q)

cmd_awscli() {  # op
    local cfg=$1 op=$2
    if [[ $op == put ]]; then
        AWS_CONFIG_FILE=$cfg "$AWS" --endpoint-url "$ENDPOINT" s3 cp --only-show-errors "$SRC" s3://bench/awscli/obj
    else
        rm -f "$OUT_AWS"
        AWS_CONFIG_FILE=$cfg "$AWS" --endpoint-url "$ENDPOINT" s3 cp --only-show-errors s3://bench/awscli/obj "$OUT_AWS"
    fi
}
cmd_mezzfs() {  # extra-args... op
    local op=${!#}
    local extra=("${@:1:$#-1}")
    if [[ $op == put ]]; then
        "${MEZZ[@]}" put "$SRC" obj "${extra[@]}"
    else
        rm -f "$OUT_MEZZ"
        "${MEZZ[@]}" get obj -o "$OUT_MEZZ" "${extra[@]}"
    fi
}

TOOLS=()              # labels, in table order
declare -A TOOL_CMD   # label -> command prefix (eval'd with op appended)
declare -A TOOL_KIND  # label -> aws | mezz
add_tool() { TOOLS+=("$1"); TOOL_KIND[$1]=$2; TOOL_CMD[$1]=$3; }

add_tool "aws cli (default)" aws "cmd_awscli '$AWS_DEFAULT_CFG'"
if [[ $AWS_TUNED == 1 ]]; then
    add_tool "aws cli (16 req, 8MB)" aws "cmd_awscli '$AWS_TUNED_CFG'"
fi
add_tool "mezzfs (default)" mezz "cmd_mezzfs"

# ----------------------------------------------------------------- timing ---
declare -A SAMPLES   # "label|op" -> space-separated seconds
declare -A RSS       # "label|op" -> max KiB over runs
declare -A CPU       # "label|op" -> space-separated user+sys seconds of the client
declare -A SCPU      # "label|op" -> space-separated user+sys seconds the server spent meanwhile
CLK_TCK=$(getconf CLK_TCK)
server_cpu() {  # user+sys seconds of the server so far (fields 14 and 15 of /proc/PID/stat)
    sed 's/^.*) //' "/proc/$SERVER_PID/stat" | awk -v hz="$CLK_TCK" '{ printf "%.2f", ($12 + $13) / hz }'
}
declare -A NOTES     # "label|op" -> stderr noise seen
ERRLOG=$WORK/cmd.stderr

run_one() {  # label op
    local label=$1 op=$2 key="$1|$2" tf=$WORK/time.out
    rm -f "$tf"
    # Page cache is irrelevant on tmpfs; still, start each command from a quiet point.
    sync
    local s0 s1
    s0=$(server_cpu)
    # In the background and in its own session, so that a signal to this script runs the
    # cleanup trap at once and the trap can kill the whole command (time, bash, aws/mezzfs).
    setsid /usr/bin/time -o "$tf" -f '%e %M %U %S' bash -c "$(declare -f cmd_awscli cmd_mezzfs); \
            $(declare -p AWS ENDPOINT SRC OUT_AWS OUT_MEZZ MEZZ); ${TOOL_CMD[$label]} $op" \
            </dev/null >/dev/null 2>"$ERRLOG" &
    CHILD_PGID=$!
    local status=0
    wait "$CHILD_PGID" || status=$?
    CHILD_PGID=
    if (( status != 0 )); then
        die "$label $op failed:
$(tail -n 20 "$ERRLOG")"
    fi
    s1=$(server_cpu)
    local secs kib usr sys
    read -r secs kib usr sys < <(tail -n1 "$tf")
    SAMPLES[$key]="${SAMPLES[$key]:-} $secs"
    CPU[$key]="${CPU[$key]:-} $(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
    SCPU[$key]="${SCPU[$key]:-} $(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.2f", b - a }')"
    if (( kib > ${RSS[$key]:-0} )); then RSS[$key]=$kib; fi
    if [[ -s $ERRLOG ]]; then
        NOTES[$key]=$(head -c 300 "$ERRLOG" | tr '\n\r' '  ')
    fi
    log "$(printf '%-26s %-3s %7.2f s  %6d MiB RSS  CPU %6.2f s client, %6.2f s server' "$label" "$op" "$secs" \
        $(( kib / 1024 )) "$(awk -v u="$usr" -v s="$sys" 'BEGIN { print u + s }')" "$(awk -v a="$s0" -v b="$s1" 'BEGIN { print b - a }')")"
}

verified=()
verify_once() {  # label op file
    local tag="$1"
    [[ " ${verified[*]:-} " == *" $tag "* ]] && return 0
    cmp -s "$SRC" "$2" || die "$tag: output $2 differs from the source"
    verified+=("$tag")
    log "verified: $tag output equals source"
}

bench_tools() {  # labels...
    local r label
    for (( r = 1; r <= RUNS; r++ )); do
        log "run $r/$RUNS"
        for label in "$@"; do
            run_one "$label" put
            run_one "$label" get
            if [[ ${TOOL_KIND[$label]} == aws ]]; then
                verify_once "${label// /_}" "$OUT_AWS"
                rm -f "$OUT_AWS"
            else
                verify_once "${label// /_}" "$OUT_MEZZ"
                rm -f "$OUT_MEZZ"
            fi
        done
    done
}

bench_tools "${TOOLS[@]}"

# ---------------------------------------------------------------- stats ---
stat_min() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | head -n1; }
stat_median() {
    tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {
        if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2] + a[NR/2+1]) / 2 }'
}
mbps() { awk -v b="$BYTES" -v s="$1" 'BEGIN { if (s > 0) printf "%.0f", b / 1e6 / s; else print "inf" }'; }

# Extra mezzfs variants if it is clearly slower than the best aws cli row for some op.
best_aws_min() {  # op -> smallest min among aws rows
    local op=$1 best='' l m
    for l in "${TOOLS[@]}"; do
        [[ ${TOOL_KIND[$l]} == aws ]] || continue
        m=$(stat_min "${SAMPLES[$l|$op]}")
        if [[ -z $best ]] || awk -v a="$m" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$m; fi
    done
    echo "$best"
}
want_variants=0
case $MEZZ_VARIANTS in
    yes|1) want_variants=1 ;;
    no|0) ;;
    auto)
        for op in put get; do
            m=$(stat_min "${SAMPLES[mezzfs (default)|$op]}")
            a=$(best_aws_min "$op")
            # "clearly below": more than 10% slower than the best aws cli row.
            if awk -v m="$m" -v a="$a" 'BEGIN { exit !(m > a * 1.10) }'; then want_variants=1; fi
        done ;;
    *) die "MEZZ_VARIANTS must be auto, yes or no" ;;
esac
if (( want_variants )); then
    log "running extra mezzfs variants"
    add_tool "mezzfs --concurrency 16" mezz "cmd_mezzfs --concurrency 16"
    add_tool "mezzfs --chunk-size 16MiB" mezz "cmd_mezzfs --chunk-size 16MiB"
    add_tool "mezzfs --concurrency 16 --chunk-size 16MiB" mezz "cmd_mezzfs --concurrency 16 --chunk-size 16MiB"
    bench_tools "mezzfs --concurrency 16" "mezzfs --chunk-size 16MiB" "mezzfs --concurrency 16 --chunk-size 16MiB"
fi

# ---------------------------------------------------------------- report ---
mkdir -p "$RESULTS_DIR"
STAMP=$(date +%Y-%m-%d-%H%M%S)
RESULT=$RESULTS_DIR/put-get-$STAMP.md
AWS_ROWS=()
for l in "${TOOLS[@]}"; do [[ ${TOOL_KIND[$l]} == aws ]] && AWS_ROWS+=("$l"); done

{
    echo "# mezzfs vs AWS CLI: put/get on loopback ($(date -u +'%Y-%m-%d %H:%M UTC'))"
    echo
    echo "- object: ${SIZE_MIB} MiB of random bytes ($BYTES bytes), source and outputs on $SHM ($(stat -f -c %T "$SHM"))"
    echo "- server: mezz-s3-server at $ENDPOINT, data on $SHM; runs: $RUNS, interleaved"
    echo "- machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
    echo "- mezzfs: $("$BIN/mezzfs" --version 2>/dev/null) @ $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]] && echo ' (dirty tree)')"
    echo "- aws cli: $("$AWS" --version 2>&1 | head -n1)"
    echo "- MB/s = 10^6 bytes / min seconds; RSS = peak resident set over runs (/usr/bin/time %M);"
    echo "  client/server CPU s = median user+sys seconds of the client process / of the server"
    echo "  during that command (both share the same $(nproc) CPUs)"
    echo "- ratio = mezzfs throughput / peer throughput (from min); > 1 means mezzfs is faster"
    echo
    printf '| tool | op | min s | median s | MB/s | peak RSS MiB | client CPU s | server CPU s |'
    for p in "${AWS_ROWS[@]}"; do printf ' vs %s |' "$p"; done
    echo
    printf '|---|---|--:|--:|--:|--:|--:|--:|'
    for _ in "${AWS_ROWS[@]}"; do printf -- '--:|'; done
    echo
    for op in put get; do
        for l in "${TOOLS[@]}"; do
            k="$l|$op"
            mn=$(stat_min "${SAMPLES[$k]}")
            md=$(stat_median "${SAMPLES[$k]}")
            printf '| %s | %s | %.2f | %.2f | %s | %d | %.2f | %.2f |' "$l" "$op" "$mn" "$md" "$(mbps "$mn")" \
                $(( RSS[$k] / 1024 )) "$(stat_median "${CPU[$k]}")" "$(stat_median "${SCPU[$k]}")"
            for p in "${AWS_ROWS[@]}"; do
                if [[ ${TOOL_KIND[$l]} == mezz ]]; then
                    pm=$(stat_min "${SAMPLES[$p|$op]}")
                    printf ' %sx |' "$(awk -v a="$pm" -v b="$mn" 'BEGIN { printf "%.2f", a / b }')"
                else
                    printf ' |'
                fi
            done
            echo
        done
    done
    echo
    echo "All samples (seconds):"
    echo
    for op in put get; do
        for l in "${TOOLS[@]}"; do echo "- $l $op:${SAMPLES[$l|$op]}"; done
    done
    if (( ${#NOTES[@]} )); then
        echo
        echo "stderr output seen (last run):"
        echo
        while IFS= read -r k; do echo "- $k: \`${NOTES[$k]}\`"; done < <(printf '%s\n' "${!NOTES[@]}" | sort)
    fi
} >"$RESULT"

cat "$RESULT"
log "wrote $RESULT"
