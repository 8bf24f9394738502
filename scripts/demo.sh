#!/usr/bin/env bash
# The main job on the embedded default store (a local directory; no cloud account needed):
# make a key, store a generated 256 MiB sample as an encrypted multi-part object, read a byte
# range back and check it, authenticate every segment, then mount the object and a "scene"
# (a byte range of it) as files with FUSE, check them with sha256sum and cmp, and show the
# mount's statistics. Then the fleet (scripts/demo-fleet.sh): a clip's scenes encoded by two
# queue workers from the same store, joined, decoded, and an ABR comparison.
#
# Against S3 instead: MEZZFS_STORE=s3://bucket/prefix (plus the usual AWS_* settings, or
# --endpoint-url for an S3-compatible server).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v fusermount3 >/dev/null; then
    echo "installing fuse3 (fusermount3) for the mount"
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq fuse3
    else sudo apt-get update -qq && sudo apt-get install -y -qq fuse3; fi
fi
cargo build --release --quiet -p mezzfs -p mezz-tools
mezzfs=$PWD/target/release/mezzfs
viz=$PWD/target/release/replay-viz

demo=${DEMO_DIR:-$PWD/demo}
mkdir -p "$demo"
export MEZZFS_KEY_FILE=${MEZZFS_KEY_FILE:-$demo/key}
export MEZZFS_STORE=${MEZZFS_STORE:-$demo/store}
[ -f "$MEZZFS_KEY_FILE" ] || "$mezzfs" key generate "$MEZZFS_KEY_FILE"

sample=$demo/sample.bin
if [ ! -f "$sample" ]; then
    echo "generating a 256 MiB sample at $sample"
    head -c $((256 << 20)) /dev/urandom >"$sample"
fi

"$mezzfs" put "$sample" demo/sample.bin --part-size 64MiB
"$mezzfs" ls -l
"$mezzfs" stat demo/sample.bin

# A range across the first part boundary, checked against the source.
start=$(((64 << 20) - 1000)) len=$((1 << 20))
"$mezzfs" get demo/sample.bin --range "$start+$len" -o "$demo/range.bin"
if cmp -s "$demo/range.bin" <(tail -c +$((start + 1)) "$sample" | head -c "$len"); then
    echo "range $start+$len: identical to the source"
else
    echo "range $start+$len: DIFFERS from the source" >&2
    exit 1
fi
"$mezzfs" verify demo/sample.bin

# The mount: the whole object and a 48 MiB "scene" from 100 MiB as read-only files.
mnt=$demo/mnt
mkdir -p "$mnt"
mountpoint -q "$mnt" && "$mezzfs" unmount --lazy "$mnt"
"$mezzfs" mount "$mnt" --object sample.bin=demo/sample.bin \
    --range scenes/scene-0001.bin=demo/sample.bin:100MiB+48MiB --log-file "$demo/mount.log" \
    --replay "$demo/mount.mezzreplay"
trap '"$mezzfs" unmount --lazy "$mnt" 2>/dev/null || true' EXIT
ls -lR "$mnt"
want=$(sha256sum <"$sample" | cut -d' ' -f1)
got=$(sha256sum <"$mnt/sample.bin" | cut -d' ' -f1)
[ "$want" = "$got" ] || { echo "mounted sample.bin DIFFERS from the source" >&2; exit 1; }
echo "mounted sample.bin: sha256 identical to the source"
cmp "$mnt/scenes/scene-0001.bin" <(tail -c +$(((100 << 20) + 1)) "$sample" | head -c $((48 << 20)))
echo "mounted scenes/scene-0001.bin: identical to bytes 100MiB+48MiB of the source"
"$mezzfs" stats "$mnt"
"$mezzfs" unmount "$mnt"
trap - EXIT
# The daemon writes the replay's last chunk as it exits.
for _ in $(seq 100); do
    "$mezzfs" replay info --json "$demo/mount.mezzreplay" 2>/dev/null | grep '"clean_end": *true' >/dev/null && break
    sleep 0.1
done
# sed, not head: head stops reading early, and pipefail would count the closed pipe.
"$mezzfs" replay info "$demo/mount.mezzreplay" | sed -n 1,8p
"$viz" "$demo/mount.mezzreplay" --snapshot-at 60% --width 120 --height 32

bash scripts/demo-fleet.sh

echo "watch the mount's replay: $viz $demo/mount.mezzreplay   (? for keys)"
echo "store: $MEZZFS_STORE   key: $MEZZFS_KEY_FILE"
