#!/usr/bin/env bash
# Encode benchmark: segment-encode (1 and 2 workers, and one rav1e context) against the rav1e
# 0.8.1 command line at the same speed preset and quantizer, in one run on the same machine.
#
#   encoder/bench/encode.sh [CLIP.mp4]      (default: ../shared/media/bikes.mp4, else the
#                                            committed 320x136 excerpt)
#   SPEED=6 Q=100 RUNS=1 encoder/bench/encode.sh
#
# Prints a Markdown table: wall seconds, CPU seconds (user + sys), fps, fps per CPU-second, and
# ratios against the rav1e CLI and against one worker. The rav1e CLI is a peer, not a
# dependency: it is installed into its own root (RAV1E_ROOT) when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

SPEED=${SPEED:-6}
Q=${Q:-100}
RUNS=${RUNS:-1}
RAV1E_ROOT=${RAV1E_ROOT:-$HOME/.cache/segment-encode-bench/rav1e-0.8.1}
CLIP=${1:-../shared/media/bikes.mp4}
[ -f "$CLIP" ] || CLIP=encoder/tests/media/bikes-320x136.mp4
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

RAV1E=${RAV1E:-$RAV1E_ROOT/bin/rav1e}
if [ ! -x "$RAV1E" ]; then
    echo "installing the rav1e 0.8.1 CLI into $RAV1E_ROOT" >&2
    cargo install rav1e --version 0.8.1 --locked --root "$RAV1E_ROOT" >&2
fi
cargo build --release -q -p segment-encode
SE=$CARGO_TARGET_DIR/release/segment-encode

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ffmpeg -hide_banner -loglevel error -i "$CLIP" -pix_fmt yuv420p -strict -1 "$tmp/in.y4m"
frames=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$tmp/in.y4m")
"$SE" scenes "$tmp/in.y4m" -o "$tmp/scenes.json" 2>"$tmp/scenes.log"
geometry=$(head -c 80 "$tmp/in.y4m" | head -1 | cut -d' ' -f2,3)

# Runs a command RUNS times; prints the best wall time and the CPU seconds of that run.
measure() {
    local best_wall="" best_cpu=""
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/log"
        read -r wall user sys <"$tmp/time"
        cpu=$(echo "$user + $sys" | bc -l)
        if [ -z "$best_wall" ] || (($(echo "$wall < $best_wall" | bc -l))); then
            best_wall=$wall best_cpu=$cpu
        fi
    done
    echo "$best_wall $best_cpu"
}

declare -A WALL CPU BYTES
run() {
    local name=$1 out=$2
    shift 2
    read -r WALL[$name] CPU[$name] < <(measure "$@")
    BYTES[$name]=$(stat -c %s "$out")
}

common=(--speed "$SPEED" --quantizer "$Q")
run cli1 "$tmp/cli1.ivf" "$RAV1E" "$tmp/in.y4m" -o "$tmp/cli1.ivf" "${common[@]}" --threads 1 --tiles 1 -y
run cli2 "$tmp/cli2.ivf" "$RAV1E" "$tmp/in.y4m" -o "$tmp/cli2.ivf" "${common[@]}" --threads 2 --tiles 2 -y
run single "$tmp/single.ivf" "$SE" encode "$tmp/in.y4m" -o "$tmp/single.ivf" "${common[@]}" --tiles 1 --single-pass --workers 1
run w1 "$tmp/w1.ivf" "$SE" encode "$tmp/in.y4m" -o "$tmp/w1.ivf" "${common[@]}" --tiles 1 --workers 1
run w2 "$tmp/w2.ivf" "$SE" encode "$tmp/in.y4m" -o "$tmp/w2.ivf" "${common[@]}" --tiles 1 --workers 2
run w2auto "$tmp/w2auto.ivf" "$SE" encode "$tmp/in.y4m" -o "$tmp/w2auto.ivf" "${common[@]}" --workers 2
run detect "$tmp/scenes2.json" "$SE" scenes "$tmp/in.y4m" -o "$tmp/scenes2.json"

identical=no
cmp -s "$tmp/w2.ivf" "$tmp/single.ivf" && identical=yes

fps() { echo "scale=1; $frames / $1" | bc -l; }
row() {
    local name=$1 label=$2
    local w=${WALL[$name]} c=${CPU[$name]}
    printf "| %s | %s | %s | %s | %s | %s | %.2fx | %.2fx |\n" "$label" "$w" "$c" "$(fps "$w")" \
        "$(fps "$c")" "${BYTES[$name]}" \
        "$(echo "${WALL[cli1]} / $w" | bc -l)" "$(echo "($frames / $c) / ($frames / ${CPU[cli1]})" | bc -l)"
}

echo "clip: $(basename "$CLIP") ($geometry, $frames frames), speed $SPEED, quantizer $Q, best of $RUNS;" \
    "$(nproc) CPUs, load before: $(cut -d' ' -f1-3 /proc/loadavg); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "scenes: $(grep -o 'cuts at .*' "$tmp/scenes.log"), $(grep -c '"index"' "$tmp/scenes.json") scenes"
echo
echo "| run | wall s | CPU s | fps | fps per CPU-s | bytes | speed vs CLI 1 thread | per-CPU-s vs CLI 1 thread |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
row cli1 "rav1e CLI, 1 thread, 1 tile"
row cli2 "rav1e CLI, 2 threads, 2 tiles"
row single "segment-encode --single-pass (one context, 1 tile)"
row w1 "segment-encode --workers 1 --tiles 1"
row w2 "segment-encode --workers 2 --tiles 1"
row w2auto "segment-encode --workers 2 (auto tiles)"
echo
echo "- scaling, 2 workers vs 1 (wall): $(echo "scale=2; ${WALL[w1]} / ${WALL[w2]}" | bc -l)x"
echo "- scene detection alone: ${WALL[detect]} s wall = $(echo "scale=1; 100 * ${WALL[detect]} / ${WALL[w2]}" | bc -l)% of the 2-worker encode"
echo "- 2-worker output byte-identical to the single pass: $identical"
