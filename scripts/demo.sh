#!/usr/bin/env bash
# The main job on the embedded default store (a local directory; no cloud account needed):
# make a key, store a generated 256 MiB sample as an encrypted multi-part object, read a byte
# range back and check it, and authenticate every segment.
#
# Against S3 instead: MEZZFS_STORE=s3://bucket/prefix (plus the usual AWS_* settings, or
# --endpoint-url for an S3-compatible server).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p mezzfs
mezzfs=$PWD/target/release/mezzfs

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
echo "store: $MEZZFS_STORE   key: $MEZZFS_KEY_FILE"
