#!/usr/bin/env bash
# Scene detection: segment-encode's detector against the av-scenechange 0.25 command line (the
# rav1e detector as a crate), standard (-s 0, its default) and fast (-s 1) modes, on the same
# Y4M files in one run. ffmpeg's scene score (select='gt(scene,0.3)') is printed as a third
# opinion. av-scenechange is a peer, not a dependency: its CLI is installed into AVSC_ROOT.
#
#   encoder/bench/scenes-vs-avsc.sh                       bikes, the Big Buck Bunny excerpt,
#                                                         and both joined (synthetic)
#   RUNS=3 MEDIA=/work/shared/media encoder/bench/scenes-vs-avsc.sh
#   SE=/path/to/segment-encode encoder/bench/scenes-vs-avsc.sh   (a prebuilt binary)
#
# Per clip: the cuts each detector found (frame numbers that start a scene, frame 0 left out),
# agreement with av-scenechange standard (cuts within +-1 frame match), and the median over
# RUNS runs of wall seconds and CPU seconds (user + sys, all threads; /usr/bin/time), frames
# per wall second, and the speed relative to av-scenechange standard. No minimum scene length
# on either side: av-scenechange's default --min-scenecut is 0, ours is given
# --min-scene-len 1 (its smallest; `detected_cuts` ignores it anyway). A second line per clip
# repeats the cut lists with a minimum of 12 frames on both sides (our default).
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-3}
MEDIA=${MEDIA:-../shared/media}
[ -d "$MEDIA" ] || MEDIA=/work/shared/media
AVSC_ROOT=${AVSC_ROOT:-/work/target-bench/avsc}
AVSC_VERSION=${AVSC_VERSION:-0.25.0}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

AVSC=$AVSC_ROOT/bin/av-scenechange
if [ ! -x "$AVSC" ]; then
    # Default features: asm (nasm), binary (the CLI), threading. Y4M input needs no decoder
    # feature (ffmpeg/ffms2/vapoursynth are for other inputs).
    echo "installing the av-scenechange $AVSC_VERSION CLI into $AVSC_ROOT" >&2
    cargo install av-scenechange --version "$AVSC_VERSION" --locked --root "$AVSC_ROOT" >&2
fi
# a / b, or 0 when b rounds to 0 (a run faster than the timer's 10 ms resolution).
ratio() {
    if (($(echo "$2 <= 0" | bc -l))); then echo 0; else echo "$1 / $2" | bc -l; fi
}
if [ -z "${SE:-}" ]; then
    cargo build --release -q -p segment-encode
    SE=$CARGO_TARGET_DIR/release/segment-encode
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

decode() { ffmpeg -hide_banner -loglevel error -y "$@" -pix_fmt yuv420p -strict -1; }
decode -i "$MEDIA/bikes.mp4" "$tmp/bikes.y4m"
decode -i "$MEDIA/bigbuckbunny-excerpt.mp4" "$tmp/bbb.y4m"
# Synthetic: bikes (letterboxed to 1280x720) + bbb + bikes; the joins are cuts at 250 and 382.
decode -i "$MEDIA/bikes.mp4" -i "$MEDIA/bigbuckbunny-excerpt.mp4" -i "$MEDIA/bikes.mp4" \
    -filter_complex "[0:v]scale=1280:544,pad=1280:720:0:88,setsar=1[a];[1:v]setsar=1[b];\
[2:v]scale=1280:544,pad=1280:720:0:88,setsar=1[c];[a][b][c]concat=n=3:v=1:a=0[v]" \
    -map '[v]' "$tmp/joined.y4m"
declare -A JOINS=([joined]="250 382")

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# measure NAME CMD...: RUNS timed runs; stdout of the last run in $tmp/NAME.out; prints
# "median-wall median-cpu".
measure() {
    local name=$1
    shift
    : >"$tmp/$name.times"
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
        read -r wall user sys <"$tmp/time"
        printf "%s %.2f\n" "$wall" "$(echo "$user + $sys" | bc -l)" >>"$tmp/$name.times"
    done
    echo "$(cut -d' ' -f1 "$tmp/$name.times" | median) $(cut -d' ' -f2 "$tmp/$name.times" | median)"
}

# Cut lists as space-separated frame numbers, frame 0 left out.
avsc_cuts() { jq -r '.scene_changes | map(select(. > 0)) | map(tostring) | join(" ")' "$1"; }
se_cuts() { jq -r '.detected_cuts | map(tostring) | join(" ")' "$1"; }
se_starts() { jq -r '.scenes | map(.start) | map(select(. > 0)) | map(tostring) | join(" ")' "$1"; }
ffmpeg_cuts() {
    ffmpeg -hide_banner -i "$1" -vf "select='gt(scene,0.3)',showinfo" -f null - 2>&1 |
        sed -n 's/.*showinfo.* n: *[0-9]* pts: *\([0-9]*\) .*/\1/p' | tr '\n' ' ' | sed 's/ $//'
}

# agree A B: "n matched; only A: [..]; only B: [..]" with +-1 frame tolerance.
agree() {
    python3 - "$1" "$2" <<'EOF'
import sys
a = [int(x) for x in sys.argv[1].split()]
b = [int(x) for x in sys.argv[2].split()]
used, only_a = set(), []
for x in a:
    m = next((y for y in b if abs(x - y) <= 1 and y not in used), None)
    if m is None:
        only_a.append(x)
    else:
        used.add(m)
only_b = [y for y in b if y not in used]
print(f"{len(used)} matched; only this: {only_a or '-'}; only avsc std: {only_b or '-'}")
EOF
}

echo "$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load before: $(cut -d' ' -f1-3 /proc/loadavg);" \
    "median of $RUNS runs; $("$SE" --version 2>/dev/null || echo segment-encode), av-scenechange $AVSC_VERSION"
echo
echo "| clip | detector / mode | cuts | agreement with avsc standard (+-1 frame) | wall s | CPU s | frames/s (wall) | speed vs avsc standard (wall, CPU) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
notes=()
for clip in bikes bbb joined; do
    y4m=$tmp/$clip.y4m
    frames=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$y4m")
    geometry=$(head -c 80 "$y4m" | head -1 | cut -d' ' -f2,3 | tr -d WH | tr ' ' x)
    declare -A WALL=() CPU=() CUTS=()
    read -r "WALL[se]" "CPU[se]" < <(measure se "$SE" scenes "$y4m" --min-scene-len 1 --max-scene-len "$frames")
    CUTS[se]=$(se_cuts "$tmp/se.out")
    read -r "WALL[std]" "CPU[std]" < <(measure std "$AVSC" -s 0 "$y4m")
    CUTS[std]=$(avsc_cuts "$tmp/std.out")
    read -r "WALL[fast]" "CPU[fast]" < <(measure fast "$AVSC" -s 1 "$y4m")
    CUTS[fast]=$(avsc_cuts "$tmp/fast.out")
    for d in se std fast; do
        case $d in
        se) label="segment-encode (8x8 luma thumbnails)" ;;
        std) label="av-scenechange -s 0 (standard, default)" ;;
        fast) label="av-scenechange -s 1 (fast)" ;;
        esac
        printf "| %s | %s | %s | %s | %s | %s | %.0f | %.2fx, %.2fx |\n" \
            "$clip ($geometry, $frames fr)" "$label" "[${CUTS[$d]// /, }]" "$(agree "${CUTS[$d]}" "${CUTS[std]}")" \
            "${WALL[$d]}" "${CPU[$d]}" "$(ratio "$frames" "${WALL[$d]}")" \
            "$(ratio "${WALL[std]}" "${WALL[$d]}")" "$(ratio "${CPU[std]}" "${CPU[$d]}")"
    done
    # Cut lists only (not timed): ffmpeg's scene score, and a 12-frame minimum on both sides.
    "$SE" scenes "$y4m" --min-scene-len 12 --max-scene-len "$frames" >"$tmp/se12.json" 2>/dev/null
    "$AVSC" -s 0 --min-scenecut 12 "$y4m" >"$tmp/std12.json"
    "$AVSC" -s 1 --min-scenecut 12 "$y4m" >"$tmp/fast12.json"
    note="- $clip: ffmpeg scene>0.3: [$(ffmpeg_cuts "$y4m" | sed 's/ /, /g')]"
    note+="; minimum 12 frames: segment-encode scene starts [$(se_starts "$tmp/se12.json" | sed 's/ /, /g')],"
    note+=" avsc standard [$(avsc_cuts "$tmp/std12.json" | sed 's/ /, /g')], fast [$(avsc_cuts "$tmp/fast12.json" | sed 's/ /, /g')]"
    if [ -n "${JOINS[$clip]:-}" ]; then
        found=()
        for d in se std fast; do
            n=0
            for j in ${JOINS[$clip]}; do
                for c in ${CUTS[$d]}; do
                    if [ $((c - j)) -ge -1 ] && [ $((c - j)) -le 1 ]; then n=$((n + 1)); break; fi
                done
            done
            found+=("$d $n/$(wc -w <<<"${JOINS[$clip]}")")
        done
        note+="; joins at [${JOINS[$clip]// /, }] found: ${found[*]}"
    fi
    notes+=("$note")
done
echo
printf '%s\n' "${notes[@]}"
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
