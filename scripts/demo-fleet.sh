#!/usr/bin/env bash
# The fleet on one machine, with nothing from a cloud: a clip put as an encrypted mezzfs object in
# the demo's directory store, an SQS queue in moto's server on 127.0.0.1, `submit` sending one
# message per scene, two `segment-encode worker` processes (stateless: each reads only its
# scenes' bytes of the object) taking them, `status`, then `assemble` checking every chunk and
# joining them; dav1d decodes the result. Last, abr-sim compares audio/video rules on a seeded
# synthetic cellular trace set.
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

echo "== abr-sim: audio and video chosen jointly, on 8 synthetic cellular traces"
"$bin/abr-sim" synth --kind cellular -n 8 -o "$demo/traces" >/dev/null
"$bin/abr-sim" compare -t "$demo/traces" --algos bola+fixed@192,bola+indep,joint \
    --baseline bola+fixed@192 --candidate joint --optimum 2>&1 | grep -v '^$'
