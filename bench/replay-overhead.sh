#!/usr/bin/env bash
# Recording cost: a dense 1 GiB read through `mezzfs mount` with and without `--replay`,
# alternating, RUNS rounds, on the S3 test server over loopback (data on tmpfs). Prints MB/s
# per run and the replay's size. Needs root (FUSE, drop_caches).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
SIZE_MIB=${SIZE_MIB:-1024}
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --quiet -p mezzfs -p mezz-s3-server
bin=$PWD/target/release
work=$(mktemp -d /dev/shm/mezz-replay-ovh.XXXXXX)
mnt=$work/mnt
mkdir -p "$mnt" "$work/s3"
cleanup() {
    mountpoint -q "$mnt" && fusermount3 -u -z "$mnt"
    [ -n "${server:-}" ] && kill "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
"$bin/mezz-s3-server" --root "$work/s3" --listen 127.0.0.1:0 --bucket ovh >"$work/server.out" 2>/dev/null &
server=$!
for _ in $(seq 100); do grep -q listening "$work/server.out" && break; sleep 0.1; done
endpoint=$(sed -n 's/^listening on //p' "$work/server.out")
unset AWS_CA_BUNDLE AWS_PROFILE
export AWS_ACCESS_KEY_ID=mezz-test-access-key AWS_SECRET_ACCESS_KEY=mezz-test-secret-key AWS_REGION=us-east-1
m=("$bin/mezzfs" --store s3://ovh --endpoint-url "$endpoint" --key-file "$work/key")
"${m[@]}" key generate "$work/key" >/dev/null
head -c $((SIZE_MIB << 20)) /dev/urandom >"$work/src"
"${m[@]}" -q put "$work/src" big
rm "$work/src"
echo "| run | mode | MB/s |"
echo "|--:|---|--:|"
for run in $(seq "$RUNS"); do
    for mode in plain replay; do
        extra=()
        [ "$mode" = replay ] && extra=(--replay "$work/dense.mezzreplay")
        "${m[@]}" mount "$mnt" --object big --log-file "$work/mount.log" "${extra[@]}" 2>/dev/null
        echo 1 >/proc/sys/vm/drop_caches
        s=$(date +%s.%N)
        cat "$mnt/big" >/dev/null
        e=$(date +%s.%N)
        "${m[@]}" unmount "$mnt"
        while mountpoint -q "$mnt"; do sleep 0.05; done
        sleep 0.3
        echo "| $run | $mode | $(echo "$SIZE_MIB * 1.048576 / ($e - $s)" | bc -l | cut -c1-6) |"
    done
done
echo
"$bin/mezzfs" replay info "$work/dense.mezzreplay" | sed -n '1,6p'
echo "replay size: $(stat -c %s "$work/dense.mezzreplay") bytes"
