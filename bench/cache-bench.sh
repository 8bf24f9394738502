#!/usr/bin/env bash
# The mount's caches on the shaped "far-region" network (bench/netns.sh: the origin behind an
# 80 ms RTT, 500 Mbit/s link, 200 Mbit/s per connection):
#
#   regional cache: a near S3 server inside the client namespace (unshaped loopback) caches
#     the far origin. Worker 1 (cold: reads the origin, copies to the near bucket), worker 2
#     (warm: reads the near bucket). Peer in the same run: a mount without the regional cache.
#   disk cache: --cache-dir on local disk; cold read, then a remount reading from disk with the
#     page cache dropped. Peer in the same run: reading the same bytes from a plain file on the
#     same disk with the page cache dropped.
#
#   bash bench/cache-bench.sh [SIZE_MIB]      (root; default 1024)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SIZE_MIB=${1:-1024}
BIN=$ROOT/target/release
[[ $(id -u) == 0 ]] || { echo "must run as root" >&2; exit 1; }
[[ ${SKIP_BUILD:-0} == 1 ]] || cargo build --release -q -p mezzfs -p mezz-s3-server -p mezz-delay-line -p mezz-testkit
export MEZZB_DIR=${MEZZB_DIR:-/dev/shm/mezzb}
bash bench/netns.sh down >/dev/null 2>&1 || true
bash bench/netns.sh up far-region >&2
trap 'bash bench/netns.sh down >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
source "$MEZZB_DIR/env"
work=$(mktemp -d /var/tmp/mezz-cache-bench.XXXX)
trap 'bash bench/netns.sh down >/dev/null 2>&1 || true; pkill -f "$work/near" || true; rm -rf "$work"' EXIT
calc() { python3 -c "print($1)"; }
cli() { nsenter --net="/run/netns/$CLI_NS" "$@"; }
export AWS_ACCESS_KEY_ID=mezz-test-access-key AWS_SECRET_ACCESS_KEY=mezz-test-secret-key AWS_REGION=us-east-1
unset AWS_CA_BUNDLE AWS_PROFILE AWS_ENDPOINT_URL
export MEZZFS_KEY_FILE=$work/key MEZZFS_STORE=s3://mezz/bench
mezz() { cli "$BIN/mezzfs" --quiet --endpoint-url "$ENDPOINT" "$@"; }
"$BIN/mezzfs" key generate "$MEZZFS_KEY_FILE" >/dev/null

"$BIN/mezz-testdata" "$((SIZE_MIB << 20))" 7 > "$work/source.bin"
echo "putting $SIZE_MIB MiB into the far origin" >&2
mezz put "$work/source.bin" movie >/dev/null

# The near bucket: its own server in the client namespace, on loopback.
cli setsid "$BIN/mezz-s3-server" --root "$work/near" --listen 127.0.0.1:9300 --bucket near \
    >"$work/near.log" 2>&1 &
sleep 1
NEAR=http://127.0.0.1:9300

timed_read() { # mountpoint file -> seconds
    sync; echo 3 > /proc/sys/vm/drop_caches
    local t0 t1; t0=$(date +%s.%N); cli cat "$1/$2" > /dev/null; t1=$(date +%s.%N)
    calc "$t1 - $t0"
}
mount_read() { # name extra-args... -> prints "seconds json-stats"
    local mnt=$work/mnt-$1; shift; mkdir -p "$mnt"
    mezz mount "$mnt" --object movie --log-file "$work/$(basename "$mnt").log" "$@" >/dev/null
    local s; s=$(timed_read "$mnt" movie)
    local stats; stats=$(cat "$mnt/.mezzfs-stats")
    local t0 t1; t0=$(date +%s.%N); mezz unmount "$mnt" >/dev/null
    while pgrep -f "mezzfs.*mount $mnt" >/dev/null; do sleep 0.1; done
    t1=$(date +%s.%N)
    echo "$s $(calc "$t1 - $t0") $(echo "$stats" | python3 -c 'import json,sys; d=json.load(sys.stdin); r=(d.get("store") or {}).get("regional") or {}; c=(d.get("store") or {}).get("disk_cache") or {}; print(r.get("origin_bytes",0), r.get("near_bytes",0), c.get("bytes_from_disk",0), c.get("bytes_from_inner",0))')"
}
mib() { python3 -c "print(f'{$1/1048576:.0f}')"; }
row() { # label seconds unmount origin near disk inner
    printf '| %s | %.2f | %.0f | %s | %s | %s |\n' "$1" "$2" "$(calc "$SIZE_MIB / $2")" "$(mib "$4")" "$(mib "$5")" "$(mib "$6")"
}
echo "| run | read s | MiB/s | origin MiB | near MiB | disk MiB |"
echo "|---|--:|--:|--:|--:|--:|"
read -r s u o n d i < <(mount_read plain)
row "no cache (peer)" "$s" "$u" "$o" "$n" "$d"
read -r s u o n d i < <(mount_read w1 --regional-cache s3://near/cache --regional-endpoint-url "$NEAR")
row "regional, worker 1 (cold; copy finished $(printf '%.1f' "$u") s after its read)" "$s" "$u" "$o" "$n" "$d"
read -r s u o n d i < <(mount_read w2 --regional-cache s3://near/cache --regional-endpoint-url "$NEAR")
row "regional, worker 2 (warm)" "$s" "$u" "$o" "$n" "$d"
read -r s u o n d i < <(mount_read d1 --cache-dir "$work/disk" --cache-size 4GiB)
row "disk cache, first mount (cold)" "$s" "$u" "$o" "$n" "$d"
read -r s u o n d i < <(mount_read d2 --cache-dir "$work/disk" --cache-size 4GiB)
row "disk cache, remount (warm; $(mib "$i") MiB from the store)" "$s" "$u" "$o" "$n" "$d"
sync; echo 3 > /proc/sys/vm/drop_caches
t0=$(date +%s.%N); cat "$work/source.bin" > /dev/null; t1=$(date +%s.%N)
s=$(calc "$t1 - $t0")
printf '| plain file on the same disk (peer) | %.2f | %.0f | | | |\n' "$s" "$(calc "$SIZE_MIB / $s")"
