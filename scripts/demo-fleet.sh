#!/usr/bin/env bash
# The fleet on one machine, with nothing from a cloud: a clip put as an encrypted mezzfs object in
# the demo's directory store, an SQS queue in moto's server on 127.0.0.1, `submit` sending one
# message per scene, two `segment-encode worker` processes (stateless: each reads only its
# scenes' bytes of the object) taking them, `status`, then `assemble` checking every chunk and
# joining them; dav1d decodes the result. The result is stored back through a writable mount
# (`--write-dir`) and read back with `mezzfs get`. Then a per-scene ladder of the clip (convex
# hull against a fixed ladder), its abr-sim manifests with the segments' real sizes and
# PSNR-Y, also stored through the mount, and abr-sim playing both ladders and comparing rules
# on a seeded synthetic cellular trace set.
#
# Run by scripts/demo.sh after the mount demo; also runs alone. Against AWS the same commands
# run without AWS_ENDPOINT_URL_SQS, with an s3:// store (encoder/README.md, "Fleet").
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v dav1d >/dev/null || need+=(dav1d)
command -v nasm >/dev/null || need+=(nasm)
if ((${#need[@]})); then
    echo "installing: ${need[*]}"
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "${need[@]}"
    else sudo apt-get update -qq && sudo apt-get install -y -qq "${need[@]}"; fi
fi
cargo build --release --quiet -p mezzfs -p segment-encode -p abr-sim
bin=$PWD/target/release
moto=$(bash scripts/install-moto.sh)

demo=${DEMO_DIR:-$PWD/demo}
mkdir -p "$demo"
export MEZZFS_KEY_FILE=${MEZZFS_KEY_FILE:-$demo/key}
export MEZZFS_STORE=${MEZZFS_STORE:-$demo/store}
[ -f "$MEZZFS_KEY_FILE" ] || "$bin/mezzfs" key generate "$MEZZFS_KEY_FILE"

# moto on a free loopback port; any credentials are accepted.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$moto" -H 127.0.0.1 -p "$port" >"$demo/moto.log" 2>&1 &
moto_pid=$!
workers=()
cleanup() { kill "${workers[@]}" "$moto_pid" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$port AWS_EC2_METADATA_DISABLED=true

clip=$demo/bikes.y4m
[ -f "$clip" ] || ffmpeg -loglevel error -i encoder/tests/media/bikes-320x136.mp4 -pix_fmt yuv420p "$clip"

echo "== fleet: queue, submit, two workers, status, assemble"
queue=$("$bin/segment-encode" setup-queue demo-scenes --visibility-timeout 2m --max-receives 3)
echo "queue: $queue"
job=$("$bin/segment-encode" submit demo/bikes.y4m --input "$clip" --queue "$queue" --speed 10 -q)
echo "job: $job"
for w in 1 2; do
    "$bin/segment-encode" worker --queue "$queue" --idle-exit 5s --name "worker-$w" --threads 1 \
        2>"$demo/worker-$w.log" &
    workers+=($!)
done
wait "${workers[@]}"
workers=()
"$bin/segment-encode" status "$job"
out=$demo/bikes-fleet.ivf
"$bin/segment-encode" assemble "$job" -o "$out" -q
frames=$(dav1d -q -i "$out" -o /dev/null --muxer null 2>&1 | grep -o 'Decoded [0-9]*' | grep -o '[0-9]*' || true)
if [ -z "$frames" ]; then
    frames=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames \
        -of csv=p=0 "$out")
fi
want=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames \
    -of csv=p=0 encoder/tests/media/bikes-320x136.mp4)
[ "$frames" = "$want" ] || { echo "the fleet's stream decodes to $frames frames, not $want" >&2; exit 1; }
echo "assembled $out: $frames frames decoded, as many as the clip has"
echo "workers' logs: $demo/worker-1.log $demo/worker-2.log"

echo "== ladder: each scene's convex hull against one fixed resolution and quantizer per rung"
ladder=$demo/ladder
rm -rf "$ladder"
"$bin/segment-encode" ladder "$clip" -o "$ladder" --auto-rungs 4 --speed 10 \
    --quantizers 60,110,160,210 --heights 136,68 --segment-seconds 2 -q
"$bin/segment-encode" bdrate "$ladder/fixed.csv" "$ladder/hull.csv"
# The 320x136 clip's rungs top out near 270 kbit/s, under every trace: sizes x10 put them
# where the traces choose; the 10 s title is played 12 times.
for r in hull fixed; do
    "$bin/segment-encode" abr-manifest "$ladder" --rungs "$r" -o "$demo/$r.json" --repeat 12 \
        --video-bits-scale 10
done

echo "== write-back: the fleet's stream and the ladder stored through a writable mount"
mnt=$demo/out-mnt
mkdir -p "$mnt"
mountpoint -q "$mnt" && "$bin/mezzfs" unmount --lazy "$mnt"
"$bin/mezzfs" mount "$mnt" --object bikes.y4m=demo/bikes.y4m --write-dir out=demo/encodes \
    --allow-overwrite --log-file "$demo/out-mount.log"
cp "$out" "$mnt/out/bikes-fleet.ivf"
mkdir -p "$mnt/out/ladder"
cp "$ladder"/*.csv "$ladder"/ladder.json "$demo/hull.json" "$demo/fixed.json" "$mnt/out/ladder/"
"$bin/mezzfs" unmount "$mnt"
"$bin/mezzfs" ls -l demo/encodes/
"$bin/mezzfs" get demo/encodes/bikes-fleet.ivf -o "$demo/bikes-fleet.stored.ivf" -q
cmp "$out" "$demo/bikes-fleet.stored.ivf"
echo "demo/encodes/bikes-fleet.ivf: identical to the assembled stream"

echo "== abr-sim: audio and video chosen jointly, on 8 synthetic cellular traces"
"$bin/abr-sim" synth --kind cellular -n 8 -o "$demo/traces" >/dev/null
"$bin/abr-sim" compare -t "$demo/traces" --ladder fixed="$demo/fixed.json" \
    --ladder hull="$demo/hull.json" --algos bola,joint --baseline bola@fixed \
    --candidate bola@hull 2>&1 | grep -v '^$'
"$bin/abr-sim" compare -t "$demo/traces" --algos bola+fixed@192,bola+indep,joint \
    --baseline bola+fixed@192 --candidate joint --optimum 2>&1 | grep -v '^$'
