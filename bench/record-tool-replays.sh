#!/usr/bin/env bash
# Records real tools reading through a mezzfs mount and adds the replays to replays/corpus/
# (the `mezzfs replay batch` gate reruns every replay there):
#
#   tool-scenes       segment-encode scenes over a 720p Y4M (reads each frame's luma, skips chroma)
#   tool-encode       segment-encode encode of the same Y4M (rav1e speed 10)
#   ffmpeg-decode     ffmpeg decoding an H.264 MP4 to null
#   ffmpeg-thumbs-y4m ffmpeg -ss: 7 thumbnails from the Y4M
#   ffmpeg-thumbs-mp4 ffmpeg -ss: 7 thumbnails from the MP4 (index at the end, then seeks)
#   ffprobe-mp4       ffprobe of the MP4 (moov at the end: reads the end, then the start)
#   ffprobe-mkv       ffprobe of the same stream in Matroska (cues at the end)
#   ffmpeg-seek-mkv   ffmpeg -ss: one frame from the middle of the MKV
#
# The media are made here with ffmpeg from ../shared/media/bigbuckbunny-excerpt.mp4 (or
# MEDIA=path to a clip) and are not committed: only the replays are. Each replay is then moved
# onto the corpus's deterministic objects (mezz-replay-retarget: same sizes, digests of
# random_bytes(size, seed)), and the objects' names, sizes and seeds go into
# replays/corpus/objects.txt, so the gate reruns and checks every read without the media.
#
# Needs root and FUSE, ffmpeg with libx264. Replays record the fixed-8MiB strategy's mount;
# reruns choose their own strategy. Run from anywhere: bash bench/record-tool-replays.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
media_src=${MEDIA:-$root/../shared/media/bigbuckbunny-excerpt.mp4}
[ -f "$media_src" ] || media_src=/work/shared/media/bigbuckbunny-excerpt.mp4
[ -f "$media_src" ] || { echo "no source clip: set MEDIA=path/to/clip.mp4" >&2; exit 1; }
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    cargo build --release --quiet -p mezzfs -p mezz-testkit -p segment-encode
fi
bin=${BIN_DIR:-$root/target/release}
out=$root/replays/corpus
work=$(mktemp -d)
trap 'mountpoint -q "$work/mnt" && fusermount3 -u -z "$work/mnt"; rm -rf "$work"' EXIT
export MEZZFS_STORE=$work/store MEZZFS_KEY_FILE=$work/key
"$bin/mezzfs" key generate "$MEZZFS_KEY_FILE" >/dev/null
mkdir -p "$out" "$work/mnt" "$work/media" "$work/raw"

echo "making media from $media_src"
m=$work/media
ffmpeg -v error -y -i "$media_src" -frames:v 96 -vf scale=1280:720 -pix_fmt yuv420p \
    -strict -1 "$m/clip.y4m"
# ~20 MB of H.264 at 8 Mbit/s; the mp4 muxer writes the moov after the mdat.
ffmpeg -v error -y -stream_loop 3 -i "$media_src" -an -c:v libx264 -preset veryfast \
    -b:v 8M -maxrate 8M -bufsize 8M -g 50 "$m/clip.mp4"
ffmpeg -v error -y -i "$m/clip.mp4" -c copy "$m/clip.mkv"

# name seed file: the corpus objects these recordings are moved onto.
tool_objects="corpus/tool-y4m 11 clip.y4m
corpus/tool-mp4 12 clip.mp4
corpus/tool-mkv 13 clip.mkv"
mount_args=()
{
    grep -v '^corpus/tool-' "$out/objects.txt" 2>/dev/null || true
    while read -r name seed file; do
        echo "$name $(stat -c %s "$m/$file") $seed"
        "$bin/mezzfs" -q put "$m/$file" "$name" --part-size 8MiB
        mount_args+=(--object "$file=$name")
    done <<<"$tool_objects"
} >"$work/objects.txt"
mv "$work/objects.txt" "$out/objects.txt"

record() { # NAME COMMAND...: runs COMMAND (with $MNT set) on a fresh mount of the media
    local name=$1
    shift
    "$bin/mezzfs" mount "$work/mnt" "${mount_args[@]}" --readahead fixed \
        --replay "$work/raw/$name.mezzreplay" --log-file "$work/log"
    echo 3 >/proc/sys/vm/drop_caches
    (cd "$work" && MNT=$work/mnt bash -c "$*") >"$work/tool.log" 2>&1 || {
        cat "$work/tool.log" >&2
        echo "$name: the tool failed" >&2
        exit 1
    }
    "$bin/mezzfs" unmount "$work/mnt"
    "$bin/mezz-replay-retarget" "$work/raw/$name.mezzreplay" "$out/$name.mezzreplay" \
        "$out/objects.txt"
    echo "recorded $name: $(stat -c %s "$out/$name.mezzreplay") bytes"
}

thumbs() { # FILE TIMES...
    local file=$1 i=0
    shift
    for t in "$@"; do
        echo "ffmpeg -v error -y -ss $t -i \$MNT/$file -frames:v 1 -vf scale=320:-2 thumb-$i.png"
        i=$((i + 1))
    done | paste -sd ';'
}

record tool-scenes "$bin/segment-encode scenes \$MNT/clip.y4m -o scenes.json -q"
record tool-encode "$bin/segment-encode encode \$MNT/clip.y4m -o out.ivf --speed 10 \
    --quantizer 200 --workers 2 -q"
record ffmpeg-decode 'ffmpeg -v error -i $MNT/clip.mp4 -f null -'
record ffmpeg-thumbs-y4m "$(thumbs clip.y4m 0.2 0.7 1.2 1.7 2.2 2.7 3.6)"
record ffmpeg-thumbs-mp4 "$(thumbs clip.mp4 1 4 7 10 13 16 19)"
record ffprobe-mp4 'ffprobe -v error -show_format -show_streams $MNT/clip.mp4'
record ffprobe-mkv 'ffprobe -v error -show_format -show_streams $MNT/clip.mkv'
record ffmpeg-seek-mkv 'ffmpeg -v error -y -ss 12 -i $MNT/clip.mkv -frames:v 1 seek.png'
