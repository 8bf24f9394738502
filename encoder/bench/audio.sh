#!/usr/bin/env bash
# Audio benchmark: `segment-encode audio` (decode + cut at the scenes + loudness/peak + WAV
# segments) against ffmpeg decoding the same audio to nothing (`ffmpeg -i IN -vn -f null -`),
# in one run on the same machine.
#
#   encoder/bench/audio.sh [CLIP.mp4]      (default: ../shared/media/bigbuckbunny-excerpt.mp4)
#   LOOPS=20 RUNS=3 encoder/bench/audio.sh
#
# The clip's scene list comes from its video (`segment-encode scenes`). Its audio is tried as
# it is, then in the forms symphonia decodes: stereo AAC in MP4 (video copied along), and the
# original channel count as 24-bit FLAC and WAV (ffmpeg's decode of the original). Each input is
# also made LOOPS times longer (-stream_loop) so that speeds are not start-up times; the long
# versions are cut every 4 s. Prints Markdown: the table of speeds, then the per-segment table
# of the stereo AAC run.
set -euo pipefail
cd "$(dirname "$0")/../.."

CLIP=${1:-../shared/media/bigbuckbunny-excerpt.mp4}
LOOPS=${LOOPS:-20}
RUNS=${RUNS:-3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
if [ -z "${SE:-}" ]; then
    cargo build --release -q -p segment-encode
    SE=$CARGO_TARGET_DIR/release/segment-encode
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
q() { ffmpeg -hide_banner -loglevel error -y "$@"; }
q -i "$CLIP" -pix_fmt yuv420p -strict -1 "$tmp/in.y4m"
# The excerpt has no cut its detector takes; scenes of at most 30 frames (1.2 s) give several
# segments, of unequal lengths (132 frames split evenly: 26 or 27 frames).
"$SE" scenes "$tmp/in.y4m" -o "$tmp/scenes.json" ${SCENE_ARGS:---max-scene-len 30} 2>"$tmp/scenes.log"

q -i "$CLIP" -map 0:v -map 0:a -c:v copy -ac 2 -c:a aac -b:a 192k "$tmp/stereo-aac.mp4"
q -i "$CLIP" -vn -c:a flac -sample_fmt s32 -bits_per_raw_sample 24 "$tmp/orig-flac.flac"
q -i "$CLIP" -vn -c:a pcm_s24le "$tmp/orig-wav.wav"
q -stream_loop $((LOOPS - 1)) -i "$tmp/stereo-aac.mp4" -map 0:a -c copy "$tmp/long-stereo-aac.mp4"
q -stream_loop $((LOOPS - 1)) -i "$tmp/orig-wav.wav" -c copy "$tmp/long-orig-wav.wav"
q -i "$tmp/long-orig-wav.wav" -c:a flac -sample_fmt s32 -bits_per_raw_sample 24 "$tmp/long-orig-flac.flac"

# Best wall time of RUNS runs of a command, and its CPU seconds (user + sys).
measure() {
    local best="" cpu=""
    for _ in $(seq "$RUNS"); do
        if ! /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err"; then
            echo "failed"
            return
        fi
        read -r wall user sys <"$tmp/time"
        if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN{exit !(a<b)}'; then
            best=$wall
            cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')
        fi
    done
    echo "$best $cpu"
}

seconds() { ffprobe -v error -select_streams a:0 -show_entries format=duration -of csv=p=0 "$1"; }

echo "| input | audio s | segment-encode audio: wall s | CPU s | x realtime | with -o (WAV written): wall s | x realtime | ffmpeg -vn -f null: wall s | CPU s | x realtime |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
row() {
    local name=$1 file=$2
    shift 2
    local secs se sew ff
    secs=$(seconds "$file")
    se=$(measure "$SE" audio "$file" "$@")
    cp "$tmp/err" "$tmp/se-err"
    sew=$(measure "$SE" audio "$file" "$@" -o "$tmp/out")
    ff=$(measure ffmpeg -hide_banner -nostats -i "$file" -vn -f null -)
    if [ "$se" = failed ]; then
        printf '| %s | %.2f | refused: %s | | | | | %s | %s | |\n' "$name" "$secs" \
            "$(tail -1 "$tmp/se-err" | sed 's/.*error: [^:]*: //')" $ff
        return
    fi
    awk -v n="$name" -v s="$secs" -v se="$se" -v sew="$sew" -v ff="$ff" 'BEGIN{
        split(se, a, " "); split(sew, w, " "); split(ff, b, " ");
        printf "| %s | %.2f | %.3f | %s | %.0fx | %.3f | %.0fx | %.3f | %s | %.0fx |\n",
            n, s, a[1], a[2], s / a[1], w[1], s / w[1], b[1], b[2], s / b[1] }'
}
row "original (6-ch AAC)" "$CLIP" --scenes "$tmp/scenes.json"
row "stereo AAC + video, MP4" "$tmp/stereo-aac.mp4" --scenes "$tmp/scenes.json"
row "6-ch FLAC 24-bit" "$tmp/orig-flac.flac" --scenes "$tmp/scenes.json"
row "6-ch WAV 24-bit" "$tmp/orig-wav.wav" --scenes "$tmp/scenes.json"
for f in stereo-aac.mp4 orig-flac.flac orig-wav.wav; do
    row "${LOOPS}x looped $f, every 4 s" "$tmp/long-$f" --segment-seconds 4
done

echo
echo "original clip: $("$SE" audio "$CLIP" 2>&1 | tail -1)"
echo
echo "scenes: $(tail -1 "$tmp/scenes.log")"
for f in stereo-aac.mp4 orig-flac.flac; do
    echo
    echo "per segment, $f:"
    echo
    echo '```'
    "$SE" audio "$tmp/$f" --scenes "$tmp/scenes.json" 2>&1
    echo '```'
done
