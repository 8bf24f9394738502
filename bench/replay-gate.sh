#!/usr/bin/env bash
# The read-ahead gate on the replay corpus, outside the tests: puts the corpus objects
# (replays/corpus/objects.txt: random_bytes(size, seed)) into a local store and runs
#   mezzfs replay batch replays/corpus --control fixed --candidate adaptive
# with the S3-like shape the CI test uses (20 ms, 720 Mbit/s per request, 2 Gbit/s link).
# MEZZFS=path picks the binary (default target/release/mezzfs), RUNS the reruns per strategy
# (default 3), THRESHOLD the gate (default 1.05). Extra arguments go to `replay batch`.
# Needs root and FUSE.
set -euo pipefail
cd "$(dirname "$0")/.."
mezzfs=${MEZZFS:-$PWD/target/release/mezzfs}
testdata=${TESTDATA:-$(dirname "$mezzfs")/mezz-testdata}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export MEZZFS_STORE=$work/store MEZZFS_KEY_FILE=$work/key
"$mezzfs" key generate "$MEZZFS_KEY_FILE" >/dev/null
while read -r name size seed; do
    "$testdata" "$size" "$seed" >"$work/src"
    "$mezzfs" -q put "$work/src" "$name" --part-size 64MiB
done <replays/corpus/objects.txt
rm -f "$work/src"
"$mezzfs" replay batch replays/corpus --control fixed --candidate adaptive \
    --runs "${RUNS:-3}" --threshold "${THRESHOLD:-1.05}" \
    --latency-ms 20 --request-mbit 720 --link-mbit 2000 "$@"
