#!/bin/bash
# Writing through a mount (--write-dir) vs `mezzfs put` of the same file, same binary, same
# store: the S3 test server on loopback (unshaped; bench/mount-bench.py's shaped profiles do
# not cover writes yet). Alternates the two, RUNS times each, and prints MB/s and the mount's
# peak RSS (VmHWM) against its --memory.
# Usage: bash bench/write-mount.sh [SIZE_MIB=1024] [RUNS=3] [BIN_DIR=target/debug]
set -euo pipefail
size=${1:-1024}; runs=${2:-3}; bin=${3:-target/debug}
work=$(mktemp -d); trap 'fusermount3 -uz "$work/mnt" 2>/dev/null || true; kill $srv 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/s3" "$work/mnt"
"$bin/mezz-s3-server" --root "$work/s3" --bucket media > "$work/srv.log" 2>&1 & srv=$!
for _ in $(seq 50); do grep -q listening "$work/srv.log" && break; sleep 0.1; done
endpoint=$(grep -o 'http://[0-9.:]*' "$work/srv.log" | head -1)
export AWS_ACCESS_KEY_ID=mezz-test-access-key AWS_SECRET_ACCESS_KEY=mezz-test-secret-key AWS_REGION=us-east-1
export MEZZFS_STORE=s3://media/bench MEZZFS_KEY_FILE=$work/key
m="$bin/mezzfs --endpoint-url $endpoint -q"
$m key generate "$work/key" >/dev/null
head -c $((size << 20)) /dev/urandom > "$work/src.bin"
mbps() { python3 -c "print(f'{$size*1.048576/$1:.0f}')"; }
for r in $(seq "$runs"); do
  t0=$(date +%s.%N); $m put "$work/src.bin" "put/$r.bin"; t1=$(date +%s.%N)
  put_s=$(python3 -c "print($t1-$t0)")
  $m mount "$work/mnt" --write-dir out=mount/ --memory 256MiB --log-file "$work/mount.log" 2>/dev/null
  pid=$(pgrep -n -f "mezzfs.*mount $work/mnt")
  t0=$(date +%s.%N); dd if="$work/src.bin" of="$work/mnt/out/$r.bin" bs=1M status=none; t1=$(date +%s.%N)
  mnt_s=$(python3 -c "print($t1-$t0)")
  hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
  $m unmount "$work/mnt"
  echo "run $r: put $(mbps $put_s) MB/s, mount write $(mbps $mnt_s) MB/s ($(python3 -c "print(f'{$put_s/$mnt_s:.2f}')")x put), mount peak RSS $((hwm >> 10)) MiB of --memory 256MiB"
done
