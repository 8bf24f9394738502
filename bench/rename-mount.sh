#!/bin/bash
# Renaming a file in a writable mount (server-side copies of its parts, a new manifest)
# against writing the same bytes again (what a rename costs a tool that has to copy): the
# same binary and mount on the S3 test server on loopback (unshaped). Per run: `dd` SIZE MiB
# into out/, then `mv` it to another name in out/; prints both times and their ratio.
# Usage: bash bench/rename-mount.sh [SIZE_MIB=256] [RUNS=3] [BIN_DIR=target/debug]
set -euo pipefail
size=${1:-256}; runs=${2:-3}; bin=${3:-target/debug}
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
$m mount "$work/mnt" --write-dir out=renamed/ --memory 256MiB --log-file "$work/mount.log" 2>/dev/null
now() { date +%s.%N; }
for r in $(seq "$runs"); do
  t0=$(now); dd if="$work/src.bin" of="$work/mnt/out/.$r.tmp" bs=1M status=none; t1=$(now)
  mv "$work/mnt/out/.$r.tmp" "$work/mnt/out/$r.bin"; t2=$(now)
  python3 -c "w=$t1-$t0; r=$t2-$t1; print(f'run $r: write $size MiB {w:.2f} s, rename {r:.3f} s ({r/w:.3f}x the write)')"
done
$m ls renamed/ | grep -c '\.bin' | xargs echo "objects under renamed/:"
$m unmount "$work/mnt"
