#!/usr/bin/env bash
# The loop closed (issue 19, item 7): a segmented ladder of the committed bikes excerpt
# (320x136, 10 s), abr-sim manifests of its hull and fixed ladders with the real per-segment
# sizes and PSNR-Y, and abr-sim compare on the shipped trace sets, hull against fixed, scored
# on the played segments' own quality (video_score, video_score_p10) with bootstrap CIs.
#
#   encoder/bench/ladder-abr.sh            (SCALE=10 REPEAT=12 SPEED=10 by default)
#
# SCALE multiplies the video's sizes and bitrates (the 320x136 ladder tops out near 270
# kbit/s, under every trace; x10 makes it span 0.15-2.7 Mbit/s, where the traces choose).
# REPEAT plays the 10 s title that many times in a row. SE / AS: binaries to use.
set -euo pipefail
cd "$(dirname "$0")/../.."
SCALE=${SCALE:-10}
REPEAT=${REPEAT:-12}
SPEED=${SPEED:-10}
SHARED=${SHARED:-../shared/abr}
[ -d "$SHARED/pensieve-format" ] || SHARED=/work/shared/abr
if [ -z "${SE:-}" ] || [ -z "${AS:-}" ]; then
    cargo build -q -p segment-encode -p abr-sim
    SE=${SE:-target/debug/segment-encode} AS=${AS:-target/debug/abr-sim}
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ffmpeg -hide_banner -loglevel error -i encoder/tests/media/bikes-320x136.mp4 -pix_fmt yuv420p \
    -strict -1 "$tmp/bikes.y4m"
"$SE" ladder "$tmp/bikes.y4m" -o "$tmp/ladder" --auto-rungs 5 --speed "$SPEED" \
    --quantizers 50,80,110,140,170,200 --heights 136,102,68 --segment-seconds 2 -q
"$SE" bdrate "$tmp/ladder/fixed.csv" "$tmp/ladder/hull.csv"
for r in hull fixed; do
    "$SE" abr-manifest "$tmp/ladder" --rungs $r -o "$tmp/$r.json" --repeat "$REPEAT" \
        --video-bits-scale "$SCALE"
done
"$AS" compare -t "$SHARED/pensieve-format/val_FCC" -t "$SHARED/pensieve-format/val_Norway" \
    -t "$SHARED/sabre-mmsys18/3Glogs" -t "$SHARED/sabre-mmsys18/4Glogs" \
    --ladder fixed="$tmp/fixed.json" --ladder hull="$tmp/hull.json" --algos bola,joint \
    --baseline bola@fixed --candidate bola@hull -q
