#!/usr/bin/env bash
# Fleet benchmark: 1 and 2 `segment-encode worker` processes through an SQS queue (moto) with
# the mezzanine in the S3 test server, against `segment-encode encode --workers 1/2` on the same
# clip, scenes and settings, in one run on the same machine.
#
#   encoder/bench/fleet.sh [CLIP.mp4]     (default: the committed 320x136 excerpt, 250 frames)
#   SPEED=6 MOTO=~/.cache/mezz/moto-venv/bin/moto_server encoder/bench/fleet.sh
#
# Prints a Markdown table: wall seconds of each, the fleet's per-scene queue-path cost (a done
# record's seconds from receive to delete, minus its encode seconds: receive, job record, range
# read through mezzfs, chunk upload, delete), and bytes fetched from the store against the
# scenes' bytes. The fleet's wall time runs from the first worker's start to the last scene's
# finish (the idle exit's wait is not counted). Each worker process runs rav1e on one thread
# (--threads 1), as each of `encode --workers N`'s workers does.
set -euo pipefail
cd "$(dirname "$0")/../.."

CLIP=${1:-encoder/tests/media/bikes-320x136.mp4}
SPEED=${SPEED:-6}
MOTO=${MOTO:-${MEZZ_MOTO_SERVER:-moto_server}}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
# One package at a time: built together, their features unify differently and rebuild the AWS SDK.
for p in segment-encode mezz-s3-server mezzfs; do
    [ -x "$CARGO_TARGET_DIR/debug/$p" ] || cargo build -q -p "$p"
done
SE=$CARGO_TARGET_DIR/debug/segment-encode   # opt-level 3 in the dev profile, like its deps

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

ffmpeg -hide_banner -loglevel error -y -i "$CLIP" -pix_fmt yuv420p -strict -1 "$tmp/clip.y4m"
"$SE" scenes "$tmp/clip.y4m" -o "$tmp/scenes.json" 2>/dev/null
SCENES=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['scenes']))" "$tmp/scenes.json")

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$MOTO" -H 127.0.0.1 -p "$port" >"$tmp/moto.log" 2>&1 & pids+=($!)
"$CARGO_TARGET_DIR/debug/mezz-s3-server" --root "$tmp/s3" --bucket media >"$tmp/s3.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do
    grep -q listening "$tmp/s3.log" && (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.2
done
S3=$(sed -n 's/listening on //p' "$tmp/s3.log")
export AWS_ACCESS_KEY_ID=mezz-test-access-key AWS_SECRET_ACCESS_KEY=mezz-test-secret-key
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$port
export MEZZFS_KEY_FILE=$tmp/key MEZZFS_STORE=s3://media/fleet
"$CARGO_TARGET_DIR/debug/mezzfs" key generate "$MEZZFS_KEY_FILE" >/dev/null 2>&1
Q=$("$SE" setup-queue bench --visibility-timeout 60s 2>/dev/null)
SET=(--speed "$SPEED" --tiles 1)

now() { python3 -c 'import time; print(time.time())'; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }

declare -A wall
for w in 1 2; do
    t0=$(now)
    "$SE" encode "$tmp/clip.y4m" -o "$tmp/local$w.ivf" --scenes "$tmp/scenes.json" --workers "$w" "${SET[@]}" 2>/dev/null
    wall[encode$w]=$(elapsed "$t0" "$(now)")
done

declare -A job fetched scene_bytes overhead
for w in 1 2; do
    # A new job per run: the job id hashes the scene list, and its max_scene_len field (not
    # the scenes) differs. The first run puts the object.
    python3 - "$tmp/scenes.json" "$w" >"$tmp/scenes$w.json" <<'PY'
import json, sys
l = json.load(open(sys.argv[1])); l["max_scene_len"] += int(sys.argv[2]); print(json.dumps(l))
PY
    input=(); [ "$w" = 1 ] && input=(--input "$tmp/clip.y4m")
    j=$("$SE" submit clip.y4m "${input[@]}" --scenes "$tmp/scenes$w.json" --queue "$Q" --endpoint-url "$S3" -q "${SET[@]}")
    job[$w]=$j
    t0=$(now)
    wp=()
    for i in $(seq "$w"); do
        "$SE" worker --queue "$Q" --threads 1 --idle-exit 3s --endpoint-url "$S3" 2>"$tmp/w$w-$i.log" & wp+=($!)
    done
    wait "${wp[@]}"
    "$SE" assemble "$j" -o "$tmp/fleet$w.ivf" --endpoint-url "$S3" -q
    cmp -s "$tmp/fleet$w.ivf" "$tmp/local1.ivf" || { echo "fleet output differs from encode" >&2; exit 1; }
    read -r last over fb sb < <(python3 - "$tmp/s3/media/fleet/jobs/$j/done" <<'PY'
import json, os, sys
d = sys.argv[1]
recs = [json.load(open(os.path.join(d, f))) for f in os.listdir(d)]
last = max(r["finished_unix"] for r in recs)
over = sum(r["seconds"] - r["encode_seconds"] for r in recs) / len(recs)
print(last, over, sum(r["fetched_bytes"] for r in recs), sum(r["scene_bytes"] for r in recs))
PY
)
    wall[fleet$w]=$(elapsed "$t0" "$last")
    overhead[$w]=$over; fetched[$w]=$fb; scene_bytes[$w]=$sb
done

echo "clip: $CLIP, $SCENES scenes, speed $SPEED, tiles 1; $(nproc) cores (shared with other work)"
echo
echo "| run | wall s | vs encode, same workers | queue path per scene | fetched / scene bytes |"
echo "|---|---|---|---|---|"
for w in 1 2; do
    echo "| encode --workers $w | ${wall[encode$w]} | 1.00 | - | - |"
    python3 -c "
e, f = ${wall[encode$w]}, ${wall[fleet$w]}
print(f'| $w worker process(es) through the queue | {f:.2f} | {f / e:.3f} | {${overhead[$w]}*1000:.0f} ms ({${overhead[$w]} * $SCENES / f * 100 / $w:.1f}% of worker time) | ${fetched[$w]} / ${scene_bytes[$w]} = {${fetched[$w]} / ${scene_bytes[$w]}:.4f} |')"
done
python3 -c "print(f'2 workers / 1 worker through the queue: {${wall[fleet1]} / ${wall[fleet2]}:.2f}x; encode: {${wall[encode1]} / ${wall[encode2]}:.2f}x')"
