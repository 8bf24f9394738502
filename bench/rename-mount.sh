#!/bin/bash
# Renaming a file in a writable mount (server-side copies of its parts, a new manifest)
# against writing the same bytes again (what a rename costs a tool that has to copy): the
# same binary and mount on the S3 test server on loopback (unshaped). Per run: `dd` SIZE MiB
# into out/, then `mv` it to another name in out/; prints both times and their ratio.
# Usage: bash bench/rename-mount.sh [SIZE_MIB=256] [RUNS=3] [BIN_DIR=target/debug]
set -euo pipefail
size=${1:-256}; runs=${2:-3}; bin=${3:-target/debug}
. "$(dirname "$0")/lib/s3-loopback.sh"
$m mount "$work/mnt" --write-dir out=renamed/ --memory 256MiB --log-file "$work/mount.log" 2>/dev/null
now() { date +%s.%N; }
for r in $(seq "$runs"); do
  t0=$(now); dd if="$work/src.bin" of="$work/mnt/out/.$r.tmp" bs=1M status=none; t1=$(now)
  mv "$work/mnt/out/.$r.tmp" "$work/mnt/out/$r.bin"; t2=$(now)
  python3 -c "w=$t1-$t0; r=$t2-$t1; print(f'run $r: write $size MiB {w:.2f} s, rename {r:.3f} s ({r/w:.3f}x the write)')"
done
$m ls renamed/ | grep -c '\.bin' | xargs echo "objects under renamed/:"
$m unmount "$work/mnt"
