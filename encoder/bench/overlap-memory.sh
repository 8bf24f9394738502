#!/usr/bin/env bash
# Scene detection overlapped with encoding, and memory against clip length.
#
#   encoder/bench/overlap-memory.sh [CLIP.mp4]     (default: ../shared/media/bikes.mp4, else
#                                                   the committed 320x136 excerpt)
#   SPEED=10 LOOPS=4 SE=/path/to/segment-encode encoder/bench/overlap-memory.sh
#
# 1. Overlap: `encode IN` (detects while encoding) against `scenes IN` then `encode --scenes`
#    (detection first), same clip, 2 workers, 1 tile (with automatic tiles, which scenes get
#    extra tiles depends on the order workers take them, and so the bytes would differ): wall
#    seconds of each, the detector's own wall time from --stats (scene_seconds), and whether
#    both ways give the same stream.
# 2. Memory: peak RSS (/usr/bin/time %M) of `encode` with 1 and 2 workers on the clip and on the
#    clip repeated LOOPS times (a longer clip, same scene lengths): memory should depend on the
#    workers, not on the clip length.
set -euo pipefail
cd "$(dirname "$0")/../.."

SPEED=${SPEED:-10}
LOOPS=${LOOPS:-4}
CLIP=${1:-../shared/media/bikes.mp4}
[ -f "$CLIP" ] || CLIP=encoder/tests/media/bikes-320x136.mp4
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
if [ -z "${SE:-}" ]; then
    cargo build --release -q -p segment-encode
    SE=$CARGO_TARGET_DIR/release/segment-encode
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ffmpeg -hide_banner -loglevel error -i "$CLIP" -pix_fmt yuv420p -strict -1 "$tmp/short.y4m"
# The long clip: the same frames LOOPS times (one header, the frames repeated).
header_len=$(head -1 "$tmp/short.y4m" | wc -c)
{
    head -1 "$tmp/short.y4m"
    for _ in $(seq "$LOOPS"); do tail -c +$((header_len + 1)) "$tmp/short.y4m"; done
} >"$tmp/long.y4m"
frames() { echo $((($(stat -c %s "$1") - header_len) / ($(stat -c %s "$tmp/short.y4m") - header_len) * short_frames)); }
short_frames=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$tmp/short.y4m")

echo "$(nproc) CPUs; load before: $(cut -d' ' -f1-3 /proc/loadavg); speed $SPEED; $(basename "$CLIP") $short_frames frames, long clip x$LOOPS"
echo

# Runs a command; prints wall seconds, CPU seconds and peak RSS in MiB.
timed() {
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/log"
    read -r wall user sys rss <"$tmp/time"
    printf "%s %.2f %.0f\n" "$wall" "$(echo "$user + $sys" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}

echo "| clip | how | scenes s | encode s | total wall s | detector wall s (overlapped) |"
echo "| --- | --- | --- | --- | --- | --- |"
for clip in short long; do
    in=$tmp/$clip.y4m
    read -r s_wall _ _ < <(timed "$SE" scenes "$in" -o "$tmp/scenes.json")
    read -r e_wall _ _ < <(timed "$SE" encode "$in" -o "$tmp/a.ivf" --scenes "$tmp/scenes.json" --speed "$SPEED" --workers 2 --tiles 1)
    printf "| %s (%s frames) | scenes, then encode --scenes | %s | %s | %.2f | - |\n" \
        "$clip" "$(frames "$in")" "$s_wall" "$e_wall" "$(echo "$s_wall + $e_wall" | bc -l)"
    read -r o_wall _ _ < <(timed "$SE" encode "$in" -o "$tmp/b.ivf" --speed "$SPEED" --workers 2 --tiles 1 --stats "$tmp/stats.json")
    detect=$(grep -o '"scene_seconds": [0-9.e-]*' "$tmp/stats.json" | cut -d' ' -f2)
    printf "| %s (%s frames) | encode (detects while encoding) | - | - | %s | %.3f |\n" \
        "$clip" "$(frames "$in")" "$o_wall" "$detect"
    cmp -s <(tail -c +33 "$tmp/a.ivf") <(tail -c +33 "$tmp/b.ivf") && same=yes || same=NO
    echo "|  | same stream both ways: $same |  |  |  |  |"
done
echo

echo "| clip | workers | wall s | CPU s | peak RSS MiB |"
echo "| --- | --- | --- | --- | --- |"
for clip in short long; do
    for workers in 1 2; do
        read -r wall cpu rss < <(timed "$SE" encode "$tmp/$clip.y4m" -o "$tmp/m.ivf" --speed "$SPEED" --workers "$workers" --tiles 1)
        echo "| $clip ($(frames "$tmp/$clip.y4m") frames, $(($(stat -c %s "$tmp/$clip.y4m") >> 20)) MiB) | $workers | $wall | $cpu | $rss |"
    done
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
