#!/usr/bin/env bash
# Ladder benchmark: BD-rate of the per-scene convex-hull ladder against the fixed ladder (the
# same rungs with one resolution and quantizer for the whole title, the best such choice within
# each rung's target, taken from the same grid encodes), on bikes, the Big Buck Bunny excerpt,
# and their concatenation (bbb cropped to bikes' shape), with the per-scene choices.
#
#   encoder/bench/ladder.sh                 (clips from ../shared/media or /work/shared/media)
#   SPEED=8 RUNGS=5 QUANTIZERS=50,80,110,140,170,200 CLIPS="bikes concat" encoder/bench/ladder.sh
#
# Prints Markdown: per clip the rungs (target, hull kbps and PSNR-Y, fixed kbps, PSNR-Y and
# configuration, the hull's per-scene choices) and the BD-rate of hull against fixed, PSNR-Y
# and SSIM-Y, piecewise cubic and cubic. PROFILE=release builds the release profile (the dev
# profile of this workspace already builds segment-encode and every dependency at opt-level 3);
# SE=path/to/segment-encode skips the build.
set -euo pipefail
cd "$(dirname "$0")/../.."

SPEED=${SPEED:-8}
RUNGS=${RUNGS:-5}
QUANTIZERS=${QUANTIZERS:-50,80,110,140,170,200}
PROFILE=${PROFILE:-dev}
MEDIA=${MEDIA:-../shared/media}
[ -f "$MEDIA/bikes.mp4" ] || MEDIA=/work/shared/media
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
if [ -n "${SE:-}" ]; then
    : # a given binary
elif [ "$PROFILE" = release ]; then
    cargo build --release -q -p segment-encode
    SE=$CARGO_TARGET_DIR/release/segment-encode
else
    cargo build -q -p segment-encode
    SE=$CARGO_TARGET_DIR/debug/segment-encode
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
y4m() { ffmpeg -hide_banner -loglevel error -i "$1" "${@:3}" -pix_fmt yuv420p -strict -1 "$2"; }
y4m "$MEDIA/bikes.mp4" "$tmp/bikes.y4m"
y4m "$MEDIA/bigbuckbunny-excerpt.mp4" "$tmp/bbb.y4m"
# The concatenation needs one geometry: bbb cropped to 2.35:1 and scaled to 640x272.
y4m "$MEDIA/bigbuckbunny-excerpt.mp4" "$tmp/bbb-640.y4m" -vf "crop=1280:544,scale=640:272:flags=lanczos"
{ cat "$tmp/bikes.y4m"; tail -c +"$(($(head -1 "$tmp/bbb-640.y4m" | wc -c) + 1))" "$tmp/bbb-640.y4m"; } > "$tmp/concat.y4m"

echo "segment-encode ladder, speed $SPEED, quantizers $QUANTIZERS, $RUNGS rungs (--auto-rungs),"
echo "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) at the start, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
for clip in ${CLIPS:-bikes bbb concat}; do
    case $clip in
        bbb) heights=720,540,360 ;;
        *) heights=272,204,136 ;;
    esac
    start=$(date +%s.%N)
    "$SE" ladder "$tmp/$clip.y4m" -o "$tmp/ladder-$clip" --auto-rungs "$RUNGS" --speed "$SPEED" \
        --quantizers "$QUANTIZERS" --heights "$heights" 2> "$tmp/$clip.log"
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    scenes=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(len(d['scenes']), d['frames'], [s['start'] for s in d['scenes']])" "$tmp/ladder-$clip/ladder.json")
    echo "### $clip ($(head -1 "$tmp/$clip.y4m" | cut -d' ' -f2,3); scenes, frames, scene starts: $scenes; ${wall%.*} s)"
    echo
    echo '```'
    grep -E '^ *(rung|[0-9]+ )' "$tmp/$clip.log" || true
    echo '```'
    echo
    for metric in psnr_y ssim_y; do
        "$SE" bdrate "$tmp/ladder-$clip/fixed.csv" "$tmp/ladder-$clip/hull.csv" --metric "$metric" \
            2>&1 | sed "s|$tmp/ladder-$clip/||g; s/^/    /"
    done
    echo
done
