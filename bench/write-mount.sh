#!/bin/bash
# Writing through a mount (--write-dir) vs `mezzfs put` of the same file, same binary, same
# store: the S3 test server on loopback, unshaped, or with PROFILE=s3-like (or lan,
# far-region) behind bench/netns.sh's shaped link, where the link's upload ceiling is
# measured first. Alternates the two, RUNS times each, and prints MB/s and the mount's peak
# RSS (VmHWM) against its --memory.
# MOUNT_ARGS adds flags to the mount (e.g. "--replay /tmp/w.mezzreplay").
# Usage: [PROFILE=s3-like] bash bench/write-mount.sh [SIZE_MIB=1024] [RUNS=3] [BIN_DIR=target/debug]
set -euo pipefail
size=${1:-1024}; runs=${2:-3}; bin=${3:-target/debug}
if [ -n "${PROFILE:-}" ]; then . "$(dirname "$0")/lib/s3-netns.sh"; else . "$(dirname "$0")/lib/s3-loopback.sh"; fi
mbps() { python3 -c "print(f'{$size*1.048576/$1:.0f}')"; }
for r in $(seq "$runs"); do
  t0=$(date +%s.%N); $m put "$work/src.bin" "put/$r.bin"; t1=$(date +%s.%N)
  put_s=$(python3 -c "print($t1-$t0)")
  $m mount "$work/mnt" --write-dir out=mount/ --memory ${MEMORY:-256MiB} --log-file "$work/mount.log" ${MOUNT_ARGS:-} 2>/dev/null
  pid=$(pgrep -n -f "mezzfs.*mount $work/mnt")
  t0=$(date +%s.%N); dd if="$work/src.bin" of="$work/mnt/out/$r.bin" bs=1M status=none; t1=$(date +%s.%N)
  mnt_s=$(python3 -c "print($t1-$t0)")
  hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
  $m unmount "$work/mnt"
  # Both objects go, so that runs do not fill the store's memory-backed disk: the memory
  # pressure of earlier runs would slow the next.
  clear_objects
  echo "run $r: put $(mbps $put_s) MB/s, mount write $(mbps $mnt_s) MB/s ($(python3 -c "print(f'{$put_s/$mnt_s:.2f}')")x put), mount peak RSS $((hwm >> 10)) MiB of --memory ${MEMORY:-256MiB}"
done
