#!/usr/bin/env bash
# Times Sabre and `abr-sim sabre` on the same runs, side by side, and checks they print the
# same metrics. Needs Sabre's src/sabre.py in SABRE_PY (see make-sabre-golden.sh).
#
#   SABRE_PY=/path/to/sabre.py abr/scripts/bench-vs-sabre.sh [TRACE_DIR] [MOVIE] [REPEAT]
#
# Defaults: the 40 Ghent 4G traces and bbb4k.json from /work/shared/abr, else the traces in
# abr/tests/data. Two figures per rule: in-process time per session (Python start-up
# excluded, abr-sim repeating each session REPEAT times) and one process per session for
# both (what a shell loop over traces pays).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
: "${SABRE_PY:?set SABRE_PY to the path of sabre.py}"
export SABRE_PY
shared=/work/shared/abr/sabre-mmsys18
if [[ -d $shared/4Glogs ]]; then
    default_dir=$shared/4Glogs
    default_movie=$shared/bbb4k.json
else
    default_dir=$here/tests/data/sabre-traces
    default_movie=$here/tests/data/bbb4k.json
fi
dir="${1:-$default_dir}"
movie="${2:-$default_movie}"
repeat="${3:-200}"
target="${CARGO_TARGET_DIR:-$here/../target}"
(cd "$here" && cargo build --release -q -p abr-sim)
bin="$target/release/abr-sim"
tmp="$(mktemp -d)"
n=$(ls "$dir"/*.json | wc -l)
echo "traces: $dir ($n), movie: $movie, python: $(python3 --version 2>&1), cpu: $(nproc) cores"
printf "| rule | Sabre us/session | abr-sim us/session | ratio | Sabre s (1 process/session) | abr-sim s (1 process/session) | ratio | outputs identical |\n|---|---:|---:|---:|---:|---:|---:|---|\n"
for rule in bola bolae throughput dynamic; do
    python3 "$here/scripts/time_sabre.py" "$dir" "$movie" 1 -- -a "$rule" > "$tmp/sabre.txt" 2> "$tmp/sabre.time"
    "$bin" sabre --network "$dir" --movie "$movie" --abr "$rule" --repeat "$repeat" --time > "$tmp/ours.txt" 2> "$tmp/ours.time"
    py_us=$(grep -o '[0-9.]* us/session' "$tmp/sabre.time" | cut -d' ' -f1)
    rs_us=$(grep -o '[0-9.]* us/session' "$tmp/ours.time" | cut -d' ' -f1)
    same=$(diff -q "$tmp/sabre.txt" "$tmp/ours.txt" >/dev/null && echo yes || echo "NO (see $tmp)")
    t0=$(date +%s.%N)
    for f in "$dir"/*.json; do python3 "$SABRE_PY" -n "$f" -m "$movie" -a "$rule" > /dev/null; done
    t1=$(date +%s.%N)
    for f in "$dir"/*.json; do "$bin" sabre --network "$f" --movie "$movie" --abr "$rule" > /dev/null; done
    t2=$(date +%s.%N)
    awk -v r="$rule" -v p="$py_us" -v s="$rs_us" -v a="$t0" -v b="$t1" -v c="$t2" -v same="$same" \
        'BEGIN { printf "| %s | %.0f | %.1f | %.0fx | %.2f | %.2f | %.0fx | %s |\n", r, p, s, p / s, b - a, c - b, (b - a) / (c - b), same }'
done
