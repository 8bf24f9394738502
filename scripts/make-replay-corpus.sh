#!/usr/bin/env bash
# Regenerates replays/corpus/: real recordings (mezzfs mount --replay) of the canonical access
# patterns over small objects in a local store. The objects' bytes are
# mezz_testkit::random_bytes(size, seed) (made here by mezz-testdata), so tests and the batch
# gate recreate them exactly; replays/corpus/objects.txt lists name, size and seed.
#
# Needs root and FUSE, like the mount. Replays record the fixed-8MiB strategy's mount; reruns
# choose their own strategy.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p mezzfs -p mezz-testkit
bin=$PWD/target/release
out=$PWD/replays/corpus
work=$(mktemp -d)
trap 'mountpoint -q "$work/mnt" && fusermount3 -u -z "$work/mnt"; rm -rf "$work"' EXIT
export MEZZFS_STORE=$work/store MEZZFS_KEY_FILE=$work/key
"$bin/mezzfs" key generate "$MEZZFS_KEY_FILE" >/dev/null
mkdir -p "$out" "$work/mnt"

# name size seed
objects="corpus/a $((128 << 20)) 1
corpus/b $((96 << 20)) 2
corpus/c $((256 << 20)) 3"
# Other recordings' objects (bench/record-tool-replays.sh) stay listed.
{ echo "$objects"; grep -v -E '^corpus/[abc] ' "$out/objects.txt" 2>/dev/null || true; } >"$work/objects.txt"
mv "$work/objects.txt" "$out/objects.txt"
while read -r name size seed; do
    "$bin/mezz-testdata" "$size" "$seed" >"$work/src"
    "$bin/mezzfs" -q put "$work/src" "$name" --part-size 8MiB
done <<<"$objects"

record() { # NAME WORKLOAD MOUNT-ARGS...
    local name=$1 workload=$2
    shift 2
    "$bin/mezzfs" mount "$work/mnt" "$@" --readahead fixed --replay "$out/$name.mezzreplay" \
        --log-file "$work/log"
    echo 3 >/proc/sys/vm/drop_caches
    python3 - "$work/mnt" "$workload" <<'PY'
import os, random, sys, threading
mnt, workload = sys.argv[1], sys.argv[2]
def pread_all(path, start, length, bs):
    fd = os.open(path, os.O_RDONLY)
    try:
        off = start
        while off < start + length:
            n = len(os.pread(fd, min(bs, start + length - off), off))
            if n == 0: break
            off += n
    finally:
        os.close(fd)
def sparse(path, count, seed):
    fd = os.open(path, os.O_RDONLY); size = os.fstat(fd).st_size; r = random.Random(seed)
    for _ in range(count):
        os.pread(fd, 65536, r.randrange(0, size // 65536) * 65536)
    os.close(fd)
if workload == "dense":
    pread_all(f"{mnt}/a", 0, 128 << 20, 1 << 20)
elif workload == "sparse":
    sparse(f"{mnt}/c", 64, 7)
elif workload == "parallel4":
    ts = [threading.Thread(target=pread_all, args=(f"{mnt}/a", i * (32 << 20), 32 << 20, 256 << 10)) for i in range(4)]
    [t.start() for t in ts]; [t.join() for t in ts]
elif workload == "scenes":
    for i in range(4):
        pread_all(f"{mnt}/scenes/scene-{i:04}", 0, os.stat(f"{mnt}/scenes/scene-{i:04}").st_size, 1 << 20)
elif workload == "mixed":
    pread_all(f"{mnt}/b", 0, 48 << 20, 1 << 20)
    sparse(f"{mnt}/b", 64, 9)
PY
    "$bin/mezzfs" unmount "$work/mnt"
    while pgrep -f "mount $work/mnt" >/dev/null; do sleep 0.1; done
    echo "recorded $name: $(stat -c %s "$out/$name.mezzreplay") bytes"
}

record dense dense --object a=corpus/a
record sparse sparse --object c=corpus/c
record parallel4 parallel4 --object a=corpus/a
record scenes scenes --range scenes/scene-0000=corpus/b:0+20MiB \
    --range scenes/scene-0001=corpus/b:20MiB+28MiB --range scenes/scene-0002=corpus/b:48MiB+12MiB \
    --range scenes/scene-0003=corpus/b:60MiB+36MiB
record mixed mixed --object b=corpus/b
